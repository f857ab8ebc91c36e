"""Everything a view depends on, in one object under one app key.

`create_app` binds the real stores, RPC client and broker once the connections are open; tests
bind fakes and mount the same routes on a bare app, with no server behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from .account_state import AccountStates
from .api_keys import ApiKeyStore
from .idempotency import IdempotencyStore
from .login_guard import LoginGuard
from .passwords import Passwords
from .ratelimit import RateLimiter
from .refresh_tokens import RefreshTokenStore
from .settings import Settings
from .usage import SendCounter
from .users import UserStore


class Rpc(Protocol):
    async def call(self, request_type: str, data: dict[str, Any], *, subject: str | None = None,
                   timeout: float | None = None) -> Any: ...


class CommandSender(Protocol):
    async def send_command(self, command_type: str, data: dict[str, Any], *, subject: str | None = None,
                           routing_key: str | None = None) -> Any: ...


class EventPublisher(Protocol):
    async def publish_event(self, event_type: str, data: dict[str, Any], *, subject: str | None = None) -> Any: ...


@dataclass
class Gateway:
    settings: Settings
    passwords: Passwords
    users: UserStore | None = None
    api_keys: ApiKeyStore | None = None
    idempotency: IdempotencyStore | None = None
    rpc: Rpc | None = None
    worker_queries: Any = None  # a started `WorkerAsker`: questions for a session's worker
    commands: CommandSender | None = None
    events: EventPublisher | None = None
    refresh_tokens: RefreshTokenStore | None = None
    accounts: AccountStates | None = None
    limiter: RateLimiter | None = None
    usage: SendCounter | None = None
    login_guard: LoginGuard | None = None
    # Where the orchestrator caches each session's status (read before accepting a send); None: unknown.
    redis: Any = None
    # The media object store (received files are read from it for their download links).
    media: Any = None


GATEWAY = web.AppKey("gateway", Gateway)


def gateway_of(request: web.Request) -> Gateway:
    return request.app[GATEWAY]
