"""Everything the orchestrator's handlers depend on: one frozen object, built once by app.py."""

from __future__ import annotations

from dataclasses import dataclass

from wagw_common.broker import Publishing
from wagw_common.outbox import OutboxRelay
from wagw_common.rpc import RpcClient
from wagw_common.worker_speakers import UplinkSpeakers

from .known_messages import KnownMessages
from .messages_store import MessagesStore
from .pacing_slots import PacingSlots
from .routing import SessionRoutes
from .sessions_store import SessionsStore


@dataclass(frozen=True)
class Deps:
    sessions: SessionsStore
    messages: MessagesStore
    # Each collection's outbox is published by a relay of its own (a session's events, a message's).
    session_relay: OutboxRelay
    message_relay: OutboxRelay
    broker: Publishing
    rpc: RpcClient  # asks the registry for a worker (`worker.select`)
    routes: SessionRoutes  # which worker holds a session (Redis in front of MongoDB)
    speakers: UplinkSpeakers  # who may speak for which worker on the uplink
    # What this replica stored or read of outbound messages lately, so their reports need not read them back.
    known: KnownMessages
    pacing: PacingSlots  # paced sessions' send slots, and their paced sends waiting
    send_queue_limit: int  # messages a session not connected may hold for sends that ask to be queued
