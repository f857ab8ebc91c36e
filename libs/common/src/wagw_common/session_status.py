"""Each session's current status, cached in Redis for whoever must decide without asking.

The session orchestrator (the owner) records every change with the session's `sequence`, and a
lower sequence never overwrites a higher one, so changes written out of order settle on the newest.
The gateway reads it to refuse, without a request/reply round trip, a send to a session that
cannot take one. It is a cache: MongoDB stays the truth, and a missing entry means "unknown" (the
send is accepted and the orchestrator decides, and records the status it found)."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .contracts.session_statuses import ACCEPTS_SENDS as ACCEPTS_SENDS  # re-exported: the gateway's check
from .contracts.session_statuses import SessionStatus
from .logging import get_logger

log = get_logger(__name__)

# A deleted session's entry outlives it a day (to answer stragglers), then goes.
DELETED_KEPT_SECONDS = 86_400

_RECORD = """
local seen = redis.call('HGET', KEYS[1], 'sequence')
if seen and tonumber(seen) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'sequence', ARGV[2])
if ARGV[3] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[3]) else redis.call('PERSIST', KEYS[1]) end
return 1
"""


def status_key(session_id: str) -> str:
    return f"session-status:{session_id}"


async def record(redis: aioredis.Redis, session_id: str, status: str, sequence: int) -> None:
    """Best effort: a failed write leaves the entry stale, so it is dropped (unknown beats wrong)."""
    keep = DELETED_KEPT_SECONDS if status == SessionStatus.DELETED else 0
    try:
        await redis.eval(_RECORD, 1, status_key(session_id), status, str(sequence), str(keep))
    except (RedisError, OSError) as exc:
        log.warning("session_status.record_failed", session_id=session_id, error=repr(exc))
        try:
            await redis.delete(status_key(session_id))
        except (RedisError, OSError):
            pass


async def read(redis: aioredis.Redis, session_id: str) -> str | None:
    """The cached status, or None when unknown (never cached, or Redis unreachable)."""
    try:
        status = await redis.hget(status_key(session_id), "status")
        return status.decode() if isinstance(status, bytes) else status
    except (RedisError, OSError) as exc:
        log.warning("session_status.read_failed", session_id=session_id, error=repr(exc))
        return None
