"""Received files: an authenticated caller asks for a download link to a message's file; the link
itself needs no credentials, expires, and serves only that tenant's message (any other gets 404)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from aiohttp import web
from marshmallow import fields, validate
from wagw_common.contracts import StrictSchema

from .. import media_links
from ..apidoc import Media, api_doc
from ..auth import authenticated
from ..callers import CALLER
from ..deps import gateway_of
from ..errors import ApiError, not_found
from ..media_files import read_received_file, stored_description
from ..validation import load_query
from .paths import API, param

routes = web.RouteTableDef()
TAGS = ("messages",)


class MediaLink(StrictSchema):
    url = fields.String(required=True)  # relative to the gateway's address
    expires_at = fields.String(required=True)


class LinkQuery(StrictSchema):
    tenant = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"))
    expires = fields.Integer(required=True, validate=validate.Range(min=0))
    signature = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


async def _message(request: web.Request, tenant_id: str, message_id: str) -> dict:
    return await gateway_of(request).rpc.call("message.get", {"tenant_id": tenant_id, "message_id": message_id})


@routes.get(f"{API}/messages/{param('message_id')}/media-link")
@api_doc(tags=TAGS, responses={200: MediaLink})
@authenticated(scope="messages:read")
async def media_link(request: web.Request) -> web.Response:
    """A download link to a received message's file, valid for MEDIA_URL_TTL_SECONDS (404 when the message has no file
    described)."""
    caller, message_id = request[CALLER], request.match_info["message_id"]
    message = await _message(request, caller.tenant_id, message_id)
    if not caller.may_act_on(message.get("session_id", "")) or stored_description(message) is None:
        raise not_found("message file")
    gateway = gateway_of(request)
    url, expires = media_links.link(gateway.settings.jwt_secret, caller.tenant_id, message_id,
                                    gateway.settings.media_url_ttl)
    expires_at = datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")
    return web.json_response({"url": url, "expires_at": expires_at})


@routes.get(f"{API}/media/{param('message_id')}")
@api_doc(tags=TAGS, query=LinkQuery, responses={200: Media({"application/octet-stream": None})}, errors=(410,),
         description="The link from `media-link`: no credentials; 410 `expired` after its time, 404 when altered.")
async def download_media(request: web.Request) -> web.Response:
    """A received message's file, by its signed link (the type sniffed from the bytes)."""
    query, message_id = load_query(request, LinkQuery()), request.match_info["message_id"]
    gateway = gateway_of(request)
    if not media_links.valid(gateway.settings.jwt_secret, query["tenant"], message_id, query["expires"],
                             query["signature"]):
        raise not_found("message file")
    if query["expires"] < time.time():
        raise ApiError(410, "expired", "this download link has expired: ask for a new one (media-link)")
    found = await read_received_file(gateway.media.store, await _message(request, query["tenant"], message_id))
    if found is None:
        raise not_found("message file")
    data, mimetype = found
    return web.Response(body=data, content_type=mimetype,
                        headers={"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"})
