"""The caller's own account: profile, usage against the tier, password."""

from __future__ import annotations

from aiohttp import web
from wagw_common.logging import get_logger

from ..apidoc import api_doc
from ..auth import USER, unauthorized, user_required
from ..deps import gateway_of
from ..errors import ApiError
from ..logins import announce_logins_ended
from ..schemas import ChangePassword, TokenPair, Usage, UserView
from ..usage import today
from ..validation import invalid, load_body
from .accounts import token_pair, user_view
from .paths import API

log = get_logger(__name__)
routes = web.RouteTableDef()
_CHANGE, _USAGE = ChangePassword(), Usage()
TAGS = ("account",)


async def current_user(request: web.Request):
    user = await gateway_of(request).users.by_id(request[USER].user_id)
    if user is None:
        raise unauthorized("the account no longer exists")
    return user


@routes.get(f"{API}/users/me")
@api_doc(tags=TAGS, responses={200: {"user": UserView}})
@user_required
async def me(request: web.Request) -> web.Response:
    """The caller's profile."""
    return web.json_response(user_view(await current_user(request)))


@routes.get(f"{API}/users/me/usage")
@api_doc(tags=TAGS, responses={200: Usage})
@user_required
async def usage(request: web.Request) -> web.Response:
    """Sessions used against the tier's limit, and messages sent today (UTC) against the tier's send rate."""
    gw = gateway_of(request)
    user = await current_user(request)
    sessions = await gw.rpc.call("session.list", {"tenant_id": user.user_id})
    day = today()
    return web.json_response(_USAGE.dump({
        "tier": user.tier,
        "sessions": {"used": len(sessions["sessions"]), "limit": user.session_limit},
        "messages": {"day": day, "sent": await gw.usage.sent_on(user.user_id, day),
                     "send_rate_per_minute": gw.settings.tier_send_rates[user.tier]},
    }))


@routes.post(f"{API}/users/me/password")
@api_doc(tags=TAGS, body=ChangePassword, responses={200: TokenPair})
@user_required
async def change_password(request: web.Request) -> web.Response:
    """Change the password: every login ends, and the answer holds a fresh token pair for this one."""
    gw = gateway_of(request)
    body = await load_body(request, _CHANGE)
    user = await current_user(request)
    locked_for = await gw.login_guard.locked_for(user.email)  # the same guard as log-in: no guessing here either
    if locked_for:
        raise ApiError(429, "login_locked", f"too many wrong passwords for this account; retry in {locked_for} s",
                       {"retry_after": locked_for}, headers={"Retry-After": str(locked_for)})
    if not await gw.passwords.verify(user.password_hash, body["current_password"]):
        await gw.login_guard.failed(user.email)
        raise invalid({"current_password": ["is not the account's password"]})
    changed = await gw.users.change_password(user.user_id, await gw.passwords.hash(body["new_password"]))
    if changed is None:
        raise unauthorized("the account no longer exists")
    await gw.accounts.changed(changed)
    log.info("account.password_changed", user_id=user.user_id)
    await announce_logins_ended(gw, user.user_id, "password_changed")
    return web.json_response(await token_pair(gw, changed))
