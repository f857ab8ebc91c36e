"""Sign-up, log-in, token refresh and log-out. Every route here is limited per client address, and
log-in is also protected against password guessing per email address."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from wagw_common.logging import get_logger

from ..apidoc import api_doc
from ..auth import address_limited, issue_token, unauthorized
from ..deps import Deps, gateway_of
from ..errors import ApiError
from ..refresh_tokens import RefreshRefused
from ..schemas import Login, RefreshRequest, Register, TokenPair, UserView
from ..users import DEFAULT_TIER, EmailTaken, User, new_user_id, normalize_email, stored_now
from ..validation import load_body
from .paths import API

log = get_logger(__name__)
routes = web.RouteTableDef()
_REGISTER, _LOGIN, _REFRESH, _USER_VIEW, _TOKENS = Register(), Login(), RefreshRequest(), UserView(), TokenPair()
_BAD_CREDENTIALS = "email or password is incorrect"
TAGS = ("auth",)


def user_view(user: User) -> dict:
    return {"user": _USER_VIEW.dump(user)}


async def token_pair(gw: Deps, user: User, refresh_token: str | None = None) -> dict:
    """An access token, and a refresh token: the next of its family, or the first of a new one."""
    ttl = timedelta(seconds=gw.settings.refresh_token_ttl)
    if refresh_token is None:
        refresh_token = await gw.refresh_tokens.start_family(user.user_id, user.token_generation, ttl)
    return _TOKENS.dump({"access_token": issue_token(user.principal, gw.settings), "token_type": "Bearer",
                         "expires_in": gw.settings.access_token_ttl, "refresh_token": refresh_token,
                         "refresh_expires_in": gw.settings.refresh_token_ttl})


@routes.post(f"{API}/auth/register")
@api_doc(tags=TAGS, body=Register, responses={201: {"user": UserView}}, errors=(409,))
@address_limited
async def register(request: web.Request) -> web.Response:
    """Create an account (email, password, optional name)."""
    gw = gateway_of(request)
    body = await load_body(request, _REGISTER)
    email = normalize_email(body["email"])
    user = User(
        user_id=new_user_id(), email=email, name=body["name"], password_hash=await gw.passwords.hash(body["password"]),
        role="admin" if email in gw.settings.admin_emails else "user", tier=DEFAULT_TIER, created_at=stored_now(),
    )
    try:
        await gw.users.add(user)
    except EmailTaken:
        raise ApiError(409, "conflict", "an account with this email already exists",
                       {"email": ["already registered"]}) from None
    log.info("account.registered", user_id=user.user_id, role=user.role)
    return web.json_response(user_view(user), status=201)


@routes.post(f"{API}/auth/login")
@api_doc(tags=TAGS, body=Login, responses={200: TokenPair}, errors=(401,))
@address_limited
async def login(request: web.Request) -> web.Response:
    """Exchange email and password for an access token and a refresh token."""
    gw = gateway_of(request)
    body = await load_body(request, _LOGIN)
    locked_for = await gw.login_guard.locked_for(body["email"])
    if locked_for:
        raise ApiError(429, "login_locked", f"too many failed log-ins for this account; retry in {locked_for} s",
                       {"retry_after": locked_for}, headers={"Retry-After": str(locked_for)})
    user = await gw.users.by_email(body["email"])
    if not await gw.passwords.verify(user.password_hash if user else None, body["password"]) or user is None:
        await gw.login_guard.failed(body["email"])
        log.info("account.login_refused")
        raise unauthorized(_BAD_CREDENTIALS)
    if not user.active:
        raise unauthorized("the account is deactivated")
    await gw.login_guard.succeeded(body["email"])
    if gw.passwords.needs_rehash(user.password_hash):
        await gw.users.set_password_hash(user.user_id, await gw.passwords.hash(body["password"]))
    return web.json_response(await token_pair(gw, user))


@routes.post(f"{API}/auth/refresh")
@api_doc(tags=TAGS, body=RefreshRequest, responses={200: TokenPair}, errors=(401,))
@address_limited
async def refresh(request: web.Request) -> web.Response:
    """Trade a refresh token for a new access token and a new refresh token (the old one is spent).

    Presenting a spent token again ends the whole login: it was copied."""
    gw = gateway_of(request)
    body = await load_body(request, _REFRESH)
    ttl = timedelta(seconds=gw.settings.refresh_token_ttl)
    try:
        family, successor = await gw.refresh_tokens.rotate(body["refresh_token"], ttl)
    except RefreshRefused as exc:
        log.info("account.refresh_refused", reason=str(exc))
        raise unauthorized(str(exc)) from None
    user = await gw.users.by_id(family.user_id)
    if user is None or not user.active or user.token_generation != family.token_generation:
        await gw.refresh_tokens.revoke(family.family_id, "account_changed")
        raise unauthorized("this login was ended (password changed or account deactivated); log in again")
    return web.json_response(await token_pair(gw, user, successor))


@routes.post(f"{API}/auth/logout")
@api_doc(tags=TAGS, body=RefreshRequest, responses={204: None})
@address_limited
async def logout(request: web.Request) -> web.Response:
    """End a login: its refresh token stops working (204, also when it already did).

    The access token lapses by itself within its short lifetime."""
    body = await load_body(request, _REFRESH)
    await gateway_of(request).refresh_tokens.revoke_token(body["refresh_token"])
    return web.Response(status=204)
