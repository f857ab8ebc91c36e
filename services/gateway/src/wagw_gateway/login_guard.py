"""Brute-force protection for log-in: failed attempts are counted per email address in Redis; after
LOGIN_MAX_FAILURES within LOGIN_LOCKOUT_SECONDS further attempts for that address are refused (429)
until the window has passed, whatever the password. A successful log-in clears the count. The
per-address rate limit on /auth routes stops one client from spraying many emails."""

from __future__ import annotations

import hashlib

from redis.exceptions import RedisError
from wagw_common.logging import get_logger

from .users import normalize_email

log = get_logger(__name__)


def _key(email: str) -> str:
    # Hashed, so Redis holds no list of the addresses people tried.
    return "gateway:login-failures:" + hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]


class LoginGuard:
    def __init__(self, redis, *, max_failures: int, lockout_seconds: int):
        self.redis = redis
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds

    async def locked_for(self, email: str) -> int:
        """Seconds until log-in may be tried again for `email`; 0 when it may be tried now."""
        try:
            failures = int(await self.redis.get(_key(email)) or 0)
            if failures < self.max_failures:
                return 0
            return max(1, int(await self.redis.ttl(_key(email))))
        except (RedisError, OSError) as exc:
            log.warning("login_guard.unavailable", error=repr(exc))
            return 0

    async def failed(self, email: str) -> None:
        try:
            # The window is opened first (with its expiry), so no count can outlive it.
            await self.redis.set(_key(email), 0, ex=self.lockout_seconds, nx=True)
            await self.redis.incr(_key(email))
        except (RedisError, OSError) as exc:
            log.warning("login_guard.unavailable", error=repr(exc))

    async def succeeded(self, email: str) -> None:
        try:
            await self.redis.delete(_key(email))
        except (RedisError, OSError) as exc:
            log.warning("login_guard.unavailable", error=repr(exc))
