"""Domain events the gateway acts on (queue `gateway.session-events`): a deleted session's API keys
stop working. The orchestrator owns sessions, the gateway owns keys; `session.deleted` joins the two.
The DELETE route revokes them at once as well; this catches every other way a session is deleted,
and a gateway that died between the two."""

from __future__ import annotations

from functools import partial

from wagw_common import topology
from wagw_common.consumer import Subscription
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

from .api_keys import ApiKeyStore

log = get_logger(__name__)


async def when_session_deleted_revoke_its_keys(envelope: Envelope, *, api_keys: ApiKeyStore) -> None:
    data = envelope.data
    revoked = await api_keys.revoke_for_session(data["tenant_id"], data["session_id"])  # idempotent
    log.info("session.keys_revoked", session_id=data["session_id"], revoked=revoked)


def session_events_subscription(api_keys: ApiKeyStore) -> Subscription:
    # Revoking is idempotent by itself: no inbox needed.
    return Subscription(topology.GATEWAY_SESSION_EVENTS,
                        {"session.deleted": partial(when_session_deleted_revoke_its_keys, api_keys=api_keys)},
                        use_inbox=False)
