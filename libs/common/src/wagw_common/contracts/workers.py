"""The worker protocol (what a worker publishes and consumes) and the registry's queries and events.

A worker publishes to the uplink exchange with the message type as routing key, and consumes
its own command queue, bound to the downlink exchange with its worker id."""

from __future__ import annotations

from marshmallow import fields, validate

from . import fields as f
from .base import Contract, Kind, StrictSchema

_WORKER = "worker-1"
_SESSION_ID = "s_8f14e45fceea167a"
_MESSAGE_ID = "m_45c48cce2e2d7fbd"
_TIME = "2026-01-01T12:00:00Z"
WORKER_SESSION_STATUSES = ("CONNECTING", "QR_REQUIRED", "CONNECTED", "RECONNECTING", "DISCONNECTED", "LOGGED_OUT", "ERROR")


class Capacity(StrictSchema):
    max_sessions = fields.Integer(required=True, validate=validate.Range(min=1, max=100_000))


class WorkerRegister(StrictSchema):
    worker_id = f.worker_id()
    version = f.text(64, required=True)
    capacity = fields.Nested(Capacity, required=True)
    environment = fields.String(load_default="development", validate=validate.Length(max=64))
    endpoint = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=256))


class HeldSession(StrictSchema):
    session_id = f.object_id()
    status = fields.String(required=True, validate=validate.OneOf(WORKER_SESSION_STATUSES))


class WorkerHeartbeat(StrictSchema):
    worker_id = f.worker_id()
    sessions = fields.List(fields.Nested(HeldSession), required=True)
    cpu_percent = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100 * 1024))
    memory_mb = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))


class WorkerUnregister(StrictSchema):
    worker_id = f.worker_id()
    reason = fields.String(load_default="shutdown", validate=validate.Length(max=200))


class WorkerSessionQr(StrictSchema):
    worker_id = f.worker_id()
    session_id = f.object_id()
    qr = f.text(4096, required=True)
    expires_at = f.timestamp()


class WorkerSessionStatus(StrictSchema):
    worker_id = f.worker_id()
    session_id = f.object_id()
    status = fields.String(required=True, validate=validate.OneOf(WORKER_SESSION_STATUSES))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))


class WorkerMessageStatus(StrictSchema):
    worker_id = f.worker_id()
    session_id = f.object_id()
    message_id = f.object_id()
    status = fields.String(required=True, validate=validate.OneOf(("sent", "delivered", "read", "failed")))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    at = f.timestamp()


class WorkerInboundMessage(StrictSchema):
    worker_id = f.worker_id()
    session_id = f.object_id()
    wa_message_id = f.text(128, required=True)
    chat = f.text(128, required=True)
    sender = f.text(128, required=True)
    type = fields.String(load_default="text", validate=validate.OneOf(("text",)))
    text = fields.String(required=True, validate=validate.Length(max=65536))
    at = f.timestamp()


class StartSession(StrictSchema):
    session_id = f.object_id()
    restore = fields.Boolean(load_default=False)


class StopSession(StrictSchema):
    session_id = f.object_id()
    logout = fields.Boolean(load_default=False)


class DeliverMessage(StrictSchema):
    session_id = f.object_id()
    message_id = f.object_id()
    to = fields.String(required=True, validate=validate.Length(min=1, max=128))
    type = fields.String(required=True, validate=validate.OneOf(("text",)))
    text = f.text(4096, required=True)


class SelectWorker(StrictSchema):
    session_id = f.object_id()


class SelectedWorker(StrictSchema):
    worker_id = f.worker_id()


class ListWorkers(StrictSchema):
    state = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(f.WORKER_STATES))


class WorkerView(StrictSchema):
    worker_id = f.worker_id()
    version = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(f.WORKER_STATES))
    max_sessions = fields.Integer(required=True)
    session_count = fields.Integer(required=True)
    last_heartbeat_at = fields.AwareDateTime(required=True)


class WorkerList(StrictSchema):
    workers = fields.List(fields.Nested(WorkerView), required=True)


class WorkerStateChanged(StrictSchema):
    worker_id = f.worker_id()
    state = fields.String(required=True, validate=validate.OneOf(f.WORKER_STATES))
    reason = fields.String(load_default=None, allow_none=True)
    session_ids = fields.List(fields.String(), load_default=list)


_WORKER_VIEW = {"worker_id": _WORKER, "version": "1.4.0", "state": "online", "max_sessions": 50,
                "session_count": 12, "last_heartbeat_at": _TIME}

CONTRACTS = [
    Contract("worker.register", Kind.WORKER_UPLINK, WorkerRegister, "A worker announces itself and its capacity",
             {"worker_id": _WORKER, "version": "1.4.0", "capacity": {"max_sessions": 50},
              "environment": "production", "endpoint": None}, tags=("workers",)),
    Contract("worker.heartbeat", Kind.WORKER_UPLINK, WorkerHeartbeat, "Periodic liveness with every held session",
             {"worker_id": _WORKER, "sessions": [{"session_id": _SESSION_ID, "status": "CONNECTED"}],
              "cpu_percent": 12.5, "memory_mb": 310.0}, tags=("workers",)),
    Contract("worker.unregister", Kind.WORKER_UPLINK, WorkerUnregister, "A worker leaves (graceful shutdown)",
             {"worker_id": _WORKER, "reason": "shutdown"}, tags=("workers",)),
    Contract("worker.session.qr", Kind.WORKER_UPLINK, WorkerSessionQr, "A session needs this QR code scanned",
             {"worker_id": _WORKER, "session_id": _SESSION_ID, "qr": "2@AbCdEf==,xyz==,abc==,1",
              "expires_at": "2026-01-01T12:01:00Z"}, tags=("workers",)),
    Contract("worker.session.status", Kind.WORKER_UPLINK, WorkerSessionStatus, "A held session changed state",
             {"worker_id": _WORKER, "session_id": _SESSION_ID, "status": "CONNECTED", "reason": None,
              "phone": "628123456789"}, tags=("workers",)),
    Contract("worker.message.status", Kind.WORKER_UPLINK, WorkerMessageStatus, "An outbound message moved on",
             {"worker_id": _WORKER, "session_id": _SESSION_ID, "message_id": _MESSAGE_ID, "status": "delivered",
              "reason": None, "at": _TIME}, tags=("workers",)),
    Contract("worker.message.inbound", Kind.WORKER_UPLINK, WorkerInboundMessage, "A message arrived at a held session",
             {"worker_id": _WORKER, "session_id": _SESSION_ID, "wa_message_id": "3EB0C767D26A1D0B8E3F",
              "chat": "628123456789@s.whatsapp.net", "sender": "628123456789@s.whatsapp.net", "type": "text",
              "text": "Hi there", "at": _TIME}, tags=("workers",)),
    Contract("worker.session.start", Kind.WORKER_COMMAND, StartSession,
             "Start (or, with restore, resume from stored credentials) a session",
             {"session_id": _SESSION_ID, "restore": False}, tags=("workers",)),
    Contract("worker.session.stop", Kind.WORKER_COMMAND, StopSession, "Stop a session; with logout, unlink the phone",
             {"session_id": _SESSION_ID, "logout": False}, tags=("workers",)),
    Contract("worker.message.send", Kind.WORKER_COMMAND, DeliverMessage, "Send a message through a held session",
             {"session_id": _SESSION_ID, "message_id": _MESSAGE_ID, "to": "628123456789@s.whatsapp.net",
              "type": "text", "text": "Hello"}, tags=("workers",)),
    Contract("worker.select", Kind.QUERY, SelectWorker, "Choose the best worker for a new session",
             {"session_id": _SESSION_ID}, reply=SelectedWorker, reply_example={"worker_id": _WORKER},
             tags=("workers",)),
    Contract("worker.list", Kind.QUERY, ListWorkers, "The fleet, optionally filtered by state",
             {"state": None}, reply=WorkerList, reply_example={"workers": [_WORKER_VIEW]}, tags=("workers",)),
    Contract("worker.online", Kind.EVENT, WorkerStateChanged, "A worker registered or came back",
             {"worker_id": _WORKER, "state": "online", "reason": "registered", "session_ids": []}, tags=("workers",)),
    Contract("worker.offline", Kind.EVENT, WorkerStateChanged, "A worker stopped heartbeating or unregistered",
             {"worker_id": _WORKER, "state": "offline", "reason": "heartbeat timeout",
              "session_ids": [_SESSION_ID]}, tags=("workers",)),
]
