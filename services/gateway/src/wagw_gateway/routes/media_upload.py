"""Files to send, uploaded: a multipart body read part by part (never more than MEDIA_MAX_BYTES held:
413 above), the type sniffed from the bytes (415 for what WhatsApp should not carry), stored under the
tenant, and answered with a link the session's worker fetches, to put in a send's `media.url`."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from marshmallow import fields
from wagw_common.contracts import StrictSchema
from wagw_common.object_store.media import SENDABLE_TYPES, outbound_key, sendable, sniff

from ..apidoc import FilePart, api_doc
from ..auth import authenticated
from ..callers import CALLER
from ..deps import GATEWAY, gateway_of
from ..errors import ApiError
from ..media_files import store_errors_as_503
from .paths import API

routes = web.RouteTableDef()
# How long the link to an uploaded file works: a send may wait in a queue (a session reconnecting).
UPLOAD_LINK_SECONDS = 24 * 3600
UPLOAD = FilePart("file", SENDABLE_TYPES, lambda app: app[GATEWAY].settings.media_max_bytes,
                  "The file to send (an image, video, audio or document; never SVG or other markup).")


class UploadedMedia(StrictSchema):
    url = fields.String(required=True)  # for `media.url` of a send, until expires_at
    mimetype = fields.String(required=True)  # sniffed from the bytes
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    filename = fields.String(required=True, allow_none=True)
    expires_at = fields.String(required=True)


async def _read_file_part(request: web.Request, max_bytes: int) -> tuple[bytes, str | None]:
    if not request.content_type.startswith("multipart/"):
        raise ApiError(400, "invalid", "send the file as multipart/form-data in a part named `file`")
    try:
        return await _first_file_part(await request.multipart(), max_bytes)
    # No boundary, a body that breaks the multipart framing, or a part whose header lines are broken.
    except (ValueError, AssertionError, HttpProcessingError) as exc:
        raise ApiError(400, "invalid", f"not a readable multipart body: {exc}") from None


async def _first_file_part(reader, max_bytes: int) -> tuple[bytes, str | None]:
    async for part in reader:
        if part.name != "file":
            continue
        data = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            data += chunk
            if len(data) > max_bytes:
                raise ApiError(413, "too_large", f"the file is larger than {max_bytes} bytes")
        return bytes(data), part.filename
    raise ApiError(400, "invalid", "no part named `file` in the multipart body")


@routes.post(f"{API}/media")
@api_doc(tags=("messages",), body=UPLOAD, responses={201: UploadedMedia}, errors=(413, 415, 503),
         description="multipart/form-data with the file in a part named `file`; its type is read from its bytes "
                     "(the part's declared type is not trusted).")
@authenticated(scope="messages:send")
async def upload_media(request: web.Request) -> web.Response:
    """Upload a file to send (image, video, audio, document; at most MEDIA_MAX_BYTES): answers a link for
    `media.url`."""
    gateway = gateway_of(request)
    data, filename = await _read_file_part(request, gateway.settings.media_max_bytes)
    if not data:
        raise ApiError(400, "invalid", "the file is empty")
    mimetype = sniff(data)
    if not sendable(mimetype):
        raise ApiError(415, "unsupported_media_type", f"a file of type {mimetype} cannot be sent",
                       {"mimetype": mimetype})
    sha256 = hashlib.sha256(data).hexdigest()
    key = outbound_key(request[CALLER].tenant_id, sha256)
    store = gateway.media.store
    with store_errors_as_503():
        await store.put(key, data, mimetype)
    expires_at = (datetime.now(UTC) + timedelta(seconds=UPLOAD_LINK_SECONDS)).isoformat().replace("+00:00", "Z")
    return web.json_response({"url": store.presigned_get(key, UPLOAD_LINK_SECONDS), "mimetype": mimetype,
                              "size": len(data), "sha256": sha256, "filename": filename, "expires_at": expires_at},
                             status=201)
