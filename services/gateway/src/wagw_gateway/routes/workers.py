"""The worker fleet, for administrators, asked of the worker registry: list and filter the workers,
one worker with its sessions, fleet statistics, a health check now, drain (and undrain), remove.

Draining and removing only change the registry's record and announce it (`worker.draining`,
`worker.removed`, with the worker's sessions); the session orchestrator moves those sessions."""

from __future__ import annotations

from aiohttp import web
from marshmallow import ValidationError
from wagw_common.contracts import fields as contract_fields
from wagw_common.contracts.fleet import (
    DrainWorker, FleetStats, HealthCheck, ListWorkers, RemovedWorker, RemoveWorker, WorkerDetail, WorkerView,
)

from ..apidoc import api_doc
from ..auth import admin_required
from ..deps import gateway_of
from ..errors import not_found
from ..validation import load_body, load_query
from .paths import API

routes = web.RouteTableDef()
TAGS = ("workers",)
WORKER = f"{API}/workers/{{worker_id:[a-z0-9-]{{1,64}}}}"
_LIST, _DRAIN, _REMOVE = ListWorkers(), DrainWorker(only=("reason",)), RemoveWorker(only=("force",))
_WORKER_ID = contract_fields.worker_id()
_VIEW = {"worker": WorkerView}


def _worker_id(request: web.Request) -> str:
    try:
        return _WORKER_ID.deserialize(request.match_info["worker_id"])
    except ValidationError:
        raise not_found("worker") from None  # not a worker id the platform accepts: names nothing


async def _ask(request: web.Request, request_type: str, **data) -> dict:
    worker_id = _worker_id(request)
    return await gateway_of(request).rpc.call(request_type, {"worker_id": worker_id, **data}, subject=worker_id)


@routes.get(f"{API}/workers")
@api_doc(tags=TAGS, query=ListWorkers, responses={200: {"workers": [WorkerView]}})
@admin_required
async def list_workers(request: web.Request) -> web.Response:
    """The worker fleet, each with its load score (filters: `state`, `environment`)."""
    reply = await gateway_of(request).rpc.call("worker.list", load_query(request, _LIST))
    return web.json_response({"workers": reply["workers"]})


@routes.get(f"{API}/fleet/stats")
@api_doc(tags=TAGS, responses={200: {"fleet": FleetStats}})
@admin_required
async def fleet_stats(request: web.Request) -> web.Response:
    """Fleet statistics: workers by state, capacity and its use, sessions by status, versions."""
    return web.json_response({"fleet": await gateway_of(request).rpc.call("worker.stats", {})})


@routes.get(WORKER)
@api_doc(tags=TAGS, responses={200: {"worker": WorkerDetail}}, errors=(404,))
@admin_required
async def get_worker(request: web.Request) -> web.Response:
    """One worker with the sessions it holds and those chosen for it."""
    return web.json_response({"worker": await _ask(request, "worker.get")})


@routes.post(f"{WORKER}/health-check")
@api_doc(tags=TAGS, responses={200: HealthCheck}, errors=(404,))
@admin_required
async def check_worker(request: web.Request) -> web.Response:
    """Health check now: a silent worker is declared offline, a live one asked for a heartbeat at once."""
    return web.json_response(await _ask(request, "worker.check"))


@routes.post(f"{WORKER}/drain")
@api_doc(tags=TAGS, body=_DRAIN, responses={200: _VIEW}, errors=(404,))
@admin_required
async def drain_worker(request: web.Request) -> web.Response:
    """Drain: no new sessions on this worker, and its sessions are moved elsewhere (optional `reason`)."""
    body = await load_body(request, _DRAIN) if request.can_read_body else _DRAIN.load({})
    return web.json_response({"worker": await _ask(request, "worker.drain", **body)})


@routes.post(f"{WORKER}/undrain")
@api_doc(tags=TAGS, responses={200: _VIEW}, errors=(404,))
@admin_required
async def undrain_worker(request: web.Request) -> web.Response:
    """Cancel a drain: the worker takes new sessions again."""
    return web.json_response({"worker": await _ask(request, "worker.undrain")})


@routes.delete(WORKER)
@api_doc(tags=TAGS, query=_REMOVE, responses={200: RemovedWorker}, errors=(404, 409))
@admin_required
async def remove_worker(request: web.Request) -> web.Response:
    """Forget a worker: offline or draining ones, or any with `force=true` (409 otherwise); its sessions are moved."""
    query = load_query(request, _REMOVE)
    return web.json_response(await _ask(request, "worker.remove", **query))

