"""`POST /send` admitted in one Redis round trip (`send_admission.py`), around the view that admits it
with separate reads. What the script cannot decide goes to that view unchanged: an access token or
anything that is not an API key, an `Idempotency-Key` (its claim in MongoDB comes before the send is
counted), a key or account the caches do not hold, Redis away."""

from __future__ import annotations

import functools
from typing import Awaitable, Callable

from aiohttp import web
from marshmallow import Schema

from .api_keys import looks_like_key
from .auth import (SESSION_KEY, bearer_of, deactivated_account, missing_scope, presented_key, rate_limited,
                   revoked_key)
from .callers import CALLER, Caller
from .deps import Deps, gateway_of
from .errors import ApiError
from .idempotent import IDEMPOTENCY_HEADER
from .ratelimit import RATE_LIMIT, decision_of
from .send_admission import BODY, COUNTED, INACTIVE, MISS, REVOKED, SCOPE, STATUS, UNBOUND, Admission, send_limits
from .send_refusals import not_bound_to_one_session, refusal_for_status
from .usage import today
from .validation import load_body

# (request, session id, the validated body, the day it was counted on) -> the 202.
Publish = Callable[[web.Request, str, dict, str], Awaitable[web.Response]]


def admitted_at_once(body_schema: Schema, publish: Publish):
    """Decorates a send view made with `authenticated(scope=..., send=True)`, which it falls back to."""
    def decorate(view):
        scope = view.scope

        @functools.wraps(view)
        async def at_once(request: web.Request) -> web.StreamResponse:
            key = presented_key(request, bearer_of(request))
            if not key or not looks_like_key(key) or IDEMPOTENCY_HEADER in request.headers:
                return await view(request)
            body, body_refusal = await _body(request, body_schema)
            gw, day, queued = gateway_of(request), today(), bool(body.get("queue"))
            admission = await gw.send_admission.admit(key, scope=scope, body_valid=body_refusal is None,
                                                      queued=queued, day=day)
            if admission is None or admission.verdict == MISS:
                return await view(request)
            if admission.key is not None:
                request[SESSION_KEY] = admission.key
                gw.api_keys.touch_soon(admission.key.key_id)
            refusal = _refusal(admission, scope, body_refusal, queued)
            if refusal is not None:
                raise refusal
            if admission.verdict != COUNTED:  # the two ways disagree: the separate reads decide
                return await view(request)
            session_id = _counted(request, gw, admission)
            return await publish(request, session_id, body, day)

        return at_once

    return decorate


async def _body(request: web.Request, schema: Schema) -> tuple[dict, ApiError | None]:
    """The body, or why it is refused: told only if the script finds nothing to refuse before."""
    try:
        return await load_body(request, schema), None
    except ApiError as refusal:
        return {}, refusal


def _refusal(admission: Admission, scope: str, body_refusal: ApiError | None, queued: bool) -> ApiError | None:
    verdict = admission.verdict
    if verdict == REVOKED:
        return revoked_key()
    if verdict == INACTIVE:
        return deactivated_account()
    if verdict == SCOPE:
        return missing_scope(scope)
    if verdict == UNBOUND:
        return not_bound_to_one_session()
    if verdict == BODY:
        return body_refusal
    if verdict == STATUS:
        return refusal_for_status(admission.status, queued)
    return None


def _counted(request: web.Request, gw: Deps, admission: Admission) -> str:
    """The caller on the request once the script counted the send (or found a window full: 429);
    returns the key's session."""
    key, account = admission.key, admission.account
    # What a COUNTED answer always holds (the script refuses an unbound key before counting).
    assert key is not None and key.session_id and account is not None and admission.counted is not None
    decision = decision_of(send_limits(key, account, gw.settings), admission.counted)
    request[RATE_LIMIT] = decision
    if not decision.allowed:
        raise rate_limited(decision)
    request[CALLER] = Caller(tenant_id=key.tenant_id, role=account.role, tier=account.tier, key=key)
    return key.session_id
