"""The worker fleet, for administrators, asked of the worker registry."""

from __future__ import annotations

from aiohttp import web
from wagw_common.contracts.workers import ListWorkers

from ..auth import admin_required
from ..dependencies import gateway_of
from ..validation import load_query
from .paths import API

routes = web.RouteTableDef()
_LIST = ListWorkers()


@routes.get(f"{API}/workers")
@admin_required
async def list_workers(request: web.Request) -> web.Response:
    """The worker fleet (administrators)."""
    query = load_query(request, _LIST)
    reply = await gateway_of(request).rpc.call("worker.list", query)
    return web.json_response({"workers": reply["workers"]})
