"""Wiring: the registry's handlers on its two queues, its monitor loop, and the service scaffolding."""

from __future__ import annotations

from functools import partial

from aiohttp import web
from wagw_common import topology
from wagw_common.consumer import Subscription
from wagw_common.service import Resources, create_service_app

from . import monitor, queries, uplink_handlers
from .settings import SERVICE, Settings
from .store import WorkerStore


async def wire(res: Resources) -> list[Subscription]:
    store = WorkerStore(res.db, res.broker)
    await store.ensure_indexes()
    uplink = {
        "worker.register": partial(uplink_handlers.when_worker_registers_mark_online, store=store),
        "worker.heartbeat": partial(uplink_handlers.when_heartbeat_received_mark_seen, store=store,
                                    assignment_grace=res.settings.assignment_grace),
        "worker.unregister": partial(uplink_handlers.when_worker_unregisters_mark_offline, store=store),
    }
    commands = {
        "worker.select": partial(queries.when_worker_requested_choose_one, store=store),
        "worker.list": partial(queries.when_fleet_requested_list_workers, store=store),
    }
    res.background.append(monitor.start(res, store))
    # Uplink handlers are idempotent by themselves (compare-and-set on the worker record).
    return [Subscription(topology.REGISTRY_WORKER_UPLINK, uplink, use_inbox=False),
            Subscription(topology.REGISTRY_COMMANDS, commands)]


def create_app(settings: Settings) -> web.Application:
    return create_service_app(SERVICE, settings, wire=wire)
