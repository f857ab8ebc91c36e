"""The fake phone sends a file: `POST /fake/sessions/{id}/inbound-media?type=image&chat=...` with the
file's bytes as the body (`caption`, `filename`, `mimetype`, `ptt`, `wa_message_id` optional). The worker
then does what it does with a file from WhatsApp: fetches the bytes, stores them through the SDK's
`MediaStorage` and reports the message described."""

from __future__ import annotations

from aiohttp import web
from marshmallow import fields, validate
from wagw_common.contracts import StrictSchema
from wagw_common.contracts.messages import MEDIA_TYPES
from wagw_common.http import error_response

from .fake import FakeWhatsApp

class SentFile(StrictSchema):
    type = fields.String(load_default="image", validate=validate.OneOf(MEDIA_TYPES))
    chat = fields.String(load_default="628999888777@s.whatsapp.net", validate=validate.Length(min=1, max=128))
    caption = fields.String(load_default=None, validate=validate.Length(min=1, max=1024))
    filename = fields.String(load_default=None, validate=validate.Length(min=1, max=255))
    mimetype = fields.String(load_default="application/octet-stream", validate=validate.Length(min=3, max=255))
    ptt = fields.Boolean(load_default=False)
    wa_message_id = fields.String(load_default="3A0000000000000000FB", validate=validate.Regexp(r"^[A-Za-z0-9]{1,64}$"))


async def send_file(request: web.Request, phone: FakeWhatsApp) -> web.Response:
    """Errors as the other fake routes: 400 invalid (a bad parameter, no bytes), 404 no such client."""
    sent = SentFile().load(dict(request.query))
    data = await request.read()
    if not data:
        return error_response(400, "invalid", "the request body must hold the file's bytes")
    session_id = request.match_info["session_id"]
    await phone.send_file(session_id, data, chat=sent["chat"], type=sent["type"], text=sent["caption"],
                          mimetype=sent["mimetype"], filename=sent["filename"], ptt=sent["ptt"],
                          wa_message_id=sent["wa_message_id"])
    return web.json_response({"session_id": session_id, "wa_message_id": sent["wa_message_id"]}, status=202)


def add_file_route(app: web.Application, phone: FakeWhatsApp) -> None:
    async def sent_by_the_phone(request: web.Request) -> web.Response:
        return await send_file(request, phone)
    app.router.add_post("/fake/sessions/{session_id}/inbound-media", sent_by_the_phone)
