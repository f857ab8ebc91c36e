"""Every message the gateway consumes: its queue, its handler, and how it is consumed."""

from __future__ import annotations

from wagw_common import topology
from wagw_common.router import Router

from . import identity_queries, session_events
from .deps import Deps
from .settings import SERVICE

router: Router[Deps] = Router(SERVICE)

# Whom an API key speaks for, and an account's standing: asked by realtime at each connect.
queries = router.queue(topology.GATEWAY_QUERIES)
queries.on("apikey.resolve", identity_queries.when_api_key_resolve_requested_answer_its_owner)
queries.on("account.standing", identity_queries.when_account_standing_requested_answer_it)

# Revoking a session's keys is idempotent by itself, so no inbox write per message.
sessions = router.queue(topology.GATEWAY_SESSION_EVENTS, inbox=False)
sessions.on("session.deleted", session_events.when_session_deleted_revoke_its_keys)
