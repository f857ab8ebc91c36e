"""Wiring: stores, routes, the outbox relay loop and the handlers bound to their queues."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from aiohttp import web

from wagw_common.consumer import Subscription
from wagw_common.contracts import CATALOG
from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.logging import get_logger
from wagw_common.outbox import OutboxRelay
from wagw_common.service import Resources, create_service_app
from wagw_common.topology import (ORCHESTRATOR_COMMANDS, ORCHESTRATOR_FLEET_EVENTS, ORCHESTRATOR_QUERIES,
                                   ORCHESTRATOR_SENDS, ORCHESTRATOR_SESSION_REPORTS, ORCHESTRATOR_WORKER_UPLINK)
from wagw_common.worker_speakers import UplinkSpeakers, heard_from_worker

from . import clock, failover, gauges, message_commands, session_commands, session_control, worker_reports
from . import chat_actions, held_expiry, message_changes, paced_release, received
from .known_messages import KnownMessages
from .messages_store import MessagesStore
from .pacing_slots import PacingSlots
from .routing import SessionRoutes
from .sessions_store import SessionsStore
from .settings import SERVICE, Settings

log = get_logger(__name__)
WORKER_LEFT_EVENTS = ("worker.offline", "worker.draining", "worker.removed")


def create_app(settings: Settings) -> web.Application:
    return create_service_app(SERVICE, settings, wire=wire)


async def wire(res: Resources) -> list[Subscription]:
    settings: Settings = res.settings
    sessions, messages = SessionsStore(res.db, res.redis), MessagesStore(res.db)
    await sessions.ensure_indexes()
    await messages.ensure_indexes()
    pacing = PacingSlots(res.db)
    await pacing.ensure_indexes()
    res.state_metrics.add("sessions_messages", gauges.probe(sessions.collection, messages.collection))
    session_relay = OutboxRelay(sessions.collection, res.broker)
    message_relay = OutboxRelay(messages.collection, res.broker)
    routes = SessionRoutes(res.redis, sessions, ttl_seconds=settings.session_route_ttl)
    res.background.append(asyncio.create_task(_relay_loop(res, settings, (session_relay, message_relay))))
    res.background.append(asyncio.create_task(held_expiry.run(
        res.redis, SERVICE, messages, message_relay, res.broker, max_age=settings.send_queue_max_age)))
    res.background.append(asyncio.create_task(paced_release.run(
        res.redis, SERVICE, pacing, sessions, messages, message_relay, res.broker,
        interval=settings.paced_release_interval)))
    if settings.history_retention_days > 0:
        res.background.append(asyncio.create_task(_retention_loop(res, settings, messages)))

    on_sessions = dict(sessions=sessions, relay=session_relay, broker=res.broker)
    on_messages = dict(messages=messages, relay=message_relay, broker=res.broker)
    known = KnownMessages()  # what the sends stored, so their reports need not read it back
    speakers = UplinkSpeakers.of(settings.amqp_url, settings.trusted_users)

    def heard(handlers: dict) -> dict:
        # Worker reports: the speaker is whom the broker vouches for, never the body's worker_id.
        return {message_type: heard_from_worker(handler, speakers) for message_type, handler in handlers.items()}

    send = partial(message_commands.when_send_requested_store_and_route_it, **on_messages, sessions=sessions,
                   routes=routes, queue_limit=settings.send_queue_limit, known=known, pacing=pacing)
    return [
        Subscription(ORCHESTRATOR_COMMANDS, {
            "session.create": partial(session_commands.when_session_create_requested_create_it, **on_sessions),
            "session.connect": partial(session_commands.when_session_connect_requested_assign_a_worker,
                                       **on_sessions, rpc=res.rpc, routes=routes),
            "session.pair": partial(session_commands.when_session_pair_requested_assign_a_worker,
                                    **on_sessions, rpc=res.rpc, routes=routes),
            "session.disconnect": partial(session_control.when_session_disconnect_requested_stop_it,
                                          **on_sessions, routes=routes),
            "session.logout": partial(session_control.when_session_logout_requested_unlink_the_phone,
                                      **on_sessions, routes=routes),
            "session.restart": partial(session_control.when_session_restart_requested_start_it_again,
                                       **on_sessions, rpc=res.rpc, routes=routes),
            "session.update": partial(session_control.when_session_update_requested_rename_it, **on_sessions),
            "session.delete": partial(session_control.when_session_delete_requested_remove_it,
                                      **on_sessions, messages=messages, routes=routes),
            "message.edit": partial(message_changes.when_edit_requested_hand_it_to_the_worker, messages=messages,
                                    sessions=sessions, routes=routes, broker=res.broker),
            "message.revoke": partial(message_changes.when_revoke_requested_hand_it_to_the_worker, messages=messages,
                                      sessions=sessions, routes=routes, broker=res.broker),
            "session.read_chat": partial(chat_actions.when_chat_read_requested_hand_it_to_the_worker,
                                         sessions=sessions, messages=messages, routes=routes, broker=res.broker),
            "session.presence": partial(chat_actions.when_presence_requested_hand_it_to_the_worker,
                                        sessions=sessions, routes=routes, broker=res.broker),
            # Sends published before sends were sharded (by a gateway of the previous version).
            "message.send": send,
        }),
        # Reads on their own queue: never stuck behind a backlog of sends or commands.
        Subscription(ORCHESTRATOR_QUERIES, {
            "session.get": partial(session_commands.when_session_requested_return_it, sessions=sessions,
                                   pacing=pacing),
            "session.list": partial(session_commands.when_sessions_listed_return_them, sessions=sessions,
                                    pacing=pacing),
            "message.list": partial(message_commands.when_history_requested_return_a_page,
                                    sessions=sessions, messages=messages),
            "message.get": partial(message_commands.when_message_requested_return_it, messages=messages),
            "message.chats": partial(chat_actions.when_chats_listed_return_them, sessions=sessions, messages=messages),
        }),
        # One session's sends one after another, in the order they were accepted (see topology). A
        # redelivered send meets its own stored message (the id is the key) and only finishes what the
        # first delivery left undone, so these skip the inbox and its two database round trips.
        *(Subscription(shard, {"message.send": send}, serialize_by=_session_of, use_inbox=False)
          for shard in ORCHESTRATOR_SENDS),
        # Applied in the order the worker sent them (single active consumer, then one at a time per
        # session). A redelivery (a crash before the ack) repeats a report already applied, which
        # the lifecycle turns into a no-op, so these skip the inbox and its two database round trips.
        Subscription(ORCHESTRATOR_SESSION_REPORTS, heard({
            "worker.session.qr": partial(worker_reports.when_worker_shows_qr_store_it, **on_sessions),
            "worker.session.pairing_code": partial(worker_reports.when_worker_shows_pairing_code_store_it,
                                                   **on_sessions),
            "worker.session.status": partial(worker_reports.when_worker_reports_session_status_apply_it, **on_sessions,
                                             messages=messages, message_relay=message_relay, routes=routes),
        }), serialize_by=_session_of, use_inbox=False),
        # Idempotent by themselves, so no inbox either: a status step moves forward only, and is kept
        # once in the timeline; an inbound message's id is derived from WhatsApp's, so it is stored once.
        Subscription(ORCHESTRATOR_WORKER_UPLINK, heard({
            "worker.message.status": partial(worker_reports.when_worker_reports_message_status_record_it, **on_messages,
                                             sessions=sessions, known=known),
            "worker.message.inbound": partial(worker_reports.when_worker_receives_message_store_it,
                                              **on_messages, sessions=sessions),
            "worker.message.bounced": partial(worker_reports.when_worker_bounces_message_route_it_again,
                                              **on_messages, sessions=sessions),
            "worker.message.edited": partial(received.when_worker_reports_edit_record_it, **on_messages,
                                             sessions=sessions),
            "worker.message.deleted": partial(received.when_worker_reports_deletion_mark_it, **on_messages,
                                              sessions=sessions),
        }), use_inbox=False),
        Subscription(ORCHESTRATOR_FLEET_EVENTS, {
            "worker.online": partial(failover.when_worker_came_online_place_waiting, **on_sessions, rpc=res.rpc,
                                     routes=routes),
            # Offline, draining or gone: its sessions move to healthy workers (the event types the
            # registry declares; draining and removal arrive with the fleet's lifecycle).
            **{event_type: partial(failover.when_worker_left_move_its_sessions, **on_sessions, rpc=res.rpc,
                                   routes=routes)
               for event_type in WORKER_LEFT_EVENTS if event_type in CATALOG},
        }),
    ]


def _session_of(envelope) -> str:
    return envelope.data["session_id"]


async def _relay_loop(res: Resources, settings: Settings, relays: tuple[OutboxRelay, ...]) -> None:
    """One replica at a time republishes events a crash left between their write and their publish."""
    interval = settings.outbox_relay_interval
    lease = Lease(res.redis, f"{SERVICE}.outbox-relay", ttl_seconds=max(3 * interval, 5))
    stale_after = timedelta(seconds=settings.outbox_stale_after)

    async def tick() -> None:
        for relay in relays:
            await relay.relay_stale(older_than=stale_after)

    await run_periodically_under_lease(lease, interval, tick)


async def _retention_loop(res: Resources, settings: Settings, messages: MessagesStore) -> None:
    """One replica at a time deletes history older than `HISTORY_RETENTION_DAYS`."""
    interval = settings.history_sweep_interval
    lease = Lease(res.redis, f"{SERVICE}.history-retention", ttl_seconds=max(3 * interval, 5))
    keep = timedelta(days=settings.history_retention_days)

    async def sweep() -> None:
        removed = await messages.delete_older_than(clock.now() - keep)
        if removed:
            log.info("history.retention_swept", removed=removed, retention_days=settings.history_retention_days)

    await run_periodically_under_lease(lease, interval, sweep)
