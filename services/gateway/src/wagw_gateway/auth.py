"""Authentication, scopes and rate limits, stated per view with one decorator.

`@authenticated(scope=..., keys=..., users=..., admin=...)` accepts an access token (a logged-in user,
who holds every scope) and/or an API key (which holds only its scopes, perhaps for one session). It
checks the account is still active (and, for a token, of the account's current generation), puts the
`Caller` on the request and counts the request against its rate limit. Send routes count themselves
(`admit_send`), after validation, so a refused body costs no send budget."""

from __future__ import annotations

import functools
from datetime import timedelta

from aiohttp import web
from wagw_common.token_standing import token_refusal
from wagw_common.tokens import InvalidToken, Principal, issue_access_token, verify_access_token

from .api_keys import KEY_PREFIXES, ApiKey, looks_like_key
from .callers import CALLER, Caller, client_address
from .deps import gateway_of
from .errors import ApiError
from .ratelimit import RATE_LIMIT, Decision, Limit, api_key_limit, send_limit
from .send_reads import account_and_session_status
from .settings import Settings
from .usage import counter_key, today

USER = web.RequestKey("user", Principal)  # the logged-in user, when an access token was used
SESSION_KEY = web.RequestKey("session_key", ApiKey)  # the API key, when one was used
API_KEY_HEADER = "X-API-Key"
BEARER, API_KEY = "bearerAuth", "apiKeyAuth"  # the security schemes of the API reference


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="wagw"'})


def revoked_key() -> ApiError:
    return unauthorized("unknown or revoked API key")


def deactivated_account() -> ApiError:
    return unauthorized("the key's account is deactivated")


def missing_scope(scope: str) -> ApiError:
    return ApiError(403, "insufficient_scope", f"this API key does not hold the scope {scope}",
                    {"required_scope": scope})


def rate_limited(decision: Decision) -> ApiError:
    return ApiError(429, "rate_limited", f"too many requests; retry in {max(1, decision.reset)} s",
                    {"limit": decision.scope, "retry_after": max(1, decision.reset)}, headers=decision.headers())


def presented_key(request: web.Request, bearer: str | None) -> str | None:
    """The API key of a request: the X-API-Key header, else the bearer credentials (whatever they are)."""
    return request.headers.get(API_KEY_HEADER, "").strip() or bearer


def issue_token(principal: Principal, settings: Settings) -> str:
    return issue_access_token(principal, secret=settings.jwt_secret, issuer=settings.jwt_issuer,
                              audience=settings.jwt_audience, ttl=timedelta(seconds=settings.access_token_ttl))


def bearer_of(request: web.Request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


async def _as_user(request: web.Request, token: str) -> Caller:
    gw = gateway_of(request)
    settings = gw.settings
    try:
        principal = verify_access_token(token, secrets=settings.jwt_verification_secrets, issuer=settings.jwt_issuer,
                                        audience=settings.jwt_audience)
    except InvalidToken as exc:
        raise unauthorized(str(exc)) from None
    state = await gw.accounts.get(principal.user_id)
    refusal = token_refusal(principal, state)
    if refusal is not None:
        raise unauthorized(refusal)
    if state is None:  # token_refusal refuses an account that no longer exists
        raise ValueError(f"token_refusal let the token of a missing account {principal.user_id} stand")
    request[USER] = Principal(state.user_id, state.role, state.tier, state.token_generation)
    return Caller(tenant_id=state.user_id, role=state.role, tier=state.tier)


async def _as_key(request: web.Request, key: str, *, send: bool = False) -> Caller:
    gw = gateway_of(request)
    if not looks_like_key(key):
        raise unauthorized(f"not an API key (they start with {' or '.join(KEY_PREFIXES)})")
    found = await gw.api_keys.lookup(key)
    if found is None:
        raise revoked_key()
    if send and found.session_id:
        state = await account_and_session_status(request, gw.accounts, gw.redis, found.tenant_id, found.session_id)
    else:
        state = await gw.accounts.get(found.tenant_id)
    if state is None or not state.active:
        raise deactivated_account()
    request[SESSION_KEY] = found
    gw.api_keys.touch_soon(found.key_id)
    return Caller(tenant_id=found.tenant_id, role=state.role, tier=state.tier, key=found)


async def _identify(request: web.Request, *, users: bool, keys: bool, send: bool = False) -> Caller:
    bearer = bearer_of(request)
    bearer_is_key = bearer is not None and bearer.startswith(KEY_PREFIXES)
    if users and bearer is not None and not bearer_is_key:
        return await _as_user(request, bearer)
    if keys:
        key = presented_key(request, bearer)
        if key:
            return await _as_key(request, key, send=send)
        wanted = "an access token (Authorization: Bearer) or " if users else ""
        raise unauthorized(f"{wanted}an API key ({API_KEY_HEADER} header) is required")
    if bearer is None:
        raise unauthorized("an access token is required (Authorization: Bearer <token>)")
    raise unauthorized("an API key cannot be used here; log in for an access token")


async def enforce(request: web.Request, limits: list[Limit], counters: tuple[str, ...] = ()) -> None:
    decision = await gateway_of(request).limiter.hit(limits, counters=counters)
    if decision is None:
        return
    request[RATE_LIMIT] = decision
    if not decision.allowed:
        raise rate_limited(decision)


def _caller_limit(caller: Caller, settings: Settings) -> Limit:
    if caller.key is not None:
        return api_key_limit(caller.key.key_id, settings)
    return Limit("user", caller.tenant_id, settings.rate_limit_user)


async def admit_send(request: web.Request) -> str:
    """Count one message against the caller's limit and the tier's send rate, and in today's usage.
    Returns the day it was counted on (to take it back if the broker refuses the message)."""
    gw, caller, day = gateway_of(request), request[CALLER], today()
    await enforce(request, [_caller_limit(caller, gw.settings), send_limit(caller.tenant_id, caller.tier, gw.settings)],
                  counters=(counter_key(caller.tenant_id, day),))
    return day


def _describe(users: bool, keys: bool, admin: bool, scope: str | None) -> str:
    if admin:
        return "access token (admin)"
    kinds = " or ".join(k for k, on in (("access token", users), ("API key", keys)) if on)
    return f"{kinds} (`{scope}`)" if scope and keys else kinds


def authenticated(*, scope: str | None = None, users: bool = True, keys: bool = True, admin: bool = False,
                  send: bool = False):
    """`send=True`: the view calls `admit_send` itself once the body is valid."""
    def decorate(handler):
        @functools.wraps(handler)
        async def wrapper(request: web.Request):
            caller = await _identify(request, users=users, keys=keys, send=send)
            if admin and not caller.is_admin:
                raise ApiError(403, "forbidden", "this needs an administrator")
            if scope and not caller.allows(scope):
                raise missing_scope(scope)
            request[CALLER] = caller
            if not send:
                await enforce(request, [_caller_limit(caller, gateway_of(request).settings)])
            return await handler(request)

        # Read by the API reference: who may call, with which scope.
        wrapper.auth = _describe(users, keys, admin, scope)
        wrapper.security = [s for s, on in ((BEARER, users), (API_KEY, keys)) if on]
        wrapper.scope = scope
        return wrapper

    return decorate


def user_required(handler):
    """A logged-in user (access token) only."""
    return authenticated(keys=False)(handler)


def admin_required(handler):
    """A logged-in administrator only."""
    return authenticated(keys=False, admin=True)(handler)


def address_limited(handler):
    """The per-client-address limit of the /auth routes (no authentication)."""
    @functools.wraps(handler)
    async def wrapper(request: web.Request):
        settings = gateway_of(request).settings
        address = client_address(request, settings.trusted_proxy_hops)
        await enforce(request, [Limit("auth-ip", address, settings.rate_limit_auth)])
        return await handler(request)

    return wrapper
