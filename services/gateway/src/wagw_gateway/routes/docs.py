"""The API reference: the OpenAPI 3.1 document and a page that reads it for people."""

from __future__ import annotations

from aiohttp import web
from marshmallow import fields

from ..apidoc import api_doc
from ..docs_page import render
from ..openapi import build_document
from .paths import API

routes = web.RouteTableDef()
# Filled on first use: the routes cannot change once the app runs. Set up by `mount`.
CACHE = web.AppKey("openapi_cache", dict)
TAGS = ("reference",)


def document(app: web.Application) -> dict:
    cache = app[CACHE]
    if "document" not in cache:
        cache["document"] = build_document(app)
        cache["page"] = render(cache["document"])
    return cache["document"]


@routes.get(f"{API}/openapi.json")
@api_doc(tags=TAGS, responses={200: fields.Dict()})
async def openapi_document(request: web.Request) -> web.Response:
    """This API's OpenAPI 3.1 document, generated from its routes and schemas."""
    return web.json_response(document(request.app))


@routes.get(f"{API}/docs")
@api_doc(tags=TAGS, responses={200: fields.String()}, content_type="text/html")
async def docs(request: web.Request) -> web.Response:
    """This API's reference, for people (one self-contained page)."""
    document(request.app)
    return web.Response(text=request.app[CACHE]["page"], content_type="text/html",
                        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
