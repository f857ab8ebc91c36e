"""Who is calling: a user with an access token (JWT), or a session with its API key.

Each view states what it needs with a decorator, which puts the principal on the request; a
later scope or rate-limit check slots into the same decorators."""

from __future__ import annotations

import functools
from datetime import timedelta

from aiohttp import web
from wagw_common.tokens import ADMIN_ROLE, InvalidToken, Principal, issue_access_token, verify_access_token

from .api_keys import KEY_PREFIX, SessionKey, looks_like_key
from .dependencies import gateway_of
from .errors import ApiError
from .settings import Settings

USER = web.RequestKey("user", Principal)
SESSION_KEY = web.RequestKey("session_key", SessionKey)
API_KEY_HEADER = "X-API-Key"


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="wagw"'})


def issue_token(principal: Principal, settings: Settings) -> str:
    return issue_access_token(principal, secret=settings.jwt_secret, issuer=settings.jwt_issuer,
                              audience=settings.jwt_audience, ttl=timedelta(seconds=settings.access_token_ttl))


def _bearer(request: web.Request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def user_required(handler):
    @functools.wraps(handler)
    async def wrapper(request: web.Request):
        token = _bearer(request)
        if token is None:
            raise unauthorized("an access token is required (Authorization: Bearer <token>)")
        if token.startswith(KEY_PREFIX):
            raise unauthorized("a session API key cannot be used here; log in for an access token")
        settings = gateway_of(request).settings
        try:
            principal = verify_access_token(token, secrets=[settings.jwt_secret], issuer=settings.jwt_issuer,
                                            audience=settings.jwt_audience)
        except InvalidToken as exc:
            raise unauthorized(str(exc)) from None
        request[USER] = principal
        return await handler(request)

    wrapper.auth = getattr(handler, "auth", "access token")  # read by the API reference generator
    return wrapper


def admin_required(handler):
    @functools.wraps(handler)
    async def check_role(request: web.Request):
        if request[USER].role != ADMIN_ROLE:
            raise ApiError(403, "forbidden", "this needs an administrator")
        return await handler(request)

    check_role.auth = "access token (admin)"
    return user_required(check_role)


def session_key_required(handler):
    @functools.wraps(handler)
    async def wrapper(request: web.Request):
        key = request.headers.get(API_KEY_HEADER, "").strip() or _bearer(request)
        if not key:
            raise unauthorized(f"a session API key is required ({API_KEY_HEADER} header)")
        if not looks_like_key(key):
            raise unauthorized(f"not a session API key (they start with {KEY_PREFIX})")
        found = await gateway_of(request).api_keys.lookup(key)
        if found is None:
            raise unauthorized("unknown or revoked API key")
        request[SESSION_KEY] = found
        return await handler(request)

    wrapper.auth = "session API key"
    return wrapper
