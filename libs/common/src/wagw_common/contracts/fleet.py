"""The worker registry's side of the fleet: the queries other services and administrators ask it,
and the events it emits when a worker's state changes (the worker protocol itself is in `workers`)."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from . import fields as f
from .base import Contract, Kind, SchemaClass, StrictSchema
from .workers import HeldSession

_WORKER = "worker-1"
_SESSION_ID = "s_8f14e45fceea167a"
_TIME = "2026-01-01T12:00:00Z"
EVENT_STATES = (*f.WORKER_STATES, "removed")


class WorkerRef(StrictSchema):
    worker_id = f.worker_id()


class SelectWorker(StrictSchema):
    session_id = f.object_id()


class SelectedWorker(StrictSchema):
    worker_id = f.worker_id()


class ListWorkers(StrictSchema):
    state = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(f.WORKER_STATES))
    environment = fields.String(validate=validate.Length(min=1, max=64))


class Breakdown(StrictSchema):
    """A worker's (or the fleet's) sessions by status, in the buckets of `workers.BREAKDOWN_BUCKETS`."""

    connected = fields.Integer(required=True)
    connecting = fields.Integer(required=True)
    qr_required = fields.Integer(required=True)
    disconnected = fields.Integer(required=True)
    error = fields.Integer(required=True)


class WorkerView(StrictSchema):
    worker_id = f.worker_id()
    version = fields.String(required=True)
    environment = fields.String(required=True)
    endpoint = fields.String(required=True, allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(f.WORKER_STATES))
    drain_requested = fields.Boolean(required=True)  # an administrator drained it; it stays so across restarts
    max_sessions = fields.Integer(required=True)
    session_count = fields.Integer(required=True)
    assigned = fields.Integer(required=True)  # chosen for it, not yet in a heartbeat
    free = fields.Integer(required=True)
    breakdown = fields.Nested(Breakdown, required=True)
    cpu_percent = fields.Float(required=True, allow_none=True)
    memory_mb = fields.Float(required=True, allow_none=True)
    heartbeat_interval_seconds = fields.Float(required=True)
    registered_at = fields.AwareDateTime(required=True)
    last_heartbeat_at = fields.AwareDateTime(required=True)
    # The load-balancing score now (0..1, higher is better); null when it cannot take a session.
    score = fields.Float(required=True, allow_none=True)


class WorkerList(StrictSchema):
    workers = fields.List(fields.Nested(WorkerView), required=True)


class PendingSession(StrictSchema):
    session_id = f.object_id()
    at = f.timestamp()


class WorkerDetail(WorkerView):
    sessions = fields.List(fields.Nested(HeldSession), required=True)
    pending = fields.List(fields.Nested(PendingSession), required=True)
    recent_offline_at = fields.List(fields.AwareDateTime(), required=True)


class FleetWorkers(StrictSchema):
    total = fields.Integer(required=True)
    online = fields.Integer(required=True)
    draining = fields.Integer(required=True)
    offline = fields.Integer(required=True)


class FleetCapacity(StrictSchema):
    max_sessions = fields.Integer(required=True)  # of the online workers (those that take new sessions)
    sessions = fields.Integer(required=True)  # held by online and draining workers
    assigned = fields.Integer(required=True)
    free = fields.Integer(required=True)
    utilisation = fields.Float(required=True)  # sessions / max_sessions of online and draining workers


class FleetStats(StrictSchema):
    workers = fields.Nested(FleetWorkers, required=True)
    capacity = fields.Nested(FleetCapacity, required=True)
    sessions = fields.Nested(Breakdown, required=True)
    cpu_percent_avg = fields.Float(required=True, allow_none=True)
    memory_mb_avg = fields.Float(required=True, allow_none=True)
    versions = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class FleetStatsQuery(StrictSchema):
    pass


class HealthCheck(StrictSchema):
    worker = fields.Nested(WorkerView, required=True)
    heartbeat_requested = fields.Boolean(required=True)


class DrainWorker(WorkerRef):
    reason = fields.String(load_default="drained by an administrator", validate=validate.Length(min=1, max=200))


class RemoveWorker(WorkerRef):
    force = fields.Boolean(load_default=False)  # remove even an online worker


class RemovedWorker(StrictSchema):
    worker_id = f.worker_id()
    session_ids = fields.List(fields.String(), required=True)


class WorkerStateChanged(StrictSchema):
    worker_id = f.worker_id()
    state = fields.String(required=True, validate=validate.OneOf(EVENT_STATES))
    reason = fields.String(load_default=None, allow_none=True)
    # online: the sessions it holds; offline, draining, removed: every session that needs another worker.
    session_ids = fields.List(fields.String(), load_default=list)


_BREAKDOWN = {"connected": 10, "connecting": 0, "qr_required": 1, "disconnected": 1, "error": 0}
_VIEW = {"worker_id": _WORKER, "version": "1.4.0", "environment": "production", "endpoint": None,
         "state": "online", "drain_requested": False, "max_sessions": 50, "session_count": 12, "assigned": 1,
         "free": 37, "breakdown": _BREAKDOWN, "cpu_percent": 12.5, "memory_mb": 310.0,
         "heartbeat_interval_seconds": 10.0, "registered_at": _TIME, "last_heartbeat_at": _TIME, "score": 0.81}
_DETAIL = {**_VIEW, "sessions": [{"session_id": _SESSION_ID, "status": "CONNECTED"}],
           "pending": [{"session_id": "s_c4ca4238a0b92382", "at": _TIME}], "recent_offline_at": []}
_STATS = {"workers": {"total": 3, "online": 2, "draining": 0, "offline": 1},
          "capacity": {"max_sessions": 100, "sessions": 12, "assigned": 1, "free": 87, "utilisation": 0.12},
          "sessions": _BREAKDOWN, "cpu_percent_avg": 12.5, "memory_mb_avg": 310.0, "versions": {"1.4.0": 3}}


def _query(message_type: str, schema: SchemaClass, summary: str, example: dict[str, Any], reply: SchemaClass,
           reply_example: dict[str, Any]) -> Contract:
    return Contract(message_type, Kind.QUERY, schema, summary, example, reply=reply, reply_example=reply_example,
                    tags=("workers",))


def _event(message_type: str, summary: str, state: str, reason: str, session_ids: list[str]) -> Contract:
    return Contract(message_type, Kind.EVENT, WorkerStateChanged, summary,
                    {"worker_id": _WORKER, "state": state, "reason": reason, "session_ids": session_ids},
                    tags=("workers",))


CONTRACTS = [
    _query("worker.select", SelectWorker, "Choose the best worker for a new session (the highest load score)",
           {"session_id": _SESSION_ID}, SelectedWorker, {"worker_id": _WORKER}),
    _query("worker.list", ListWorkers, "The fleet, optionally filtered by state and environment",
           {"state": None, "environment": "production"}, WorkerList, {"workers": [_VIEW]}),
    _query("worker.get", WorkerRef, "One worker with the sessions it holds and those chosen for it",
           {"worker_id": _WORKER}, WorkerDetail, _DETAIL),
    _query("worker.stats", FleetStatsQuery, "Fleet statistics: workers by state, capacity, sessions by status",
           {}, FleetStats, _STATS),
    _query("worker.check", WorkerRef,
           "Health check now: declare the worker offline if it is silent, else ask it for a heartbeat",
           {"worker_id": _WORKER}, HealthCheck, {"worker": _VIEW, "heartbeat_requested": True}),
    _query("worker.drain", DrainWorker, "Take no new sessions on this worker and move its sessions elsewhere",
           {"worker_id": _WORKER, "reason": "kernel upgrade"}, WorkerView,
           {**_VIEW, "state": "draining", "drain_requested": True, "score": None}),
    _query("worker.undrain", WorkerRef, "Cancel a drain: the worker takes new sessions again",
           {"worker_id": _WORKER}, WorkerView, _VIEW),
    _query("worker.remove", RemoveWorker,
           "Forget a worker (offline or draining, or any with force); its sessions are moved elsewhere",
           {"worker_id": _WORKER, "force": False}, RemovedWorker, {"worker_id": _WORKER, "session_ids": [_SESSION_ID]}),
    _event("worker.online", "A worker registered, came back, or its drain was cancelled", "online", "registered", []),
    _event("worker.offline", "A worker stopped heartbeating or unregistered; its sessions need another worker",
           "offline", "heartbeat timeout", [_SESSION_ID]),
    _event("worker.draining", "An administrator drained a worker; its sessions need another worker",
           "draining", "kernel upgrade", [_SESSION_ID]),
    _event("worker.removed", "An administrator removed a worker; any sessions it still had need another worker",
           "removed", "removed by an administrator", [_SESSION_ID]),
]
