"""The worker protocol: what a worker publishes (uplink) and what it consumes (its command queue),
and the identity rule the platform holds every worker message to.

A worker publishes to the uplink exchange with the message type as routing key, and consumes its
own command queue, bound to the downlink exchange with its worker id. The registry's queries and
fleet events are in `fleet`."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from . import fields as f
from .base import Contract, Kind, SchemaClass, StrictSchema
from .messages import MESSAGE_TYPES, ContactCard, Location, Media, Poll, Reaction
from .received import ReceivedContent
# Re-exported: readers of the worker protocol find them here too.
from .session_statuses import BREAKDOWN_BUCKETS as BREAKDOWN_BUCKETS
from .session_statuses import WORKER_SESSION_STATUSES as WORKER_SESSION_STATUSES

_WORKER = "worker-1"
_SESSION_ID = "s_8f14e45fceea167a"
_MESSAGE_ID = "m_45c48cce2e2d7fbd"
_TIME = "2026-01-01T12:00:00Z"
DEFAULT_HEARTBEAT_INTERVAL = 10.0
# Why a worker hands a send back unsent (`worker.message.bounced`): until the registry has answered its
# latest registration, what waits in its queue may be older than a move of the session elsewhere.
BOUNCE_REASONS = ("starting", "reconnected", "paused", "unknown_to_registry")


# ---- identity: who may speak for a worker --------------------------------------------------------

def broker_user_for(worker_id: str) -> str:
    """The RabbitMQ user a worker's own credentials carry (`scripts`/ops create it, see docs/workers.md)."""
    return f"worker.{worker_id}"


def worker_of_user(user_id: str | None) -> str | None:
    """The worker whose own broker user this is (the inverse of `broker_user_for`); None for any other user."""
    prefix = broker_user_for("")
    return (user_id[len(prefix):] or None) if user_id and user_id.startswith(prefix) else None


def source_for(worker_id: str) -> str:
    """The envelope `source` of everything a worker publishes."""
    return f"worker/{worker_id}"


def may_speak_for(worker_id: str, *, user_id: str | None, source: str, trusted_users: frozenset[str]) -> bool:
    """A worker message is accepted only from the worker itself: its AMQP `user_id` (which RabbitMQ
    checks against the connection's user) is the worker's own broker user, or a platform user trusted
    to speak for any worker (a local simulator, the load generator); and its `source` names the worker."""
    if user_id is None or source != source_for(worker_id):
        return False
    return user_id == broker_user_for(worker_id) or user_id in trusted_users


# ---- what a worker publishes -----------------------------------------------------------------------

class Capacity(StrictSchema):
    max_sessions = fields.Integer(required=True, validate=validate.Range(min=1, max=100_000))
    # Optional: they let the registry read cpu_percent and memory_mb as a share of what the worker has.
    cpu_cores = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0.1, max=1024))
    memory_limit_mb = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=1))


class WorkerRegister(StrictSchema):
    worker_id = f.worker_id()
    version = f.text(64, required=True)
    capacity = fields.Nested(Capacity, required=True)
    environment = fields.String(load_default="development", validate=validate.Length(max=64))
    endpoint = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=256))
    # The registry declares the worker offline after a few of these intervals without a heartbeat.
    heartbeat_interval_seconds = fields.Float(load_default=DEFAULT_HEARTBEAT_INTERVAL,
                                              validate=validate.Range(min=0.1, max=3600))


class HeldSession(StrictSchema):
    session_id = f.object_id()
    status = fields.String(required=True, validate=validate.OneOf(WORKER_SESSION_STATUSES))


class WorkerHeartbeat(StrictSchema):
    worker_id = f.worker_id()
    sessions = fields.List(fields.Nested(HeldSession), required=True, validate=validate.Length(max=100_000))
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


class WorkerSessionPairingCode(StrictSchema):
    worker_id = f.worker_id()
    session_id = f.object_id()
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9]{4}-?[A-Z0-9]{4}$"))
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
    # WhatsApp's id of the sent message (with `sent`): replies, reactions and poll votes name it.
    wa_message_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=128))


class WorkerMessageBounced(StrictSchema):
    worker_id = f.worker_id()
    session_id = f.object_id()
    message_id = f.object_id()
    reason = fields.String(required=True, validate=validate.OneOf(BOUNCE_REASONS))


class WorkerInboundMessage(ReceivedContent):
    """Any message type, its parts checked against its type (see `received.ReceivedContent`)."""

    worker_id = f.worker_id()
    session_id = f.object_id()
    wa_message_id = f.text(128, required=True)
    chat = f.text(128, required=True)
    sender = f.text(128, required=True)
    at = f.timestamp()


# ---- what a worker consumes ------------------------------------------------------------------------

class StartSession(StrictSchema):
    session_id = f.object_id()
    restore = fields.Boolean(load_default=False)
    # Link by pairing code for this phone (international digits) instead of a QR code.
    pairing_phone = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Regexp(r"^\+?[0-9]{6,15}$",
                                                           error="must be an international number"))


class StopSession(StrictSchema):
    session_id = f.object_id()
    logout = fields.Boolean(load_default=False)


class DeliverMessage(StrictSchema):
    session_id = f.object_id()
    message_id = f.object_id()
    to = fields.String(required=True, validate=validate.Length(min=1, max=128))
    type = fields.String(required=True, validate=validate.OneOf(MESSAGE_TYPES))
    text = fields.String(load_default="", validate=validate.Length(max=4096))  # a media message's caption
    # The part each type needs (see `messages.MessageContent`): media by URL, a location, a contact card,
    # a reaction (to one of this session's messages); and the message a reply quotes.
    media = fields.Nested(Media, load_default=None, allow_none=True)
    location = fields.Nested(Location, load_default=None, allow_none=True)
    contact = fields.Nested(ContactCard, load_default=None, allow_none=True)
    reaction = fields.Nested(Reaction, load_default=None, allow_none=True)
    # absent unless a poll: an older worker refuses a field it does not know
    poll = fields.Nested(Poll, allow_none=True)
    reply_to = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    # The WhatsApp id of the message a reply or a reaction is about, when the platform knows it (inbound).
    quoted_wa_message_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    # Routed again after this worker bounced it: the platform chose this worker knowing where the session
    # is now, so it is sent even before the registry's answer.
    rerouted = fields.Boolean(load_default=False)


class AssignedSession(StrictSchema):
    session_id = f.object_id()
    # What the registry's knowledge is based on: a stop for this session sent later than this wins.
    as_of = f.timestamp()


class SessionsAssigned(StrictSchema):
    reason = fields.String(required=True, validate=validate.OneOf(("registered",)))
    sessions = fields.List(fields.Nested(AssignedSession), required=True)


class HeartbeatRequest(StrictSchema):
    reason = fields.String(load_default="health check", validate=validate.Length(max=200))


class RegisterRequest(StrictSchema):
    reason = fields.String(load_default="unknown worker", validate=validate.Length(max=200))


def _uplink(message_type: str, schema: SchemaClass, summary: str, example: dict[str, Any]) -> Contract:
    return Contract(message_type, Kind.WORKER_UPLINK, schema, summary, {"worker_id": _WORKER, **example},
                    tags=("workers",))


def _command(message_type: str, schema: SchemaClass, summary: str, example: dict[str, Any]) -> Contract:
    return Contract(message_type, Kind.WORKER_COMMAND, schema, summary, example, tags=("workers",))


CONTRACTS = [
    _uplink("worker.register", WorkerRegister,
            "A worker announces itself and its capacity; sent at start and after every broker reconnect",
            {"version": "1.4.0", "capacity": {"max_sessions": 50, "cpu_cores": 2, "memory_limit_mb": 2048},
             "environment": "production", "endpoint": "http://10.0.3.7:8090", "heartbeat_interval_seconds": 10}),
    _uplink("worker.heartbeat", WorkerHeartbeat,
            "Periodic liveness with every held session's status and the worker's CPU and memory use",
            {"sessions": [{"session_id": _SESSION_ID, "status": "CONNECTED"}], "cpu_percent": 12.5,
             "memory_mb": 310.0}),
    _uplink("worker.unregister", WorkerUnregister, "A worker leaves (graceful shutdown); its sessions are moved",
            {"reason": "shutdown"}),
    _uplink("worker.session.qr", WorkerSessionQr, "A session needs this QR code scanned",
            {"session_id": _SESSION_ID, "qr": "2@AbCdEf==,xyz==,abc==,1", "expires_at": "2026-01-01T12:01:00Z"}),
    _uplink("worker.session.pairing_code", WorkerSessionPairingCode,
            "A session started with a pairing phone shows this code, to be entered on that phone",
            {"session_id": _SESSION_ID, "code": "K7QD-2MXP", "expires_at": "2026-01-01T12:03:00Z"}),
    _uplink("worker.session.status", WorkerSessionStatus, "A held session changed state",
            {"session_id": _SESSION_ID, "status": "CONNECTED", "reason": None, "phone": "628123456789"}),
    _uplink("worker.message.status", WorkerMessageStatus, "An outbound message moved on",
            {"session_id": _SESSION_ID, "message_id": _MESSAGE_ID, "status": "delivered", "reason": None, "at": _TIME}),
    _uplink("worker.message.bounced", WorkerMessageBounced,
            "A send handed back unsent: it waited in the queue of a worker unsure its session is still its own "
            "(after a reconnect, a pause, a restart, until the registry answers its registration); the "
            "platform routes it again to the session's worker now",
            {"session_id": _SESSION_ID, "message_id": _MESSAGE_ID, "reason": "reconnected"}),
    _uplink("worker.message.inbound", WorkerInboundMessage,
            "A message arrived at a held session: text, or media described (never its bytes: the worker first "
            "stores the file in the media store at `inbound/<session_id>/<sha256>`, docs/workers.md), a location, "
            "a contact, a reaction; a reply names the quoted message's WhatsApp id",
            {"session_id": _SESSION_ID, "wa_message_id": "3EB0C767D26A1D0B8E3F",
             "chat": "628123456789@s.whatsapp.net", "sender": "628123456789@s.whatsapp.net", "type": "audio",
             "text": None, "media": {"mimetype": "audio/ogg; codecs=opus", "size": 5120, "filename": None, "ptt": True,
                                     "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"},
             "reply_to_wa_message_id": "3EB0A1B2C3D4E5F60718", "at": _TIME}),
    _command("worker.session.start", StartSession,
             "Start a session (a QR follows, or a pairing code with `pairing_phone`); with restore, resume it "
             "from stored credentials",
             {"session_id": _SESSION_ID, "restore": False, "pairing_phone": None}),
    _command("worker.session.stop", StopSession, "Stop a session; with logout, unlink the phone",
             {"session_id": _SESSION_ID, "logout": False}),
    _command("worker.message.send", DeliverMessage, "Send a message through a held session",
             {"session_id": _SESSION_ID, "message_id": _MESSAGE_ID, "to": "628123456789@s.whatsapp.net",
              "type": "text", "text": "Hello"}),
    _command("worker.sessions.assigned", SessionsAssigned,
             "The registry's answer to a registration: the sessions this worker should hold; restore each one "
             "not held yet (start with restore), unless a stop for it arrived that is newer than `as_of`",
             {"reason": "registered", "sessions": [{"session_id": _SESSION_ID, "as_of": _TIME}]}),
    _command("worker.heartbeat.request", HeartbeatRequest, "Send a heartbeat now (an administrator's health check)",
             {"reason": "health check"}),
    _command("worker.register.request", RegisterRequest,
             "Register again: the registry does not know this worker (its record was removed, or lost)",
             {"reason": "unknown worker"}),
]
