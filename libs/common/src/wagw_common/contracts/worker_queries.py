"""Questions a session's worker answers (request/reply): does a number use WhatsApp, a contact's
profile, the session's own profile, its groups, and the group changes (create, participants, invite
link, leave). The platform asks with `worker.session.query`; the worker answers on the uplink exchange
with `worker.session.query.reply`, routing key the request's AMQP `reply_to` (it names the asker).

Each query is declared once here: its arguments and its result. The asker validates the result; a
worker without a handler for a query answers `not_supported`."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from . import fields as f
from .base import Contract, Kind, StrictSchema

_SESSION_ID = "s_8f14e45fceea167a"
_GROUP = "120363025246125486@g.us"
_CONTACT = "628123456789@s.whatsapp.net"
REPLY_TYPE = "worker.session.query.reply"
# Why a worker refuses a query (the `error.code` of a reply).
QUERY_ERRORS = ("not_supported", "not_found", "forbidden", "invalid", "failed")
PARTICIPANT_ACTIONS = ("add", "remove", "promote", "demote")


def _jids(maximum: int) -> fields.List[str]:
    return fields.List(f.chat_id(), required=True, validate=validate.Length(min=1, max=maximum))


class NoArgs(StrictSchema):
    pass


class CheckNumberArgs(StrictSchema):
    phone = fields.String(required=True, validate=validate.Regexp(r"^\+?[0-9]{6,15}$",
                                                                  error="must be an international number"))


class NumberCheck(Schema):
    phone = fields.String(required=True)
    exists = fields.Boolean(required=True)
    jid = fields.String(allow_none=True, required=True)


class ContactArgs(StrictSchema):
    contact = f.chat_id()


class Profile(Schema):
    jid = fields.String(required=True)
    name = fields.String(allow_none=True, required=True, validate=validate.Length(max=256))
    about = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=1024))
    picture_url = fields.Url(allow_none=True, required=True, schemes=("https", "http"))


class GroupArgs(StrictSchema):
    group = f.chat_id()


class Participant(Schema):
    jid = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(("member", "admin", "superadmin")))


class Group(Schema):
    jid = fields.String(required=True)
    subject = fields.String(required=True, validate=validate.Length(max=256))
    participants = fields.List(fields.Nested(Participant), required=True)


class GroupList(Schema):
    groups = fields.List(fields.Nested(Group), required=True)


class CreateGroupArgs(StrictSchema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=100))
    participants = _jids(256)


class ParticipantsArgs(StrictSchema):
    group = f.chat_id()
    action = fields.String(required=True, validate=validate.OneOf(PARTICIPANT_ACTIONS))
    participants = _jids(256)


class ParticipantOutcome(Schema):
    jid = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("done", "not_found", "forbidden", "unchanged")))


class ParticipantsChanged(Schema):
    group = fields.String(required=True)
    action = fields.String(required=True, validate=validate.OneOf(PARTICIPANT_ACTIONS))
    participants = fields.List(fields.Nested(ParticipantOutcome), required=True)


class InviteLink(Schema):
    group = fields.String(required=True)
    invite_link = fields.Url(required=True, schemes=("https",))


class GroupLeft(Schema):
    group = fields.String(required=True)
    left = fields.Boolean(required=True)


@dataclass(frozen=True)
class WorkerQuery:
    """`handler`: the optional method of the worker SDK's handler that answers it (`handler(session_id, **args)`)."""

    name: str
    args: type[Schema]
    result: type[Schema]
    handler: str


QUERIES: dict[str, WorkerQuery] = {q.name: q for q in (
    WorkerQuery("check_number", CheckNumberArgs, NumberCheck, "check_number"),
    WorkerQuery("contact_profile", ContactArgs, Profile, "contact_profile"),
    WorkerQuery("own_profile", NoArgs, Profile, "own_profile"),
    WorkerQuery("groups", NoArgs, GroupList, "list_groups"),
    WorkerQuery("group_create", CreateGroupArgs, Group, "create_group"),
    WorkerQuery("group_participants", ParticipantsArgs, ParticipantsChanged, "change_group_participants"),
    WorkerQuery("group_invite", GroupArgs, InviteLink, "group_invite_link"),
    WorkerQuery("group_leave", GroupArgs, GroupLeft, "leave_group"),
)}


class SessionQuery(StrictSchema):
    session_id = f.object_id()
    query = fields.String(required=True, validate=validate.OneOf(tuple(QUERIES)))
    # Checked against the query's own arguments schema by both sides (see `QUERIES`).
    args = fields.Dict(keys=fields.String(), load_default=dict)


class QueryError(StrictSchema):
    code = fields.String(required=True, validate=validate.OneOf(QUERY_ERRORS))
    message = fields.String(required=True, validate=validate.Length(max=500))


class SessionQueryReply(StrictSchema):
    worker_id = f.worker_id()
    session_id = f.object_id()
    query = fields.String(required=True, validate=validate.OneOf(tuple(QUERIES)))
    # One of the two: the query's result (checked by the asker against its schema), or why not.
    result = fields.Dict(keys=fields.String(), load_default=None, allow_none=True)
    error = fields.Nested(QueryError, load_default=None, allow_none=True)


CONTRACTS = [
    Contract("worker.session.query", Kind.WORKER_COMMAND, SessionQuery,
             "A question for a held session, answered at once with `worker.session.query.reply` published to "
             "the uplink exchange with the AMQP `reply_to` as routing key and the request's id as "
             "`correlation_id`. Queries: " + ", ".join(f"`{name}`" for name in QUERIES) + " (arguments and "
             "results: docs/workers.md); one the worker cannot answer gets the error `not_supported`",
             {"session_id": _SESSION_ID, "query": "group_participants",
              "args": {"group": _GROUP, "action": "add", "participants": [_CONTACT]}}, tags=("workers",)),
    Contract(REPLY_TYPE, Kind.WORKER_UPLINK, SessionQueryReply,
             "The answer to a `worker.session.query`: its `result`, or an `error` (`code` one of "
             + ", ".join(f"`{code}`" for code in QUERY_ERRORS) + ")",
             {"worker_id": "worker-1", "session_id": _SESSION_ID, "query": "group_invite",
              "result": {"group": _GROUP, "invite_link": "https://chat.whatsapp.com/Fk3H9aQ2xYb"}, "error": None},
             tags=("workers",)),
]
