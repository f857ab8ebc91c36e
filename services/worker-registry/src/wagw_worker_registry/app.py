"""Composition root: the connections, the one dependency object on them, the router, the monitor."""

from __future__ import annotations

from aiohttp import web
from wagw_common.service import Resources, create_service_app
from wagw_common.worker_speakers import UplinkSpeakers

from . import gauges, monitor
from .deps import Deps
from .identity import Speakers
from .router import router
from .settings import SERVICE, Settings
from .store import WorkerStore


def create_app(settings: Settings) -> web.Application:
    res = Resources.open_lazily(SERVICE, settings)
    deps = Deps(store=WorkerStore(res.database, res.broker),
                speakers=Speakers(UplinkSpeakers.of(settings.amqp_url, settings.trusted_users)),
                missed=settings.missed_heartbeats, assignment_grace=settings.assignment_grace)

    async def startup(res: Resources) -> None:
        await deps.store.ensure_indexes()
        res.state_metrics.add("workers", gauges.probe(deps.store))
        res.background.append(monitor.start(res, deps.store))

    return create_service_app(res, router=router, deps=deps, startup=startup)
