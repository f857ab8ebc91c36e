"""HTTP plumbing every service shares: the error envelope, correlation ids and request metrics."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from .logging import correlation_scope, get_logger, new_correlation_id
from .metrics import HTTP_LATENCY, HTTP_REQUESTS

log = get_logger(__name__)
CORRELATION_HEADER = "X-Correlation-Id"
# What a view adds to its request's one canonical log line (`note_in_request_log`).
_NOTED = web.RequestKey("log_fields", dict)


def note_in_request_log(request: web.Request, **fields: Any) -> None:
    """Add `fields` (what the request made: a message id, say) to its canonical `http.request` line,
    rather than writing a line of its own."""
    noted = request.get(_NOTED)
    if noted is None:
        request[_NOTED] = fields
    else:
        noted.update(fields)


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    """The one error shape of the platform: {"error": {"code", "message", "details"}}."""
    body = {"error": {"code": code, "message": message, "details": details}}
    return web.json_response(body, status=status, headers=headers)


def _route_label(request: web.Request) -> str:
    route = request.match_info.route
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get(CORRELATION_HEADER, "")
    correlation_id = incoming if 8 <= len(incoming) <= 64 and incoming.isalnum() else new_correlation_id()
    with correlation_scope(correlation_id):
        response = await handler(request)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts and times every request, and writes its one canonical log line."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = _route_label(request)
        elapsed = time.perf_counter() - started
        HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
        HTTP_LATENCY.labels(route, request.method).observe(elapsed)
        if route not in _QUIET_ROUTES:
            log.info("http.request", method=request.method, route=route, status=status, ms=round(elapsed * 1000, 1),
                     **request.get(_NOTED, {}))


# Probes and scrapes arrive every few seconds; logging each would drown the useful lines.
_QUIET_ROUTES = {"/healthz", "/readyz", "/metrics"}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as the error envelope; an unexpected one is logged and becomes a 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_") if exc.reason else "error"
        return error_response(exc.status, code, exc.reason or "error", headers=_kept_headers(exc))
    except BadRequest as exc:
        return error_response(400, "bad_request", exc.message, exc.details)
    except Exception as exc:
        log.error("http.unhandled", path=request.path, error=repr(exc), exc_info=exc)
        return error_response(500, "internal", "internal error")


def _kept_headers(exc: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError, LookupError) as exc:
        # LookupError: a charset Python does not know, e.g. "application/json; charset=bogus".
        raise BadRequest("body is not valid JSON", str(exc)) from exc


class BadRequest(Exception):
    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details
