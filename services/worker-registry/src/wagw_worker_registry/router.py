"""Every message the registry consumes: its queue, its handler, and how it is consumed."""

from __future__ import annotations

from wagw_common import topology
from wagw_common.router import Router

from . import admin, queries, uplink_handlers
from .deps import Deps
from .settings import SERVICE

router: Router[Deps] = Router(SERVICE)

# Idempotent by themselves (compare-and-set on the worker record), so no inbox write per message.
uplink = router.queue(topology.REGISTRY_WORKER_UPLINK, inbox=False)
uplink.on("worker.register", uplink_handlers.when_worker_registers_mark_online_and_assign_sessions)
uplink.on("worker.heartbeat", uplink_handlers.when_heartbeat_received_mark_seen)
uplink.on("worker.unregister", uplink_handlers.when_worker_unregisters_mark_offline)

commands = router.queue(topology.REGISTRY_COMMANDS)
commands.on("worker.select", queries.when_worker_requested_choose_one)
commands.on("worker.list", queries.when_fleet_requested_list_workers)
commands.on("worker.get", queries.when_worker_requested_describe_it)
commands.on("worker.stats", queries.when_fleet_stats_requested_sum_them_up)
commands.on("worker.check", admin.when_health_check_requested_check_now)
commands.on("worker.drain", admin.when_drain_requested_stop_assigning)
commands.on("worker.undrain", admin.when_undrain_requested_assign_again)
commands.on("worker.remove", admin.when_removal_requested_forget_worker)
