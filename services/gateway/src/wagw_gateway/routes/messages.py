"""Sending and message history. `POST /send` is the thin path for a key bound to one session: no
request/reply, 202 once the broker confirmed the command. `POST /sessions/{id}/messages` sends
through a named session (after checking it is the caller's)."""

from __future__ import annotations

import secrets

from aiohttp import web
from wagw_common import session_status, topology
from wagw_common.contracts.messages import ListMessages, MessageList, MessageView, SendMessage
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import MalformedMessage
from wagw_common.logging import get_logger

from ..apidoc import api_doc
from ..auth import admit_send, authenticated
from ..callers import CALLER
from ..deps import gateway_of
from ..errors import ApiError, not_found, unavailable
from ..idempotent import IDEMPOTENCY_HEADER, abandon, idempotency_key, release, request_digest, settle
from ..schemas import SendAccepted
from ..send_reads import session_status_read
from ..validation import load_body, load_query
from .paths import API, param
from .sessions import SESSION, fetch_session

log = get_logger(__name__)
routes = web.RouteTableDef()
# The contracts' own schemas, minus what the gateway fills in from the caller's identity.
_SEND = SendMessage(exclude=("tenant_id", "session_id", "message_id"))
_LIST = ListMessages(exclude=("tenant_id", "session_id"))
_ACCEPTED = SendAccepted()
TAGS = ("messages",)


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
@api_doc(tags=TAGS, body=_SEND, responses={202: SendAccepted}, errors=(409,),
         headers={IDEMPOTENCY_HEADER: "makes a retried send a no-op (kept 24 hours)"})
@authenticated(scope="messages:send", users=False, send=True)
async def send(request: web.Request) -> web.Response:
    """Send a message through the key's session: 202 with a message id once the broker has it (`Idempotency-Key`
    supported); 409 if the session is not CONNECTED or RECONNECTING, unless `queue` is true."""
    session_id = request[CALLER].session_restriction
    if session_id is None:
        raise ApiError(403, "forbidden", "this key is not bound to one session: send with "
                                         "POST /api/v1/sessions/{session_id}/messages instead")
    return await queue_message(request, session_id, await load_body(request, _SEND))


@routes.post(f"{SESSION}/messages")
@api_doc(tags=TAGS, body=_SEND, responses={202: SendAccepted}, errors=(409,),
         headers={IDEMPOTENCY_HEADER: "makes a retried send a no-op (kept 24 hours)"})
@authenticated(scope="messages:send", send=True)
async def send_through_session(request: web.Request) -> web.Response:
    """Send a message through one of the caller's sessions: 202 with a message id once the broker has it; 409 as for
    /send."""
    caller, session_id = request[CALLER], request.match_info["session_id"]
    body = await load_body(request, _SEND)
    if caller.session_restriction != session_id:
        await fetch_session(request, session_id)  # one of the caller's own, or 404
    return await queue_message(request, session_id, body)


async def _refuse_if_session_cannot_send(request: web.Request, session_id: str, body: dict) -> None:
    """409 `session_not_connected` at once when the session's cached status (kept by the orchestrator)
    says it cannot take a send: only CONNECTED and RECONNECTING (moving between workers: held and
    sent once it is back) take one, unless the request asks to be queued (`queue: true`). An unknown
    status lets the send through: the orchestrator decides (and fails it with the same reason)."""
    already_read, status = session_status_read(request, session_id)
    if not already_read:
        status = await session_status.read(gateway_of(request).redis, session_id)
    if status is None or status in session_status.ACCEPTS_SENDS:
        return
    if status == SessionStatus.DELETED:
        raise not_found("session")
    if not body.get("queue"):
        raise ApiError(409, "session_not_connected",
                       f"the session is {status}, not connected; send with \"queue\": true to hold the message "
                       "until it is", {"status": status, "accepted_from": sorted(session_status.ACCEPTS_SENDS)})


async def queue_message(request: web.Request, session_id: str, body: dict) -> web.Response:
    """Idempotency first (a replay costs no send budget), then the rate limits, then the broker."""
    gw, caller = gateway_of(request), request[CALLER]
    key, scope = idempotency_key(request), caller.idempotency_scope
    message_id = "m_" + secrets.token_hex(8)
    if key:
        claim = await gw.idempotency.claim(scope, key, request_digest(request, body), {"message_id": message_id})
        settled = settle(claim)
        if settled is not None:
            return settled
        message_id = claim.reserved["message_id"]  # an attempt that died half-way is resumed with its id
    try:
        await _refuse_if_session_cannot_send(request, session_id, body)
        day = await admit_send(request)
    except ApiError:
        if key:
            await release(request, scope, key)
        raise
    command = {**body, "tenant_id": caller.tenant_id, "session_id": session_id, "message_id": message_id}
    try:
        await gw.broker.send_command("message.send", command, subject=session_id,
                                       routing_key=topology.send_routing_key(session_id))
    except MalformedMessage:
        raise
    except Exception as exc:
        log.warning("send.publish_failed", message_id=message_id, error=repr(exc))
        await gw.usage.uncount(caller.tenant_id, day)
        if key:
            # Not released: a publish whose confirm was lost may have reached the broker, so a retry
            # must send the same message id (the orchestrator stores an id once), not a new one.
            await abandon(request, scope, key)
        raise unavailable("the message could not be queued; retry later") from None
    gw.usage.counted(caller.tenant_id, day)
    log.info("send.queued", message_id=message_id, session_id=session_id)
    accepted = _ACCEPTED.dump({"message_id": message_id, "status": "queued"})
    if key:
        try:
            await gw.idempotency.complete(scope, key, 202, accepted)
        except Exception as exc:  # the message is queued; a retry resumes with the same message id
            log.warning("send.idempotency_record_failed", error=repr(exc))
    return web.json_response(accepted, status=202)
