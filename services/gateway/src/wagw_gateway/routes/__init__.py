"""The public REST API, one module per resource."""

from aiohttp import web

from . import accounts, admin, chats, dashboard, docs, forward, keys, me, media, media_upload, message_changes, messages
from . import session_lifecycle, sessions, webhooks, worker_queries, workers


def add_routes(app: web.Application) -> None:
    for module in (accounts, me, sessions, session_lifecycle, messages, message_changes, forward, media, media_upload,
                   chats, worker_queries, keys, webhooks, workers, admin, docs, dashboard):
        app.router.add_routes(module.routes)
