"""The control API's received files: the contact sends a file (the raw bytes as the request body), and
the simulator stores it as a real worker does (`MediaStorage.store_media`, the SDK's path into the
object store) before it reports the message described."""

from __future__ import annotations

from typing import Callable

from aiohttp import web
from marshmallow import fields, validate
from wagw_common.contracts import StrictSchema
from wagw_common.contracts.messages import MEDIA_TYPES
from wagw_common.http import error_response
from wagw_common.object_store.media import MediaTooLarge
from wagw_worker_sdk import MediaStorage

from .whatsapp import SimulatedWhatsApp


class MediaQuery(StrictSchema):
    type = fields.String(load_default="image", validate=validate.OneOf(MEDIA_TYPES))
    caption = fields.String(load_default=None, validate=validate.Length(min=1, max=1024))
    filename = fields.String(load_default=None, validate=validate.Length(min=1, max=255))
    chat = fields.String(load_default=None, validate=validate.Length(min=1, max=128))
    ptt = fields.Boolean(load_default=False)


def add_media_routes(app: web.Application, media: MediaStorage, whatsapp: SimulatedWhatsApp,
                     session_id_of: Callable[[web.Request], str]) -> None:
    async def inbound_media(request: web.Request) -> web.Response:
        return await _inbound_media(request, session_id_of(request), media, whatsapp)

    app.router.add_post("/sessions/{session_id}/inbound-media", inbound_media)


async def _inbound_media(request: web.Request, session_id: str, media: MediaStorage,
                         whatsapp: SimulatedWhatsApp) -> web.Response:
    query = MediaQuery().load(dict(request.query))
    data = await request.read()
    if not data:
        return error_response(400, "invalid", "the request body must hold the file's bytes")
    try:
        described = await media.store_media(session_id, data, filename=query["filename"], ptt=query["ptt"])
    except MediaTooLarge as exc:
        return error_response(413, "too_large", str(exc))
    wa_message_id = await whatsapp.receive(session_id, text=query["caption"], chat=query["chat"],
                                           type=query["type"], media=described)
    return web.json_response({"session_id": session_id, "wa_message_id": wa_message_id, "media": described},
                             status=202)
