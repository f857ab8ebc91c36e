"""Sending and message history. `POST /send` is the thin path for a key bound to one session: no
request/reply, 202 once the broker confirmed the command. `POST /sessions/{id}/messages` sends
through a named session (after checking it is the caller's)."""

from __future__ import annotations

import secrets

from aiohttp import web
from wagw_common import session_status, topology
from wagw_common.contracts.messages import ListMessages, MessageList, MessageView, SendMessage
from wagw_common.envelope import MalformedMessage
from wagw_common.http import note_in_request_log
from wagw_common.logging import get_logger

from ..admitted_send import admitted_at_once
from ..apidoc import api_doc
from ..auth import admit_send, authenticated
from ..callers import CALLER
from ..deps import gateway_of
from ..errors import ApiError, not_found, unavailable
from ..idempotent import IDEMPOTENCY_HEADER, abandon, idempotency_key, release, request_digest, settle
from ..schemas import SendAccepted
from ..send_reads import session_status_read
from ..send_refusals import not_bound_to_one_session, refusal_for_status
from ..validation import load_body, load_query
from .paths import API, param
from .sessions import SESSION, fetch_session

log = get_logger(__name__)
routes = web.RouteTableDef()
# The contracts' own schemas, minus what the gateway fills in from the caller's identity.
SEND_BODY = SendMessage(exclude=("tenant_id", "session_id", "message_id"))
_LIST = ListMessages(exclude=("tenant_id", "session_id"))
_ACCEPTED = SendAccepted()
TAGS = ("messages",)


def new_message_id() -> str:
    return "m_" + secrets.token_hex(8)


async def _refuse_if_session_cannot_send(request: web.Request, session_id: str, body: dict) -> None:
    already_read, status = session_status_read(request, session_id)
    if not already_read:
        status = await session_status.read(gateway_of(request).redis, session_id)
    refusal = refusal_for_status(status, bool(body.get("queue")))
    if refusal is not None:
        raise refusal


async def queue_message(request: web.Request, session_id: str, body: dict) -> web.Response:
    """Idempotency first (a replay costs no send budget), then the rate limits, then the broker."""
    gw, caller = gateway_of(request), request[CALLER]
    key, scope = idempotency_key(request), caller.idempotency_scope
    message_id = new_message_id()
    if key:
        claim = await gw.idempotency.claim(scope, key, request_digest(request, body), {"message_id": message_id})
        settled = settle(claim)
        if settled is not None:
            return settled
        message_id = claim.reservation["message_id"]  # an attempt that died half-way is resumed with its id
    try:
        await _refuse_if_session_cannot_send(request, session_id, body)
        day = await admit_send(request)
    except ApiError:
        if key:
            await release(request, scope, key)
        raise
    return await publish_admitted(request, session_id, body, day, message_id=message_id,
                                  idempotent=(scope, key) if key else None)


async def publish_admitted(request: web.Request, session_id: str, body: dict, day: str, *,
                           message_id: str | None = None, idempotent: tuple[str, str] | None = None) -> web.Response:
    """The command on the broker (confirmed), then 202. `day`: the day the send was counted on (taken
    back if the broker refuses it); `idempotent`: the caller's (scope, Idempotency-Key) that reserved
    `message_id`, to record the answer under."""
    gw, caller = gateway_of(request), request[CALLER]
    message_id = message_id or new_message_id()
    command = {**body, "tenant_id": caller.tenant_id, "session_id": session_id, "message_id": message_id}
    try:
        # `body` came out of the contract's own schema (`SEND_BODY`), the ids are the gateway's own: validating
        # the command again would repeat that load (the orchestrator validates what it consumes anyway).
        await gw.broker.send_command("message.send", command, subject=session_id,
                                     routing_key=topology.send_routing_key(session_id), loaded=True)
    except MalformedMessage:
        raise
    except Exception as exc:
        log.warning("send.publish_failed", message_id=message_id, error=repr(exc))
        await gw.usage.uncount(caller.tenant_id, day)
        if idempotent:
            # Not released: a publish whose confirm was lost may have reached the broker, so a retry
            # must send the same message id (the orchestrator stores an id once), not a new one.
            await abandon(request, *idempotent)
        raise unavailable("the message could not be queued; retry later") from None
    gw.usage.counted(caller.tenant_id, day)
    note_in_request_log(request, message_id=message_id, session_id=session_id)
    accepted = _ACCEPTED.dump({"message_id": message_id, "status": "queued"})
    if idempotent:
        try:
            await gw.idempotency.complete(*idempotent, 202, accepted)
        except Exception as exc:  # the message is queued; a retry resumes with the same message id
            log.warning("send.idempotency_record_failed", error=repr(exc))
    return web.json_response(accepted, status=202)


@routes.get(f"{SESSION}/messages")
@api_doc(tags=TAGS, query=_LIST, responses={200: MessageList})
@authenticated(scope="messages:read")
async def list_messages(request: web.Request) -> web.Response:
    """A session's message history, newest first (`limit`, `before` cursor; `direction`, `status`, `chat`, `since`,
    `until`)."""
    caller, session_id = request[CALLER], request.match_info["session_id"]
    if not caller.may_act_on(session_id):
        raise not_found("session")
    query = load_query(request, _LIST)
    reply = await gateway_of(request).rpc.call(
        "message.list", {**query, "tenant_id": caller.tenant_id, "session_id": session_id}, subject=session_id)
    return web.json_response({"messages": reply["messages"], "next_cursor": reply["next_cursor"]})


@routes.get(f"{API}/messages/{param('message_id')}")
@api_doc(tags=TAGS, responses={200: {"message": MessageView}})
@authenticated(scope="messages:read")
async def get_message(request: web.Request) -> web.Response:
    """One message with its status timeline."""
    caller = request[CALLER]
    message = await gateway_of(request).rpc.call(
        "message.get", {"tenant_id": caller.tenant_id, "message_id": request.match_info["message_id"]})
    if not caller.may_act_on(message.get("session_id", "")):
        raise not_found("message")
    return web.json_response({"message": message})


@routes.post(f"{API}/send")
@api_doc(tags=TAGS, body=SEND_BODY, responses={202: SendAccepted}, errors=(409,),
         headers={IDEMPOTENCY_HEADER: "makes a retried send a no-op (kept 24 hours)"})
@admitted_at_once(SEND_BODY, publish_admitted)  # the common case, in one Redis round trip
@authenticated(scope="messages:send", users=False, send=True)
async def send(request: web.Request) -> web.Response:
    """Send a message through the key's session: 202 with a message id once the broker has it (`Idempotency-Key`
    supported); 409 if the session is not CONNECTED or RECONNECTING, unless `queue` is true."""
    session_id = request[CALLER].session_restriction
    if session_id is None:
        raise not_bound_to_one_session()
    return await queue_message(request, session_id, await load_body(request, SEND_BODY))


@routes.post(f"{SESSION}/messages")
@api_doc(tags=TAGS, body=SEND_BODY, responses={202: SendAccepted}, errors=(409,),
         headers={IDEMPOTENCY_HEADER: "makes a retried send a no-op (kept 24 hours)"})
@authenticated(scope="messages:send", send=True)
async def send_through_session(request: web.Request) -> web.Response:
    """Send a message through one of the caller's sessions: 202 with a message id once the broker has it; 409 as for
    /send."""
    caller, session_id = request[CALLER], request.match_info["session_id"]
    body = await load_body(request, SEND_BODY)
    if caller.session_restriction != session_id:
        await fetch_session(request, session_id)  # one of the caller's own, or 404
    return await queue_message(request, session_id, body)
