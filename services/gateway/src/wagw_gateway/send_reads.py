"""The two cached reads a send makes once its API key is known, in one Redis round trip.

A send through a key bound to one session needs the key's account state (active? which tier?) and the
session's cached status (can it take a send?). Both are plain reads of Redis keys that do not depend on
each other, so they go in one pipeline instead of two round trips; each keeps its own meaning: an
account state missing from the cache is read from MongoDB, an unknown status lets the send through
(the orchestrator decides). The status is kept on the request for the send's own check."""

from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError
from wagw_common import session_status
from wagw_common.logging import get_logger

from .account_state import AccountState, AccountStates

log = get_logger(__name__)
# (session id, its cached status or None) read with the account state, for the send's own check.
SESSION_STATUS = web.RequestKey("session_status", tuple)


async def account_and_session_status(request: web.Request, accounts: AccountStates, redis, tenant_id: str,
                                     session_id: str) -> AccountState | None:
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.get(AccountStates.cache_key(tenant_id))
        pipe.hget(session_status.status_key(session_id), "status")
        raw, status = await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("send_reads.cache_unavailable", error=repr(exc))
        return await accounts.get(tenant_id)  # the send's check reads the status again (unknown if away)
    request[SESSION_STATUS] = (session_id, status)
    return await accounts.from_cached(tenant_id, raw)


def session_status_read(request: web.Request, session_id: str) -> tuple[bool, str | None]:
    """(True, status) when this request already read the session's status with its account state."""
    read = request.get(SESSION_STATUS)
    if read is not None and read[0] == session_id:
        return True, read[1]
    return False, None
