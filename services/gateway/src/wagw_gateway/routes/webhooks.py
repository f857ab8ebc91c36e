"""Webhook endpoints and their deliveries, asked of the webhook dispatcher."""

from __future__ import annotations

from aiohttp import web
from wagw_common.contracts.webhooks import CreateEndpoint

from ..auth import USER, user_required
from ..dependencies import gateway_of
from ..validation import load_body
from .paths import API, param
from .sessions import fetch_session

routes = web.RouteTableDef()
_CREATE = CreateEndpoint(exclude=("tenant_id",))


@routes.post(f"{API}/webhooks")
@user_required
async def create_endpoint(request: web.Request) -> web.Response:
    """Register a webhook endpoint; the reply holds its signing secret, shown once."""
    body = await load_body(request, _CREATE)
    if body["session_id"] is not None:
        # The dispatcher does not know sessions: make sure a filter names one of the caller's own (else 404).
        await fetch_session(request, body["session_id"])
    endpoint = await gateway_of(request).rpc.call("webhook.endpoint.create",
                                                  {**body, "tenant_id": request[USER].user_id})
    return web.json_response({"endpoint": endpoint}, status=201)


@routes.get(f"{API}/webhooks")
@user_required
async def list_endpoints(request: web.Request) -> web.Response:
    """The caller's webhook endpoints."""
    reply = await gateway_of(request).rpc.call("webhook.endpoint.list", {"tenant_id": request[USER].user_id})
    return web.json_response({"endpoints": reply["endpoints"]})


@routes.get(f"{API}/webhooks/{param('endpoint_id')}/deliveries")
@user_required
async def list_deliveries(request: web.Request) -> web.Response:
    """An endpoint's deliveries with every attempt."""
    reply = await gateway_of(request).rpc.call(
        "webhook.delivery.list", {"tenant_id": request[USER].user_id, "endpoint_id": request.match_info["endpoint_id"]})
    return web.json_response({"deliveries": reply["deliveries"]})
