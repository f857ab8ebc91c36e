"""The control API: tests and people play the phone here (scan a QR, enter a pairing code, write to the
session, drop it)."""

from __future__ import annotations

import re

from aio_pika.exceptions import PublishError
from aiohttp import web
from marshmallow import ValidationError, fields, validate
from wagw_common.broker import TRANSIENT_ERRORS
from wagw_common.contracts import StrictSchema
from wagw_common.contracts.received import ReceivedContent
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.http import BadRequest, correlation_middleware, error_middleware, error_response, read_json
from wagw_worker_sdk import MediaStorage, Worker
from wagw_worker_sdk.routes import PROTOCOL, add_worker_routes

from .media_control import add_media_routes
from .session_state import NotHeld, WrongState
from .whatsapp import SimulatedWhatsApp

WHATSAPP = web.AppKey("whatsapp", SimulatedWhatsApp)
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_WA_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class InboundBody(ReceivedContent):
    """What the contact writes: any message type, checked as the protocol checks it."""

    chat = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=128))
    sender = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=128))


class EditBody(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=65536))


class PairingCodeBody(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=8, max=9))


@web.middleware
async def mapped_errors(request: web.Request, handler):
    """Expected refusals become the platform's error envelope; an uplink that cannot be delivered
    (broker away, or nobody bound to that message type yet) is a 503."""
    try:
        return await handler(request)
    except NotHeld:
        return error_response(404, "not_found", "this worker holds no such session")
    except WrongState as exc:
        return error_response(409, "conflict", str(exc))
    except BadRequest as exc:
        return error_response(400, "invalid", exc.message, exc.details)
    except ValidationError as exc:
        return error_response(400, "invalid", "the request body is not valid", exc.messages)
    except PublishError as exc:
        return error_response(503, "unavailable", "no platform service consumes this message yet", repr(exc))
    except TRANSIENT_ERRORS as exc:
        return error_response(503, "unavailable", "the broker cannot be reached", repr(exc))


def _wa_message_id(request: web.Request) -> str:
    wa_message_id = request.match_info["wa_message_id"]
    if not _WA_MESSAGE_ID.match(wa_message_id):
        raise BadRequest("not a WhatsApp message id", {"wa_message_id": wa_message_id})
    return wa_message_id


def _session_id(request: web.Request) -> str:
    session_id = request.match_info["session_id"]
    if not _SESSION_ID.match(session_id):
        raise NotHeld(session_id)
    return session_id


async def list_sessions(request: web.Request) -> web.Response:
    return web.json_response({"worker_id": request.app[PROTOCOL].worker_id,
                              "sessions": request.app[WHATSAPP].snapshot()})


async def scan(request: web.Request) -> web.Response:
    session = await request.app[WHATSAPP].scan(_session_id(request))
    return web.json_response(session.view())


async def enter_code(request: web.Request) -> web.Response:
    session_id = _session_id(request)
    body = PairingCodeBody().load(await read_json(request))
    session = await request.app[WHATSAPP].enter_code(session_id, body["code"])
    return web.json_response(session.view())


async def inbound(request: web.Request) -> web.Response:
    session_id = _session_id(request)
    body = InboundBody().load(await read_json(request))
    content = {name: value for name, value in body.items() if value is not None}
    wa_message_id = await request.app[WHATSAPP].receive(session_id, **{"text": None, **content})
    return web.json_response({"session_id": session_id, "wa_message_id": wa_message_id}, status=202)


async def edit_inbound(request: web.Request) -> web.Response:
    session_id, wa_message_id = _session_id(request), _wa_message_id(request)
    body = EditBody().load(await read_json(request))
    await request.app[WHATSAPP].edit_received(session_id, wa_message_id, body["text"])
    return web.json_response({"session_id": session_id, "wa_message_id": wa_message_id}, status=202)


async def delete_inbound(request: web.Request) -> web.Response:
    session_id, wa_message_id = _session_id(request), _wa_message_id(request)
    await request.app[WHATSAPP].delete_received(session_id, wa_message_id)
    return web.json_response({"session_id": session_id, "wa_message_id": wa_message_id}, status=202)


async def disconnect(request: web.Request) -> web.Response:
    session_id = _session_id(request)
    await request.app[WHATSAPP].drop(session_id)
    return web.json_response({"session_id": session_id, "status": SessionStatus.DISCONNECTED})


def create_control_app(whatsapp: SimulatedWhatsApp, protocol: Worker,
                       media: MediaStorage | None = None) -> web.Application:
    """`media`: where received files go; without it the control API cannot send files."""
    # A sent file is its bytes: the body may be as large as the store takes (413 above it, said clearly).
    body_limit = max(256 * 1024, media.max_bytes + 1) if media is not None else 256 * 1024
    app = web.Application(middlewares=[correlation_middleware, error_middleware, mapped_errors],
                          client_max_size=body_limit)
    app[WHATSAPP] = whatsapp
    add_worker_routes(app, protocol)
    app.router.add_get("/sessions", list_sessions)
    app.router.add_post("/sessions/{session_id}/scan", scan)
    app.router.add_post("/sessions/{session_id}/pairing-code", enter_code)
    app.router.add_post("/sessions/{session_id}/inbound", inbound)
    app.router.add_post("/sessions/{session_id}/inbound/{wa_message_id}/edit", edit_inbound)
    app.router.add_post("/sessions/{session_id}/inbound/{wa_message_id}/delete", delete_inbound)
    app.router.add_post("/sessions/{session_id}/disconnect", disconnect)
    if media is not None:
        add_media_routes(app, media, whatsapp, _session_id)
    return app
