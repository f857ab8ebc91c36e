"""The public REST API, one module per resource."""

from aiohttp import web

from . import accounts, admin, dashboard, docs, keys, me, messages, session_lifecycle, sessions, webhooks, workers


def add_routes(app: web.Application) -> None:
    for module in (accounts, me, sessions, session_lifecycle, messages, keys, webhooks, workers, admin, docs,
                   dashboard):
        app.router.add_routes(module.routes)
