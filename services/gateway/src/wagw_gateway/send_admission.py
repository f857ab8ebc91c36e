"""A send through a key bound to one session, admitted in one Redis round trip.

What `POST /send` must know before it publishes is all in Redis: the key's grant (`api_keys.py`'s
cache), its account's state (`account_state.py`'s), the session's status (the orchestrator's
`session-status:<id>`) and the rate-limit windows. One Lua script, loaded once and then called by
EVALSHA, reads them, takes the decisions of the path of separate reads (`auth.py`, `send_refusals.py`)
in the same order, and, when every one passes, counts the send in the key's and the tier's windows
and in today's usage. Nothing is kept in the process: a revoked key (its tombstone), a deactivated
account or a session that stopped is seen by the very next send, as with separate reads.

The script decides nothing when a cache has no entry (`miss`: the path of separate reads then fills it
from MongoDB) or when Redis does not answer (that path lets sends through unlimited, as it always did).
It names the keys it reads from the grant it found, so it needs one Redis, not a cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from wagw_common import session_status
from wagw_common.contracts.identity import ALL_SCOPES
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.fast_runtime import dumps_text
from wagw_common.logging import get_logger

from .account_state import GONE, AccountState, AccountStates, cached_state
from .api_keys import TOMBSTONE, ApiKey, cache_key, cached_grant, hash_key
from .ratelimit import COUNT_IN_WINDOWS, COUNTER_TTL_SECONDS, Limit, api_key_limit, send_limit
from .settings import Settings
from .usage import counter_key

log = get_logger(__name__)

MISS, REVOKED, INACTIVE, SCOPE, UNBOUND, BODY, STATUS, COUNTED = (
    "miss", "revoked", "inactive", "scope", "unbound", "body", "status", "counted")
# Refused even with `"queue": true`: such a session will never send again.
NEVER_SENDS = (SessionStatus.DELETED,)

# KEYS[1]: the key's cache entry. ARGV: the fixed part (`_fixed_args`), then the scope the route
# needs, whether the body was valid, whether it asks to be queued, and today's usage counter around
# its account id.
_SCRIPT = COUNT_IN_WINDOWS + """
local tombstone, gone, account_prefix, status_prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local all_scopes, accepting, never_sending, tier_rates = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local key_window, send_window, key_limit, window_ms, send_rate_floor, counter_ttl =
  ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14]
local scope, body_valid, queued, sent_prefix, sent_suffix = ARGV[15], ARGV[16], ARGV[17], ARGV[18], ARGV[19]

local grant_raw = redis.call('GET', KEYS[1])
if not grant_raw then return {'miss'} end
if grant_raw == tombstone then return {'revoked'} end
local grant = cjson.decode(grant_raw)
local account_raw = redis.call('GET', account_prefix .. grant.tenant_id)
if not account_raw then return {'miss'} end
if account_raw == gone then return {'inactive'} end
local account = cjson.decode(account_raw)
if not account.active then return {'inactive'} end
local allowed = false
for _, held in ipairs(grant.scopes) do
  if held == all_scopes or held == scope then allowed = true end
end
if not allowed then return {'scope', grant_raw} end
if grant.session_id == cjson.null then return {'unbound', grant_raw} end
if body_valid ~= '1' then return {'body', grant_raw} end
local status = redis.call('HGET', status_prefix .. grant.session_id, 'status')
local function listed(list) return string.find(list, ',' .. status .. ',', 1, true) ~= nil end
if status and not listed(accepting) and (queued ~= '1' or listed(never_sending)) then
  return {'status', grant_raw, account_raw, status}
end
local send_rate = cjson.decode(tier_rates)[account.tier] or send_rate_floor
local counted = count_in_windows({key_window .. grant.key_id, send_window .. grant.tenant_id},
  {key_limit, send_rate}, {window_ms, window_ms}, {sent_prefix .. grant.tenant_id .. sent_suffix}, counter_ttl)
return {'counted', grant_raw, account_raw, status, unpack(counted)}
"""


@dataclass(frozen=True)
class Admission:
    """What the script decided, with what it read to decide it (None where it stopped before)."""

    verdict: str
    key: ApiKey | None = None
    account: AccountState | None = None
    status: str | None = None
    counted: list[Any] | None = None  # count_in_windows' answer, for `ratelimit.decision_of`


def send_limits(key: ApiKey, account: AccountState, settings: Settings) -> list[Limit]:
    """The windows a send through an API key counts in, as `auth.admit_send` names them (the script
    names the same from their prefixes)."""
    return [api_key_limit(key.key_id, settings), send_limit(key.tenant_id, account.tier, settings)]


def _fixed_args(settings: Settings) -> list[Any]:
    key_window, send_window = api_key_limit("", settings), send_limit("", "", settings)
    return [TOMBSTONE, GONE, AccountStates.cache_key(""), session_status.status_key(""), ALL_SCOPES,
            _listed(session_status.ACCEPTS_SENDS), _listed(NEVER_SENDS), dumps_text(settings.tier_send_rates),
            key_window.redis_key, send_window.redis_key, key_window.limit, key_window.window * 1000,
            send_window.limit, COUNTER_TTL_SECONDS]


_ACCOUNT = "\x00"  # stands for the account id in a key name the script completes


def _listed(statuses) -> str:
    return "," + ",".join(sorted(str(s) for s in statuses)) + ","


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class SendAdmission:
    def __init__(self, redis, settings: Settings):
        self._script = redis.register_script(_SCRIPT)
        self._fixed = _fixed_args(settings)

    async def admit(self, key: str, *, scope: str, body_valid: bool, queued: bool, day: str) -> Admission | None:
        """None when Redis cannot answer."""
        sent_prefix, _, sent_suffix = counter_key(_ACCOUNT, day).partition(_ACCOUNT)
        args = [*self._fixed, scope, int(body_valid), int(queued), sent_prefix, sent_suffix]
        try:
            out = await self._script(keys=[cache_key(hash_key(key))], args=args)
        except (RedisError, OSError) as exc:
            log.warning("send_admission.unavailable", error=repr(exc))
            return None
        verdict = _text(out[0])
        if verdict is None:  # the script answers every call with a verdict first
            raise RuntimeError("the send admission script answered without a verdict")
        return Admission(
            verdict=verdict,
            key=cached_grant(out[1]) if len(out) > 1 else None,
            account=cached_state(out[2]) if len(out) > 2 else None,
            status=_text(out[3]) if len(out) > 3 else None,
            counted=out[4:] if verdict == COUNTED else None)
