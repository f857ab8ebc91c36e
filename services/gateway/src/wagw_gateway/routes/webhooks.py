"""Webhook endpoints, their deliveries and the event catalog, asked of the webhook dispatcher.

The tenant is always the caller's; the dispatcher checks every endpoint id against it, so another
tenant's endpoint is a 404. An API key restricted to one session sees only the endpoints restricted
to that session, and registers endpoints for that session only."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from wagw_common.contracts.webhooks import (
    CreatedEndpoint, CreateEndpoint, DeliveryDetail, DeliveryList, DeliveryView, EndpointView, EventTypeView,
    ListDeliveries, RotateSecret, SendTestEvent, UpdateEndpoint, event_catalog,
)

from ..apidoc import api_doc
from ..auth import authenticated
from ..callers import CALLER
from ..deps import gateway_of
from ..errors import ApiError
from ..idempotent import idempotent
from ..validation import invalid, load_body, load_query
from .paths import API, param

routes = web.RouteTableDef()
READ, WRITE = "webhooks:read", "webhooks:write"
TAGS = ("webhooks",)
WEBHOOKS = f"{API}/webhooks"
ENDPOINT = f"{WEBHOOKS}/{param('endpoint_id')}"
DELIVERY = f"{ENDPOINT}/deliveries/{param('delivery_id')}"
# The contracts' own schemas, minus what the gateway fills in from the caller and the path.
_REF = ("tenant_id", "endpoint_id")
_CREATE = CreateEndpoint(exclude=("tenant_id",))
_UPDATE = UpdateEndpoint(exclude=_REF)
_ROTATE = RotateSecret(exclude=_REF)
_TEST = SendTestEvent(exclude=_REF)
_DELIVERIES = ListDeliveries(exclude=_REF)
_CATALOG = event_catalog()  # static: the contracts do not change while the process runs


def _not_found(what: str = "webhook endpoint") -> ApiError:
    return ApiError(404, "not_found", f"no such {what}")


async def _ask(request: web.Request, request_type: str, extra: dict[str, Any] | None = None) -> Any:
    data = {**(extra or {}), "tenant_id": request[CALLER].tenant_id}
    endpoint_id = request.match_info.get("endpoint_id")
    if endpoint_id is not None:
        data["endpoint_id"] = endpoint_id
    return await gateway_of(request).rpc.call(request_type, data, subject=endpoint_id)


async def _check_session(request: web.Request, session_id: str | None) -> None:
    """A session filter must name one of the caller's sessions (the dispatcher does not know sessions)."""
    caller = request[CALLER]
    restriction = caller.session_restriction
    if restriction is not None and session_id != restriction:
        raise invalid({"session_id": [f"this API key may only use session {restriction}"]})
    if session_id is not None:
        await gateway_of(request).rpc.call("session.get", {"tenant_id": caller.tenant_id, "session_id": session_id},
                                           subject=session_id)


async def _visible(request: web.Request) -> None:
    """A session-restricted key sees only the endpoints restricted to its session."""
    restriction = request[CALLER].session_restriction
    if restriction is not None and (await _ask(request, "webhook.endpoint.get")).get("session_id") != restriction:
        raise _not_found()


async def _optional_body(request: web.Request, schema) -> dict[str, Any]:
    return await load_body(request, schema) if request.body_exists else schema.load({})


@routes.get(f"{WEBHOOKS}/event-types")
@api_doc(tags=TAGS, responses={200: {"event_types": [EventTypeView]}})
@authenticated(scope=READ)
async def list_event_types(request: web.Request) -> web.Response:
    """The event catalog: every event type an endpoint can subscribe to, with its payload schema and an example."""
    return web.json_response({"event_types": _CATALOG})


@routes.post(WEBHOOKS)
@api_doc(tags=TAGS, body=_CREATE, responses={201: {"endpoint": CreatedEndpoint}})
@authenticated(scope=WRITE)
@idempotent(secret_fields=("endpoint.secret",))
async def create_endpoint(request: web.Request) -> web.Response:
    """Register a webhook endpoint; the reply holds its signing secret, shown once.

    `events` filters by type (`message.sent`), family (`message.*`) or takes all (`*`, the default);
    `session_id` restricts it to one session's events; `headers` are sent with every delivery."""
    body = await load_body(request, _CREATE)
    restriction = request[CALLER].session_restriction
    if body["session_id"] is None and restriction is not None:
        body["session_id"] = restriction
    await _check_session(request, body["session_id"])
    endpoint = await _ask(request, "webhook.endpoint.create", body)
    return web.json_response({"endpoint": endpoint}, status=201)


@routes.get(WEBHOOKS)
@api_doc(tags=TAGS, responses={200: {"endpoints": [EndpointView]}})
@authenticated(scope=READ)
async def list_endpoints(request: web.Request) -> web.Response:
    """The caller's webhook endpoints."""
    reply = await _ask(request, "webhook.endpoint.list")
    restriction = request[CALLER].session_restriction
    endpoints = [e for e in reply["endpoints"] if restriction is None or e.get("session_id") == restriction]
    return web.json_response({"endpoints": endpoints})


@routes.get(ENDPOINT)
@api_doc(tags=TAGS, responses={200: {"endpoint": EndpointView}})
@authenticated(scope=READ)
async def get_endpoint(request: web.Request) -> web.Response:
    """One webhook endpoint: its filter, headers, and whether (and why) it is disabled."""
    endpoint = await _ask(request, "webhook.endpoint.get")
    restriction = request[CALLER].session_restriction
    if restriction is not None and endpoint.get("session_id") != restriction:
        raise _not_found()
    return web.json_response({"endpoint": endpoint})


@routes.patch(ENDPOINT)
@api_doc(tags=TAGS, body=_UPDATE, responses={200: {"endpoint": EndpointView}})
@authenticated(scope=WRITE)
async def update_endpoint(request: web.Request) -> web.Response:
    """Change an endpoint's `url`, `events`, `session_id` (null lifts the restriction), `description` or `headers`."""
    body = await load_body(request, _UPDATE)
    await _visible(request)
    if "session_id" in body:
        await _check_session(request, body["session_id"])
    return web.json_response({"endpoint": await _ask(request, "webhook.endpoint.update", body)})


@routes.delete(ENDPOINT)
@api_doc(tags=TAGS, responses={204: None})
@authenticated(scope=WRITE)
async def delete_endpoint(request: web.Request) -> web.Response:
    """Delete an endpoint and its delivery log; deliveries still pending are dropped (204)."""
    await _visible(request)
    await _ask(request, "webhook.endpoint.delete")
    return web.Response(status=204)


@routes.post(f"{ENDPOINT}/enable")
@api_doc(tags=TAGS, responses={200: {"endpoint": EndpointView}})
@authenticated(scope=WRITE)
async def enable_endpoint(request: web.Request) -> web.Response:
    """Enable an endpoint (again): new events reach it; its failure streak starts over."""
    await _visible(request)
    return web.json_response({"endpoint": await _ask(request, "webhook.endpoint.enable")})


@routes.post(f"{ENDPOINT}/disable")
@api_doc(tags=TAGS, responses={200: {"endpoint": EndpointView}})
@authenticated(scope=WRITE)
async def disable_endpoint(request: web.Request) -> web.Response:
    """Disable an endpoint: nothing more is delivered to it until it is enabled."""
    await _visible(request)
    return web.json_response({"endpoint": await _ask(request, "webhook.endpoint.disable")})


@routes.post(f"{ENDPOINT}/rotate-secret")
@api_doc(tags=TAGS, body=_ROTATE, responses={200: {"endpoint": CreatedEndpoint}})
@authenticated(scope=WRITE)
@idempotent(secret_fields=("endpoint.secret",))
async def rotate_secret(request: web.Request) -> web.Response:
    """A new signing secret, shown once; the old one keeps signing too for `overlap_seconds` (default one day)."""
    body = await _optional_body(request, _ROTATE)
    await _visible(request)
    return web.json_response({"endpoint": await _ask(request, "webhook.endpoint.rotate_secret", body)})


@routes.post(f"{ENDPOINT}/test")
@api_doc(tags=TAGS, body=_TEST, responses={202: {"delivery": DeliveryView}})
@authenticated(scope=WRITE)
async def send_test_event(request: web.Request) -> web.Response:
    """Send a test event (`webhook.test`, or the example of a catalog `event_type`), logged as a delivery."""
    body = await _optional_body(request, _TEST)
    await _visible(request)
    return web.json_response({"delivery": await _ask(request, "webhook.endpoint.test", body)}, status=202)


@routes.get(f"{ENDPOINT}/deliveries")
@api_doc(tags=TAGS, query=_DELIVERIES, responses={200: DeliveryList})
@authenticated(scope=READ)
async def list_deliveries(request: web.Request) -> web.Response:
    """An endpoint's deliveries, newest first; filters `status`, `event_type`, `since`, `until`; pages by `before`."""
    query = load_query(request, _DELIVERIES)
    await _visible(request)
    return web.json_response(await _ask(request, "webhook.delivery.list", query))


@routes.get(DELIVERY)
@api_doc(tags=TAGS, responses={200: {"delivery": DeliveryDetail}})
@authenticated(scope=READ)
async def get_delivery(request: web.Request) -> web.Response:
    """One delivery with every attempt (status, latency, error, the start of the answer) and the body it sends."""
    await _visible(request)
    extra = {"delivery_id": request.match_info["delivery_id"]}
    return web.json_response({"delivery": await _ask(request, "webhook.delivery.get", extra)})


@routes.post(f"{DELIVERY}/redeliver")
@api_doc(tags=TAGS, responses={202: {"delivery": DeliveryView}}, errors=(409,))
@authenticated(scope=WRITE)
async def redeliver(request: web.Request) -> web.Response:
    """Deliver again by hand: a new cycle of attempts with the same webhook-id (409 if the endpoint is disabled)."""
    await _visible(request)
    extra = {"delivery_id": request.match_info["delivery_id"]}
    return web.json_response({"delivery": await _ask(request, "webhook.delivery.redeliver", extra)}, status=202)

