"""Wiring: the registry's handlers on its two queues, its monitor loop, and the service scaffolding."""

from __future__ import annotations

from functools import partial

from aiohttp import web
from wagw_common import topology
from wagw_common.consumer import Subscription
from wagw_common.service import Resources, create_service_app
from wagw_common.worker_speakers import UplinkSpeakers

from . import admin, gauges, monitor, queries, uplink_handlers
from .identity import Speakers
from .settings import SERVICE, Settings
from .store import WorkerStore


async def wire(res: Resources) -> list[Subscription]:
    settings = res.settings
    store = WorkerStore(res.db, res.broker)
    await store.ensure_indexes()
    res.state_metrics.add("workers", gauges.probe(store))
    speakers = Speakers(UplinkSpeakers.of(settings.amqp_url, settings.trusted_users))
    missed = settings.missed_heartbeats
    uplink = {
        "worker.register": partial(uplink_handlers.when_worker_registers_mark_online_and_assign_sessions,
                                   store=store, speakers=speakers, missed=missed),
        "worker.heartbeat": partial(uplink_handlers.when_heartbeat_received_mark_seen, store=store, speakers=speakers,
                                    assignment_grace=settings.assignment_grace, missed=missed),
        "worker.unregister": partial(uplink_handlers.when_worker_unregisters_mark_offline, store=store,
                                     speakers=speakers),
    }
    commands = {
        "worker.select": partial(queries.when_worker_requested_choose_one, store=store),
        "worker.list": partial(queries.when_fleet_requested_list_workers, store=store),
        "worker.get": partial(queries.when_worker_requested_describe_it, store=store),
        "worker.stats": partial(queries.when_fleet_stats_requested_sum_them_up, store=store),
        "worker.check": partial(admin.when_health_check_requested_check_now, store=store),
        "worker.drain": partial(admin.when_drain_requested_stop_assigning, store=store),
        "worker.undrain": partial(admin.when_undrain_requested_assign_again, store=store),
        "worker.remove": partial(admin.when_removal_requested_forget_worker, store=store),
    }
    res.background.append(monitor.start(res, store))
    # Uplink handlers are idempotent by themselves (compare-and-set on the worker record).
    return [Subscription(topology.REGISTRY_WORKER_UPLINK, uplink, use_inbox=False),
            Subscription(topology.REGISTRY_COMMANDS, commands)]


def create_app(settings: Settings) -> web.Application:
    return create_service_app(SERVICE, settings, wire=wire)
