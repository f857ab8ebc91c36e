"""Everything the gateway's views and handlers depend on: one frozen object under one app key.

`build` makes it on clients that are not connected yet (no I/O), so `create_app` builds it before the
app starts and the service's cleanup contexts open the connections; tests build it on in-memory
doubles and mount the same routes on a bare app, with no server behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from wagw_common.worker_asker import WorkerAsker
from wagw_common.worker_speakers import UplinkSpeakers

from .account_state import AccountStates
from .api_keys import ApiKeyStore
from .idempotency import IdempotencyStore
from .login_guard import LoginGuard
from .media_files import MediaStore
from .passwords import Passwords
from .ratelimit import RateLimiter
from .refresh_tokens import RefreshTokenStore
from .send_admission import SendAdmission
from .settings import Settings
from .usage import SendCounter
from .users import UserStore


class Rpc(Protocol):
    async def call(self, request_type: str, data: dict[str, Any], *, subject: str | None = None,
                   timeout: float | None = None) -> Any: ...


class Publisher(Protocol):
    """The broker's typed publishing (`wagw_common.broker.Publishing`): commands and events."""

    async def send_command(self, command_type: str, data: dict[str, Any], *, subject: str | None = None,
                           routing_key: str | None = None, loaded: bool = False) -> Any: ...

    async def publish_event(self, event_type: str, data: dict[str, Any], *, subject: str | None = None) -> Any: ...


@dataclass(frozen=True)
class Deps:
    settings: Settings
    passwords: Passwords
    users: UserStore
    api_keys: ApiKeyStore
    idempotency: IdempotencyStore
    refresh_tokens: RefreshTokenStore
    accounts: AccountStates
    limiter: RateLimiter
    # `POST /send` through a key bound to one session: checked and counted in one Redis round trip.
    send_admission: SendAdmission
    usage: SendCounter
    login_guard: LoginGuard
    # Questions to other services (request/reply over the broker).
    rpc: Rpc
    # Commands (a send) and events (`user.logins_ended`), confirmed by the broker.
    broker: Publisher
    # Questions for a session's worker; started (its reply queue declared) once the broker is open.
    worker_queries: WorkerAsker
    # Where the orchestrator caches each session's status, read before accepting a send.
    redis: Any
    # The media object store (uploads, and received files read for their download links).
    media: MediaStore


def build(settings: Settings, *, db: Any, redis: Any, broker: Any, rpc: Rpc, passwords: Passwords | None = None,
          limiter: RateLimiter | None = None, send_admission: SendAdmission | None = None) -> Deps:
    """The gateway's dependencies on `db` (a database of the PyMongo client), `redis` and `broker`.
    Nothing here talks to a server: the stores only hold their collections and clients."""
    users = UserStore(db["users"])
    speakers = UplinkSpeakers.of(settings.amqp_url, settings.trusted_users)
    return Deps(
        settings=settings, passwords=passwords or Passwords(), users=users,
        api_keys=ApiKeyStore(db["api_keys"], redis), idempotency=IdempotencyStore(db["idempotency"]),
        refresh_tokens=RefreshTokenStore(db["refresh_tokens"]), accounts=AccountStates(users, redis),
        limiter=limiter or RateLimiter(redis), send_admission=send_admission or SendAdmission(redis, settings),
        usage=SendCounter(db["usage"], redis),
        login_guard=LoginGuard(redis, max_failures=settings.login_max_failures, lockout_seconds=settings.login_lockout),
        rpc=rpc, broker=broker,
        worker_queries=WorkerAsker(broker, timeout=settings.worker_query_timeout, speakers=speakers),
        redis=redis, media=MediaStore(settings),
    )


GATEWAY = web.AppKey("gateway", Deps)


def gateway_of(request: web.Request) -> Deps:
    return request.app[GATEWAY]
