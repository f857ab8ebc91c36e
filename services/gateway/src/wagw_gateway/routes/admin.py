"""Administration of accounts: list them, change a tier or role, deactivate or reactivate.

A deactivated account's access tokens, refresh tokens and API keys stop working at once (its keys
are kept, and work again if it is reactivated; its logins are ended for good). An administrator
cannot demote or deactivate themselves, so the platform cannot be left without one by accident."""

from __future__ import annotations

from aiohttp import web
from wagw_common.logging import get_logger

from ..apidoc import api_doc
from ..auth import USER, admin_required
from ..deps import gateway_of
from ..errors import ApiError, not_found
from ..logins import announce_logins_ended
from ..schemas import UserChange, UserPage, UserQuery, UserView
from ..validation import load_body, load_query
from .accounts import user_view
from .paths import API, param

log = get_logger(__name__)
routes = web.RouteTableDef()
_QUERY, _CHANGE, _USER_VIEW = UserQuery(), UserChange(), UserView()
USER_PATH = f"{API}/admin/users/{param('user_id')}"
TAGS = ("administration",)


@routes.get(f"{API}/admin/users")
@api_doc(tags=TAGS, query=UserQuery, responses={200: UserPage})
@admin_required
async def list_users(request: web.Request) -> web.Response:
    """Every account, oldest first (`limit`, `offset`; `email` finds one)."""
    query = load_query(request, _QUERY)
    users, total = await gateway_of(request).users.page(email=query["email"], limit=query["limit"],
                                                        offset=query["offset"])
    return web.json_response({"users": [_USER_VIEW.dump(u) for u in users], "total": total})


@routes.get(USER_PATH)
@api_doc(tags=TAGS, responses={200: {"user": UserView}})
@admin_required
async def get_user(request: web.Request) -> web.Response:
    """One account."""
    user = await gateway_of(request).users.by_id(request.match_info["user_id"])
    if user is None:
        raise not_found("user")
    return web.json_response(user_view(user))


@routes.patch(USER_PATH)
@api_doc(tags=TAGS, body=UserChange, responses={200: {"user": UserView}}, errors=(409,))
@admin_required
async def change_user(request: web.Request) -> web.Response:
    """Change an account's tier (its session limit and send rate), role, or active flag."""
    gw, user_id = gateway_of(request), request.match_info["user_id"]
    changes = await load_body(request, _CHANGE)
    if user_id == request[USER].user_id and (changes.get("role", "admin") != "admin" or changes.get("active") is False):
        raise ApiError(409, "conflict", "administrators cannot demote or deactivate themselves")
    before = await gw.users.by_id(user_id)
    if before is None:
        raise not_found("user")
    # Deactivation ends every login for good (their tokens are of an older generation); keys just pause.
    deactivated = changes.get("active") is False and before.active
    user = await gw.users.update(user_id, changes, end_logins=deactivated)
    if user is None:
        raise not_found("user")
    await gw.accounts.changed(user)
    log.info("account.changed_by_admin", user_id=user_id, admin_id=request[USER].user_id, changes=changes)
    if deactivated:
        await announce_logins_ended(gw, user_id, "deactivated")
    return web.json_response(user_view(user))
