"""`Idempotency-Key` on creating POSTs: the same key and body within 24 hours answers the first
(successful) response again, with `Idempotent-Replayed: true`; the same key with another body, or
on another route, is 422 `idempotency_mismatch`; while the first attempt runs, 409.

Keys live per caller (the API key, or the user of an access token). Only successful answers are
kept: a refused or failed attempt releases the key, so a corrected retry goes through. Secrets in
an answer (a new API key) are never stored: a replay shows them as null (rotate the key if it was lost)."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from aiohttp import web
from wagw_common.logging import get_logger

from .callers import CALLER
from .deps import gateway_of
from .errors import ApiError
from .idempotency import Claim, Outcome, body_hash
from .validation import invalid

log = get_logger(__name__)
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


def idempotency_key(request: web.Request) -> str | None:
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    if not _KEY.match(value):
        raise invalid({IDEMPOTENCY_HEADER: ["must be 1 to 255 printable ASCII characters without spaces"]})
    return value


def request_digest(request: web.Request, body: Any) -> str:
    return body_hash({"method": request.method, "path": request.path, "body": body})


def settle(claim: Claim) -> web.Response | None:
    """The answer a claim already decides (a replay or a refusal), or None to go ahead."""
    if claim.outcome is Outcome.REPLAY:
        return web.json_response(claim.answer["body"], status=claim.answer["status"],
                                 headers={REPLAYED_HEADER: "true"})
    if claim.outcome is Outcome.MISMATCH:
        raise ApiError(422, "idempotency_mismatch",
                       f"this {IDEMPOTENCY_HEADER} was used with a different request body or route")
    if claim.outcome is Outcome.BUSY:
        raise ApiError(409, "idempotency_in_progress", f"a request with this {IDEMPOTENCY_HEADER} is in progress",
                       headers={"Retry-After": "1"})
    return None


async def release(request: web.Request, scope: str, key: str) -> None:
    """The attempt failed before doing anything: let the next one start afresh."""
    try:
        await gateway_of(request).idempotency.release(scope, key)
    except Exception as exc:  # the claim goes stale and a retry resumes it
        log.warning("idempotency.release_failed", error=repr(exc))


async def abandon(request: web.Request, scope: str, key: str) -> None:
    """The attempt failed after it may have taken effect: the next one resumes it with the same ids."""
    try:
        await gateway_of(request).idempotency.abandon(scope, key)
    except Exception as exc:  # the claim goes stale and a retry resumes it anyway, later
        log.warning("idempotency.abandon_failed", error=repr(exc))


def _without(body: Any, paths: tuple[str, ...]) -> Any:
    body = json.loads(json.dumps(body))
    for path in paths:
        *parents, leaf = path.split(".")
        node = body
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            node[leaf] = None
    return body


def idempotent(*, secret_fields: tuple[str, ...] = ()):
    """Put under `@authenticated` (it needs the caller). `secret_fields`: dotted paths in the
    answer that must not be stored, e.g. ("api_key",) or ("endpoint.secret",)."""
    def decorate(handler):
        @functools.wraps(handler)
        async def wrapper(request: web.Request):
            key = idempotency_key(request)
            if key is None:
                return await handler(request)
            try:
                body = json.loads(await request.read() or b"null")
            except (ValueError, web.HTTPException):
                return await handler(request)  # the view answers a bad body as usual; nothing is stored
            store, scope = gateway_of(request).idempotency, request[CALLER].idempotency_scope
            claim = await store.claim(scope, key, request_digest(request, body), {})
            settled = settle(claim)
            if settled is not None:
                return settled
            try:
                response = await handler(request)
            except BaseException:
                await release(request, scope, key)
                raise
            # Only a body held in memory (a JSON answer) is remembered, never a streamed payload.
            sent = response.body if isinstance(response, web.Response) else None
            if 200 <= response.status < 300 and isinstance(sent, (bytes, bytearray)):
                stored = _without(json.loads(sent), secret_fields)
                try:
                    await store.complete(scope, key, response.status, stored)
                except Exception as exc:  # done, but not remembered: a retry would do it again
                    log.warning("idempotency.record_failed", error=repr(exc))
            else:
                await release(request, scope, key)
            return response

        wrapper.idempotent = True  # read by the API reference
        return wrapper

    return decorate
