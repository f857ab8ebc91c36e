"""Domain events the gateway acts on (queue `gateway.session-events`): a deleted session's API keys
stop working. The orchestrator owns sessions, the gateway owns keys; `session.deleted` joins the two.
The DELETE route revokes them at once as well; this catches every other way a session is deleted,
and a gateway that died between the two."""

from __future__ import annotations

from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

from .deps import Deps

log = get_logger(__name__)


async def when_session_deleted_revoke_its_keys(envelope: Envelope, deps: Deps) -> None:
    data = envelope.data
    revoked = await deps.api_keys.revoke_for_session(data["tenant_id"], data["session_id"])  # idempotent
    log.info("session.keys_revoked", session_id=data["session_id"], revoked=revoked)
