"""Rate limits in Redis: fixed windows, checked and counted in one atomic Lua script.

A request names every limit it falls under (its API key, its user, its tier's send rate, the client
address on /auth routes). The script refuses it if any window is full, and otherwise counts it in
all of them (plus any plain counters, such as the messages sent today), so a refused request costs
nothing against the others. Each window starts at its first request and lasts `window` seconds.

Redis down: requests are let through (and a warning logged) rather than refused; availability of
the API outweighs exact limits for the minutes Redis is away."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from aiohttp import web
from redis.exceptions import RedisError
from wagw_common.logging import get_logger

from .settings import Settings

log = get_logger(__name__)

# Checks, then counts, fixed windows: `keys` are the windows' keys, `limits[i]` and `windows_ms[i]`
# their size and length; `counters` are bumped (kept `counter_ttl` seconds) only if every window has
# room. Returns {index of the first full window or 0, used/pttl per window}. Shared by the scripts
# that count a request (this module's, and the send's admission in send_admission.py).
COUNT_IN_WINDOWS = """
local function count_in_windows(keys, limits, windows_ms, counters, counter_ttl)
  local out = {0}
  for i = 1, #keys do
    local used = tonumber(redis.call('GET', keys[i]) or '0')
    local pttl = redis.call('PTTL', keys[i])
    if used >= tonumber(limits[i]) and out[1] == 0 then out[1] = i end
    out[2 * i] = used
    out[2 * i + 1] = pttl
  end
  if out[1] ~= 0 then return out end
  for i = 1, #keys do
    local used = redis.call('INCR', keys[i])
    local pttl = redis.call('PTTL', keys[i])
    if pttl < 0 then
      pttl = tonumber(windows_ms[i])
      redis.call('PEXPIRE', keys[i], pttl)
    end
    out[2 * i] = used
    out[2 * i + 1] = pttl
  end
  for _, counter in ipairs(counters) do
    redis.call('INCR', counter)
    redis.call('EXPIRE', counter, counter_ttl)
  end
  return out
end
"""
# KEYS: n window keys, then plain counters. ARGV: n, then (limit, window ms) per window, then the
# counters' lifetime in seconds.
_SCRIPT = COUNT_IN_WINDOWS + """
local n = tonumber(ARGV[1])
local keys, limits, windows_ms, counters = {}, {}, {}, {}
for i = 1, n do
  keys[i] = KEYS[i]
  limits[i] = ARGV[2 * i]
  windows_ms[i] = ARGV[2 * i + 1]
end
for j = n + 1, #KEYS do counters[#counters + 1] = KEYS[j] end
return count_in_windows(keys, limits, windows_ms, counters, ARGV[2 * n + 2])
"""
COUNTER_TTL_SECONDS = 2 * 86_400


@dataclass(frozen=True)
class Limit:
    scope: str  # what is limited: "api-key", "user", "send", "auth-ip", ...
    subject: str  # whose window: a key id, a user id, an address
    limit: int
    window: int = 60

    @property
    def redis_key(self) -> str:
        return f"gateway:rl:{self.scope}:{self.subject}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window that decided starts over
    scope: str

    def headers(self) -> dict[str, str]:
        """The IETF draft's names (draft-ietf-httpapi-ratelimit-headers), plus Retry-After when refused."""
        headers = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                   "RateLimit-Reset": str(self.reset)}
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset))
        return headers


def decide(limits: list[Limit], denied: int, windows: list[tuple[int, int]]) -> Decision:
    """From the script's answer: the full window when refused, else the one closest to full."""
    def decision(i: int, allowed: bool) -> Decision:
        limit, (used, pttl) = limits[i], windows[i]
        reset = math.ceil(pttl / 1000) if pttl > 0 else limit.window
        return Decision(allowed, limit.limit, max(0, limit.limit - used), reset, limit.scope)

    if denied:
        return decision(denied - 1, False)
    tightest = min(range(len(limits)), key=lambda i: limits[i].limit - windows[i][0])
    return decision(tightest, True)


def decision_of(limits: list[Limit], counted: list) -> Decision:
    """The decision from what `count_in_windows` returned."""
    windows = [(int(counted[2 * i + 1]), int(counted[2 * i + 2])) for i in range(len(limits))]
    return decide(limits, int(counted[0]), windows)


def api_key_limit(key_id: str, settings: Settings) -> Limit:
    """An API key's requests, whatever they are."""
    return Limit("api-key", key_id, settings.rate_limit_api_key)


def send_limit(tenant_id: str, tier: str, settings: Settings) -> Limit:
    """An account's sends (all its keys and sessions together), at its tier's rate."""
    rates = settings.tier_send_rates
    return Limit("send", tenant_id, rates.get(tier, min(rates.values())))


# The decision that applied to a request, so its response can carry the RateLimit headers.
RATE_LIMIT = web.RequestKey("rate_limit", Decision)


class RateLimiter:
    def __init__(self, redis):
        self.redis = redis
        self._script = redis.register_script(_SCRIPT)
        self._warned_at = float("-inf")

    async def hit(self, limits: list[Limit], *, counters: tuple[str, ...] = ()) -> Decision | None:
        """Count one request against `limits` (and bump `counters` if it is allowed). None when
        Redis cannot answer: the request goes through unlimited."""
        if not limits:
            return None
        args = [len(limits)]
        for limit in limits:
            args += [limit.limit, limit.window * 1000]
        args.append(COUNTER_TTL_SECONDS)
        try:
            out = await self._script(keys=[lim.redis_key for lim in limits] + list(counters), args=args)
        except (RedisError, OSError) as exc:
            if time.monotonic() - self._warned_at > 10:
                self._warned_at = time.monotonic()
                log.warning("ratelimit.unavailable", error=repr(exc))
            return None
        return decision_of(limits, out)
