"""Sending (with a session API key) and message history (with an access token)."""

from __future__ import annotations

import re
import secrets

from aiohttp import web
from wagw_common.contracts.messages import ListMessages, SendMessage
from wagw_common.envelope import MalformedMessage
from wagw_common.logging import get_logger

from ..auth import SESSION_KEY, USER, session_key_required, user_required
from ..dependencies import Gateway, gateway_of
from ..errors import ApiError, unavailable
from ..idempotency import Outcome, body_hash
from ..schemas import SendAccepted
from ..validation import invalid, load_body, load_query
from .paths import API, param

log = get_logger(__name__)
routes = web.RouteTableDef()
# The contracts' own schemas, minus what the gateway fills in from the caller's identity.
_SEND = SendMessage(exclude=("tenant_id", "session_id", "message_id"))
_LIST = ListMessages(exclude=("tenant_id", "session_id"))
_ACCEPTED = SendAccepted()
IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


@routes.get(f"{API}/sessions/{param('session_id')}/messages")
@user_required
async def list_messages(request: web.Request) -> web.Response:
    """A session's message history, newest first (`limit`, `before` cursor)."""
    query = load_query(request, _LIST)
    session_id = request.match_info["session_id"]
    reply = await gateway_of(request).rpc.call(
        "message.list", {**query, "tenant_id": request[USER].user_id, "session_id": session_id}, subject=session_id)
    return web.json_response({"messages": reply["messages"], "next_cursor": reply["next_cursor"]})


@routes.get(f"{API}/messages/{param('message_id')}")
@user_required
async def get_message(request: web.Request) -> web.Response:
    """One message with its status timeline."""
    message = await gateway_of(request).rpc.call(
        "message.get", {"tenant_id": request[USER].user_id, "message_id": request.match_info["message_id"]})
    return web.json_response({"message": message})


@routes.post(f"{API}/send")
@session_key_required
async def send(request: web.Request) -> web.Response:
    """Send a message through the key's session: 202 with a message id once the broker has it (`Idempotency-Key` supported)."""
    gw, key = gateway_of(request), request[SESSION_KEY]
    body = await load_body(request, _SEND)
    idempotency_key = _idempotency_key(request)
    message_id = "m_" + secrets.token_hex(8)
    if idempotency_key:
        claim = await gw.idempotency.claim(key.key_id, idempotency_key, body_hash(body), {"message_id": message_id})
        if claim.outcome is Outcome.REPLAY:
            return web.json_response(claim.response["body"], status=claim.response["status"],
                                     headers={"Idempotent-Replayed": "true"})
        if claim.outcome is Outcome.MISMATCH:
            raise ApiError(422, "idempotency_mismatch", f"this {IDEMPOTENCY_HEADER} was used with a different body")
        if claim.outcome is Outcome.BUSY:
            raise ApiError(409, "idempotency_in_progress", f"a request with this {IDEMPOTENCY_HEADER} is in progress",
                           headers={"Retry-After": "1"})
        message_id = claim.reserved["message_id"]
    await _queue(gw, key, idempotency_key, {**body, "tenant_id": key.tenant_id, "session_id": key.session_id,
                                            "message_id": message_id})
    accepted = _ACCEPTED.dump({"message_id": message_id, "status": "queued"})
    if idempotency_key:
        try:
            await gw.idempotency.complete(key.key_id, idempotency_key, 202, accepted)
        except Exception as exc:  # the message is queued; a retry resumes with the same message id
            log.warning("send.idempotency_record_failed", error=repr(exc))
    gw.api_keys.touch_soon(key.key_id)
    return web.json_response(accepted, status=202)


async def _queue(gw: Gateway, key, idempotency_key: str | None, command: dict) -> None:
    """Answer only once the broker confirmed the command (no request/reply on this path)."""
    try:
        await gw.commands.send_command("message.send", command, subject=key.session_id)
    except MalformedMessage:
        raise
    except Exception as exc:
        log.warning("send.publish_failed", message_id=command["message_id"], error=repr(exc))
        if idempotency_key:
            try:
                await gw.idempotency.release(key.key_id, idempotency_key)
            except Exception as release_exc:  # the claim goes stale and a retry resumes it
                log.warning("send.idempotency_release_failed", error=repr(release_exc))
        raise unavailable("the message could not be queued; retry later") from None
    log.info("send.queued", message_id=command["message_id"], session_id=key.session_id)


def _idempotency_key(request: web.Request) -> str | None:
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.match(value):
        raise invalid({IDEMPOTENCY_HEADER: ["must be 1 to 255 printable ASCII characters without spaces"]})
    return value
