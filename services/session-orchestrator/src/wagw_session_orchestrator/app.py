"""Composition root: the connections, the one dependency object on them, the router, the loops."""

from __future__ import annotations

from typing import AsyncIterator

from aiohttp import web
from wagw_common.outbox import OutboxRelay
from wagw_common.service import Resources, create_service_app
from wagw_common.worker_speakers import UplinkSpeakers

from . import background, metrics
from .deps import Deps
from .known_messages import KnownMessages
from .messages_store import MessagesStore
from .pacing_slots import PacingSlots
from .router import router
from .routing import SessionRoutes
from .settings import SERVICE, Settings
from .sessions_store import SessionsStore


def create_app(settings: Settings) -> web.Application:
    res = Resources.open_lazily(SERVICE, settings)
    sessions, messages = SessionsStore(res.database, res.redis), MessagesStore(res.database)
    deps = Deps(
        sessions=sessions, messages=messages,
        session_relay=OutboxRelay(sessions.collection, res.broker),
        # A message's document changes at each status step: its clears go lazily, many in one command.
        message_relay=OutboxRelay(messages.collection, res.broker, lazy_clears=True),
        broker=res.broker, rpc=res.rpc,
        routes=SessionRoutes(res.redis, sessions, ttl_seconds=settings.session_route_ttl),
        speakers=UplinkSpeakers.of(settings.amqp_url, settings.trusted_users),
        known=KnownMessages(),
        pacing=PacingSlots(res.database),
        send_queue_limit=settings.send_queue_limit,
    )

    async def startup(res: Resources) -> None:
        await sessions.ensure_indexes()
        await messages.ensure_indexes()
        await deps.pacing.ensure_indexes()
        res.state_metrics.add("sessions_messages", metrics.probe(sessions.collection, messages.collection))
        res.background.extend(background.start(res, deps))

    async def lazy_clears_ctx(app: web.Application) -> AsyncIterator[None]:
        # Closed after the consumers stopped: the clears their last handlers asked for are written.
        yield
        await deps.message_relay.cleared()

    return create_service_app(res, router=router, deps=deps, startup=startup, contexts=(lazy_clears_ctx,))
