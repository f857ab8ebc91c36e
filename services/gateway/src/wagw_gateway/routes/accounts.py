"""Sign-up, log-in and the caller's own account."""

from __future__ import annotations

from aiohttp import web
from wagw_common.logging import get_logger

from ..auth import USER, issue_token, unauthorized, user_required
from ..dependencies import gateway_of
from ..errors import ApiError
from ..schemas import AccessToken, Login, Register, UserView
from ..users import DEFAULT_TIER, EmailTaken, User, new_user_id, normalize_email, stored_now
from ..validation import load_body
from .paths import API

log = get_logger(__name__)
routes = web.RouteTableDef()
_REGISTER, _LOGIN, _USER_VIEW, _TOKEN = Register(), Login(), UserView(), AccessToken()
_BAD_CREDENTIALS = "email or password is incorrect"


def user_view(user: User) -> dict:
    return {"user": _USER_VIEW.dump(user)}


@routes.post(f"{API}/auth/register")
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
async def login(request: web.Request) -> web.Response:
    """Exchange email and password for an access token."""
    gw = gateway_of(request)
    body = await load_body(request, _LOGIN)
    user = await gw.users.by_email(body["email"])
    if not await gw.passwords.verify(user.password_hash if user else None, body["password"]) or user is None:
        log.info("account.login_refused")
        raise unauthorized(_BAD_CREDENTIALS)
    if gw.passwords.needs_rehash(user.password_hash):
        await gw.users.set_password_hash(user.user_id, await gw.passwords.hash(body["password"]))
    token = issue_token(user.principal, gw.settings)
    return web.json_response(_TOKEN.dump(
        {"access_token": token, "token_type": "Bearer", "expires_in": gw.settings.access_token_ttl}))


@routes.get(f"{API}/users/me")
@user_required
async def me(request: web.Request) -> web.Response:
    """The caller's profile."""
    user = await gateway_of(request).users.by_id(request[USER].user_id)
    if user is None:
        raise unauthorized("the account no longer exists")
    return web.json_response(user_view(user))
