"""How failures become HTTP: one table for the services' refusals (nameko's `mapped_errors`), and
one middleware that turns every expected failure into the platform's error envelope."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pymongo.errors import ConnectionFailure
from wagw_common.errors import DomainError
from wagw_common.http import error_response
from wagw_common.logging import get_logger

from .ratelimit import RATE_LIMIT

log = get_logger(__name__)

RETRY_AFTER_SECONDS = "5"

# The code a service answered with -> the HTTP status the client sees. Anything else is 502.
REMOTE_ERRORS: dict[str, int] = {
    "not_found": 404,
    "conflict": 409,
    "limit_exceeded": 403,
    "invalid": 422,
    "unavailable": 503,
}
UNMAPPED_STATUS = 502


class ApiError(Exception):
    """A failure the client is meant to see, exactly as described."""

    def __init__(self, status: int, code: str, message: str, details: Any = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, self.details, headers=self.headers)


def not_found(what: str) -> ApiError:
    """Also for another tenant's id: the two are indistinguishable on purpose."""
    return ApiError(404, "not_found", f"no such {what}")


def unavailable(message: str = "a service the request needs is unavailable; retry later") -> ApiError:
    return ApiError(503, "unavailable", message, headers={"Retry-After": RETRY_AFTER_SECONDS})


def from_domain_error(err: DomainError) -> ApiError:
    """Map a refusal from another service (or the RPC client's own `Unavailable`) through the table."""
    status = REMOTE_ERRORS.get(err.code, UNMAPPED_STATUS)
    if status == 503:
        return unavailable()
    if status == UNMAPPED_STATUS:
        # The remote's own wording may describe its internals; the client gets the code only.
        return ApiError(status, "bad_gateway", "an upstream service failed", {"upstream_code": err.code})
    return ApiError(status, err.code, err.message, err.details)


@web.middleware
async def api_error_middleware(request: web.Request, handler):
    """Expected failures -> the error envelope; every answer carries the rate limit that applied."""
    response = await _answer(request, handler)
    decision = request.get(RATE_LIMIT)
    if decision is not None:
        for name, value in decision.headers().items():
            response.headers.setdefault(name, value)
    return response


async def _answer(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return err.response()
    except DomainError as err:
        mapped = from_domain_error(err)
        if mapped.status >= 500:
            log.warning("http.upstream_failed", path=request.path, code=err.code, reason=err.message)
        return mapped.response()
    except ConnectionFailure as exc:
        log.warning("http.database_unavailable", path=request.path, error=repr(exc))
        return unavailable().response()
