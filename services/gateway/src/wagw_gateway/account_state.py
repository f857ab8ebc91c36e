"""What every authenticated request needs to know about its account: active, role, tier, token
generation. Read from MongoDB and cached in Redis briefly; a change overwrites the cached copy at
once, so a deactivated account, a demoted admin or a changed password takes effect immediately.

Cache fills use SET NX: a fill that read MongoDB just before a change cannot overwrite the fresher
value the change wrote. With Redis down every request reads MongoDB."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from redis.exceptions import RedisError
from wagw_common.logging import get_logger

from .users import User, UserStore

log = get_logger(__name__)
CACHE_TTL_SECONDS = 60
GONE = "gone"  # the cache entry of an account that does not exist


@dataclass(frozen=True)
class AccountState:
    user_id: str
    active: bool
    role: str
    tier: str
    token_generation: int


def cached_state(raw: str | bytes) -> AccountState:
    """The state from its cache entry (not `GONE`)."""
    return AccountState(**json.loads(raw))


def state_of(user: User) -> AccountState:
    return AccountState(user_id=user.user_id, active=user.active, role=user.role, tier=user.tier,
                        token_generation=user.token_generation)


class AccountStates:
    def __init__(self, users: UserStore, redis):
        self.users = users
        self.redis = redis

    @staticmethod
    def cache_key(user_id: str) -> str:
        return f"gateway:account:{user_id}"

    async def get(self, user_id: str) -> AccountState | None:
        """None: no such account (deleted, or never existed)."""
        try:
            raw = await self.redis.get(self.cache_key(user_id))
        except (RedisError, OSError) as exc:
            log.warning("account_state.cache_unavailable", error=repr(exc))
            raw = None
        return await self.from_cached(user_id, raw)

    async def from_cached(self, user_id: str, raw: str | None) -> AccountState | None:
        """The state from what Redis held under `cache_key(user_id)` (read by the caller, e.g. in a
        pipeline with other reads), or from MongoDB when it held nothing."""
        if raw is not None:
            return None if raw == GONE else cached_state(raw)
        user = await self.users.by_id(user_id)
        state = state_of(user) if user is not None else None
        await self._write(user_id, state, only_if_absent=True)
        return state

    async def changed(self, user: User) -> AccountState:
        """Call after every write to an account's active flag, role, tier or password."""
        state = state_of(user)
        await self._write(user.user_id, state, only_if_absent=False)
        return state

    async def _write(self, user_id: str, state: AccountState | None, *, only_if_absent: bool) -> None:
        value = json.dumps(asdict(state)) if state is not None else GONE
        try:
            await self.redis.set(self.cache_key(user_id), value, ex=CACHE_TTL_SECONDS, nx=only_if_absent)
        except (RedisError, OSError) as exc:
            log.warning("account_state.cache_unavailable", error=repr(exc))
