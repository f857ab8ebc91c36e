"""The clients connected to this replica, and the loop that watches their credentials.

An access token that expires while its connection is open is not left to run on: the client is sent
`auth.expiring` shortly before (it may answer with `reauth` and a fresh token), and at expiry
`auth.ended` followed by a disconnect. An API-key connection is checked with the gateway now and then,
and ended the same way once its key is revoked. When all of a user's logins end (password changed,
account deactivated), their token connections end at once, on every replica."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

import socketio

from wagw_common.errors import DomainError
from wagw_common.logging import get_logger
from wagw_common.rpc import RpcClient

from .auth import API_KEY, USER, AuthError, Identity, resolve_api_key
from .catalog import user_room
from .client_bindings import ClientBindings
from .limits import ConnectionQuota, TokenBucket
from .metrics import DISCONNECTS
from .protocol import AUTH_ENDED, AUTH_EXPIRING
from .settings import Settings

log = get_logger(__name__)


@dataclass
class Connection:
    sid: str
    identity: Identity
    bucket: TokenBucket
    subscriptions: set[str] = field(default_factory=set)
    receives: frozenset[str] = frozenset()  # the event types bound for it (client_bindings.receivable)
    warned: bool = False  # auth.expiring sent for the current token
    next_key_check: float = 0.0


class Connections:
    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}

    def add(self, connection: Connection) -> None:
        self._by_sid[connection.sid] = connection

    def remove(self, sid: str) -> Connection | None:
        return self._by_sid.pop(sid, None)

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._by_sid.values()))

    def __len__(self) -> int:
        return len(self._by_sid)


@dataclass(frozen=True)
class Edge:
    """Everything the Socket.IO handlers and the event handlers depend on: one frozen object, built
    once by app.py on clients that connect when the app starts (before the server listens)."""

    sio: socketio.AsyncServer
    settings: Settings
    rpc: RpcClient
    quota: ConnectionQuota
    bindings: ClientBindings  # this replica's queue bound to what its connections receive
    connections: Connections = field(default_factory=Connections)
    checks: set[asyncio.Task] = field(default_factory=set)  # credential checks and state sends in flight


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


async def emit_to(edge: Edge, sid: str, event: str, data: Any) -> None:
    """To a client of this replica: straight to its socket, not through the other replicas."""
    await edge.sio.emit(event, data, to=sid, ignore_queue=True)


async def end_connection(edge: Edge, connection: Connection, code: str, message: str) -> None:
    log.info("realtime.credentials_ended", sid=connection.sid, user_id=connection.identity.user_id, code=code)
    DISCONNECTS.labels(code).inc()
    await emit_to(edge, connection.sid, AUTH_ENDED, {"code": code, "message": message})
    await edge.sio.disconnect(connection.sid, ignore_queue=True)


async def when_user_room_closes_end_its_logins(room: str, members: list[str], *, edge: Edge) -> None:
    """A user's room is closed when all their logins end (`user.logins_ended`): its members on this
    replica are the connections opened with that user's tokens."""
    if not room.startswith(user_room("")):
        return
    for sid in members:
        connection = edge.connections.get(sid)
        if connection is not None and connection.identity.kind == USER:
            await end_connection(edge, connection, "logins_ended",
                                 "every login of this account was ended (password changed or account deactivated); "
                                 "log in again")


async def check_credentials(edge: Edge, now: float) -> None:
    """One pass over this replica's connections."""
    for connection in edge.connections:
        identity = connection.identity
        if identity.kind == USER and identity.expires_at is not None:
            left = identity.expires_at - now
            if left <= 0:
                await end_connection(edge, connection, "token_expired", "the access token expired")
            elif left <= edge.settings.token_warning_seconds and not connection.warned:
                connection.warned = True
                await emit_to(edge, connection.sid, AUTH_EXPIRING,
                              {"expires_at": iso(identity.expires_at), "seconds_left": int(left)})
        elif identity.kind == API_KEY and now >= connection.next_key_check:
            connection.next_key_check = now + edge.settings.api_key_recheck_seconds
            task = asyncio.create_task(_recheck_key(edge, connection))
            edge.checks.add(task)
            task.add_done_callback(edge.checks.discard)


async def _recheck_key(edge: Edge, connection: Connection) -> None:
    try:
        await resolve_api_key(connection.identity.carried_key_hash, edge.rpc)
    except AuthError as err:
        if err.code == "unavailable":  # the gateway may be restarting: the next check decides
            log.warning("realtime.api_key_check_unavailable", sid=connection.sid)
            return
        if edge.connections.get(connection.sid) is connection:
            await end_connection(edge, connection, "key_revoked", "the API key was revoked")
    except DomainError as exc:
        log.warning("realtime.api_key_check_failed", sid=connection.sid, error=repr(exc))


async def watch_credentials(edge: Edge, *, interval: float = 1.0) -> None:
    """Runs for the replica's lifetime: credentials every `interval`, the connection count's renewal
    every third of its lifetime. One failing pass is logged; the next one runs anyway."""
    renewed = time.monotonic()
    while True:
        await asyncio.sleep(interval)
        try:
            await check_credentials(edge, time.time())
            if time.monotonic() - renewed >= edge.quota.ttl / 3:
                renewed = time.monotonic()
                await edge.quota.renew((c.identity.quota_owner, c.sid) for c in edge.connections)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("realtime.credential_watch_failed", error=repr(exc), exc_info=exc)
