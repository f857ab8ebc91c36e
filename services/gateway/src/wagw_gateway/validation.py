"""Loading request bodies, query strings and headers through marshmallow, failing as clean 4xx."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError
from wagw_common.http import BadRequest, read_json

from .errors import ApiError

def invalid(details: Any, message: str = "the request is not valid") -> ApiError:
    return ApiError(422, "validation_failed", message, details)


async def load_body(request: web.Request, schema: Schema) -> dict[str, Any]:
    max_bytes = request.client_max_size
    try:
        raw = await read_json(request)
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "payload_too_large", f"the request body is larger than {max_bytes} bytes",
                       {"max_bytes": max_bytes}) from None
    except BadRequest as exc:
        raise ApiError(400, "bad_request", exc.message, exc.details) from None
    except LookupError:  # a charset Python does not know, in the Content-Type header
        raise ApiError(400, "bad_request", "unknown charset in Content-Type") from None
    return _load(schema, raw)


def load_query(request: web.Request, schema: Schema) -> dict[str, Any]:
    repeated = sorted({k for k in request.query if len(request.query.getall(k)) > 1})
    if repeated:
        raise invalid({k: ["given more than once"] for k in repeated})
    return _load(schema, dict(request.query))


def _load(schema: Schema, raw: Any) -> dict[str, Any]:
    try:
        return schema.load(raw)
    except ValidationError as exc:
        raise invalid(exc.messages) from None
