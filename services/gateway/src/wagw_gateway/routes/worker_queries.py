"""Questions for a session's worker (`contracts/worker_queries.py`): does a number use WhatsApp, a
contact's profile, the session's own profile, its groups, and the group changes.

The gateway asks the orchestrator for the session (another tenant's is 404; one not CONNECTED is 409
`conflict`, `details.reason` `session_not_connected`, as for the chat actions) and then its worker
directly, waiting a bounded time (`WORKER_QUERY_TIMEOUT_SECONDS`): a connected session whose worker
cannot be reached is 503, one whose worker does not answer in time 504 `worker_timeout`. The worker's
answer is checked against the query's schema (an invalid one is 502). What the worker refuses maps
through `WORKER_REFUSALS`: a worker that does not implement a query is 501 `not_supported`.

Creating a group and changing its participants take effect on WhatsApp, so they take an
`Idempotency-Key` like every creating POST."""

from __future__ import annotations

from aiohttp import web
from wagw_common.contracts import worker_queries as q
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.worker_asker import WorkerRefused, WorkerTimeout

from ..apidoc import api_doc
from ..auth import authenticated
from ..deps import gateway_of
from ..errors import ApiError
from ..idempotent import idempotent
from ..validation import invalid, load_body, load_query
from .sessions import SESSION, fetch_session

routes = web.RouteTableDef()
TAGS = ("contacts and groups",)
# A WhatsApp id or a number in a path: checked by the query's own schema (422), not by the route.
_CONTACT, _GROUP = "{contact:[^/]{1,128}}", "{group:[^/]{1,128}}"
GROUP = f"{SESSION}/groups/{_GROUP}"
# The worker's refusal code -> the HTTP status the client sees.
WORKER_REFUSALS: dict[str, int] = {"not_supported": 501, "not_found": 404, "forbidden": 403, "invalid": 422,
                                   "failed": 502}
_ERRORS = (409, 501, 502, 504)


async def ask(request: web.Request, query: str, read_args=None) -> dict:
    """The session first (404 before anything else is said about a session not the caller's), then
    the query's arguments from the request (`read_args`), then the worker's answer."""
    session = await fetch_session(request, request.match_info["session_id"])
    if session["status"] != SessionStatus.CONNECTED:
        raise ApiError(409, "conflict", "the session is not connected",
                       {"reason": "session_not_connected", "status": session["status"]})
    if not session.get("worker_id"):
        raise ApiError(503, "unavailable", "the session has no worker now; retry later", headers={"Retry-After": "5"})
    args = await read_args(request) if read_args else {}
    try:
        return await gateway_of(request).worker_queries.ask(session["worker_id"], session["session_id"], query, args)
    except WorkerTimeout as exc:
        raise ApiError(504, exc.code, exc.message, exc.details) from None
    except WorkerRefused as exc:
        raise ApiError(WORKER_REFUSALS.get(exc.code, 502), exc.code, exc.message, exc.details) from None


def _from_path(schema: type, **names: str):
    """Path segments as a query's arguments, checked by its schema (422 with the field's complaint)."""
    async def read(request: web.Request) -> dict:
        args = {arg: request.match_info[segment] for arg, segment in names.items()}
        errors = schema().validate(args)
        if errors:
            raise invalid(errors)
        return args
    return read


async def _phone(request: web.Request) -> dict:
    return load_query(request, q.CheckNumberArgs())


async def _new_group(request: web.Request) -> dict:
    return await load_body(request, q.CreateGroupArgs())


async def _participants(request: web.Request) -> dict:
    body = await load_body(request, q.ParticipantsArgs(exclude=("group",)))
    return {**await _in_group(request), **body}


_in_group = _from_path(q.GroupArgs, group="group")
_contact = _from_path(q.ContactArgs, contact="contact")


def _question(method: str, path: str, name: str, query: str, summary: str, *, scope: str, responses: dict,
              read_args=None, body=None, query_args=None, status: int = 200, on_whatsapp: bool = False) -> None:
    """A route `name` that asks the session's worker `query` and answers its result. `on_whatsapp`:
    the question changes something there, so a retry must not do it twice (Idempotency-Key)."""
    async def view(request: web.Request) -> web.Response:
        return web.json_response(await ask(request, query, read_args), status=status)

    view.__name__ = view.__qualname__ = name
    view.__doc__ = summary
    if on_whatsapp:
        view = idempotent()(view)
    view = authenticated(scope=scope)(view)
    api_doc(tags=TAGS, body=body, query=query_args, responses=responses, errors=_ERRORS)(view)
    routes.route(method, path)(view)


_question("GET", f"{SESSION}/contacts/check", "check_number", "check_number",
          "Whether `phone` uses WhatsApp, and its WhatsApp id if it does, as the session's worker sees it.",
          scope="sessions:read", query_args=q.CheckNumberArgs, responses={200: q.NumberCheck}, read_args=_phone)
_question("GET", f"{SESSION}/contacts/{_CONTACT}/profile", "contact_profile", "contact_profile",
          "A contact's profile (name, about, picture URL) by number or WhatsApp id.",
          scope="sessions:read", responses={200: q.Profile}, read_args=_contact)
_question("GET", f"{SESSION}/profile", "own_profile", "own_profile",
          "The session's own WhatsApp profile (its number's id, name, about, picture URL).",
          scope="sessions:read", responses={200: q.Profile})
_question("GET", f"{SESSION}/groups", "list_groups", "groups",
          "The groups the session is in, each with its subject and participants.",
          scope="sessions:read", responses={200: q.GroupList})
_question("POST", f"{SESSION}/groups", "create_group", "group_create",
          "Create a group with a `subject` and its first `participants` (those not on WhatsApp are left out).",
          scope="sessions:write", body=q.CreateGroupArgs, responses={201: q.Group}, read_args=_new_group, status=201,
          on_whatsapp=True)
_question("POST", f"{GROUP}/participants", "change_participants", "group_participants",
          "`add`, `remove`, `promote` or `demote` `participants` of a group: each one's outcome (`done`, "
          "`unchanged`, `not_found`, `forbidden`).",
          scope="sessions:write", body=q.ParticipantsArgs(exclude=("group",)), responses={200: q.ParticipantsChanged},
          read_args=_participants, on_whatsapp=True)
_question("GET", f"{GROUP}/invite", "group_invite", "group_invite",
          "The group's invite link (the session must be one of its admins).",
          scope="sessions:read", responses={200: q.InviteLink}, read_args=_in_group)
_question("POST", f"{GROUP}/leave", "leave_group", "group_leave", "Leave the group (leaving one already left is 404).",
          scope="sessions:write", responses={200: q.GroupLeft}, read_args=_in_group)
