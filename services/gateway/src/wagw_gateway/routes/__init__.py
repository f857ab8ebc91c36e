"""The public REST API, one module per resource."""

from aiohttp import web

from . import accounts, messages, sessions, webhooks, workers


def add_routes(app: web.Application) -> None:
    for module in (accounts, sessions, messages, webhooks, workers):
        app.router.add_routes(module.routes)
