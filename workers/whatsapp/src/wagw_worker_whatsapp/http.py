"""The worker's small HTTP server: `/healthz` and `/readyz` like every worker's, and, when the client is
the fake, the phone's part under `/fake/sessions/{id}/...` (scan the QR, enter the pairing code, write
a message of any type, edit or delete it, see what the contact's phone shows, unlink the device), for
tests and demos without a phone. Errors in the platform's envelope."""

from __future__ import annotations

from aiohttp import web
from marshmallow import ValidationError, fields, validate
from wagw_common.contracts import StrictSchema
from wagw_common.contracts.received import ReceivedContent
from wagw_common.http import correlation_middleware, error_middleware, error_response, read_json
from wagw_worker_sdk import Worker
from wagw_worker_sdk.health import add_health_routes

from .fake import FakeWhatsApp
from .fake_files import add_file_route

PHONE = web.AppKey("phone", FakeWhatsApp)


_WA_ID = validate.Regexp(r"^[A-Za-z0-9]{1,64}$")


class WrittenMessage(ReceivedContent):
    """Any type with its parts, as `worker.message.inbound` carries them (checked the same way)."""

    chat = fields.String(required=True, validate=validate.Length(min=1, max=128))
    sender = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=128))
    wa_message_id = fields.String(required=True, validate=_WA_ID)


class EditedText(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=65536))


class EnteredCode(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=16))


@web.middleware
async def mapped_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except KeyError:
        return error_response(404, "not_found", "the fake holds no client for this session")
    except ValidationError as exc:
        return error_response(400, "invalid", "the request body is not valid", exc.messages)
    except ValueError as exc:
        return error_response(409, "conflict", str(exc))


def _done(request: web.Request) -> web.Response:
    return web.json_response({"session_id": request.match_info["session_id"]}, status=202)


async def scan(request: web.Request) -> web.Response:
    await request.app[PHONE].scan(request.match_info["session_id"])
    return _done(request)


async def enter_code(request: web.Request) -> web.Response:
    body = EnteredCode().load(await read_json(request))
    await request.app[PHONE].enter_code(request.match_info["session_id"], body["code"])
    return _done(request)


async def write(request: web.Request) -> web.Response:
    body = WrittenMessage().load(await read_json(request))
    parts = {name: value for name, value in body.items() if value is not None}
    await request.app[PHONE].write(request.match_info["session_id"], parts.pop("text", None), **parts)
    return _done(request)


def _wa_message_id(request: web.Request) -> str:
    wa_message_id = request.match_info["wa_message_id"]
    _WA_ID(wa_message_id)
    return wa_message_id


async def edit_written(request: web.Request) -> web.Response:
    body = EditedText().load(await read_json(request))
    await request.app[PHONE].edit_written(request.match_info["session_id"], _wa_message_id(request), body["text"])
    return _done(request)


async def delete_written(request: web.Request) -> web.Response:
    await request.app[PHONE].delete_written(request.match_info["session_id"], _wa_message_id(request))
    return _done(request)


async def shown(request: web.Request) -> web.Response:
    """What the contacts' phones show of this session besides its messages (edits, revokes, reads, presence)."""
    session_id = request.match_info["session_id"]
    return web.json_response({"session_id": session_id,
                              "shown": [list(item) for item in request.app[PHONE].shown.get(session_id, [])]})


async def unlink(request: web.Request) -> web.Response:
    await request.app[PHONE].unlink(request.match_info["session_id"])
    return _done(request)


def create_http_app(protocol: Worker, phone: FakeWhatsApp | None = None) -> web.Application:
    app = web.Application(middlewares=[correlation_middleware, error_middleware, mapped_errors],
                          client_max_size=256 * 1024)
    add_health_routes(app, protocol)
    if phone is not None:
        app[PHONE] = phone
        app.router.add_post("/fake/sessions/{session_id}/scan", scan)
        app.router.add_post("/fake/sessions/{session_id}/pairing-code", enter_code)
        app.router.add_post("/fake/sessions/{session_id}/inbound", write)
        app.router.add_post("/fake/sessions/{session_id}/inbound/{wa_message_id}/edit", edit_written)
        app.router.add_post("/fake/sessions/{session_id}/inbound/{wa_message_id}/delete", delete_written)
        app.router.add_get("/fake/sessions/{session_id}/shown", shown)
        app.router.add_post("/fake/sessions/{session_id}/unlink", unlink)
        add_file_route(app, phone)
    return app
