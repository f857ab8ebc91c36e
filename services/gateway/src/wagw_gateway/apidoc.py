"""The API reference of each route, declared beside the route.

    @routes.get(f"{API}/sessions")
    @api_doc(tags=("sessions",), responses={200: {"sessions": [SessionView]}})
    @authenticated(scope="sessions:read")
    async def list_sessions(request): ...

`openapi.py` turns these, the routes' paths and the authentication decorators' marks into the OpenAPI
document. The summary is the first line of the view's docstring unless given. Bodies, queries and
answers are marshmallow schemas (classes or instances); an answer may also be a dict of field name to
schema, `[Schema]` (a list of them) or a marshmallow field, for the usual `{"session": {...}}` wrappers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


class Media(dict):
    """An answer offered in several media types: {media type: shape}; a shape of None is opaque bytes
    (an image, say), e.g. Media({"application/json": {"qr": ...}, "image/png": None})."""


@dataclass(frozen=True)
class FilePart:
    """A multipart/form-data body carrying one file in the part `name`: the types the route takes
    (`image/*` wildcards allowed) and its size limit, read from the running app's settings."""

    name: str
    types: tuple[str, ...]
    max_bytes: Callable[[Any], int]  # the app -> the largest file it takes
    description: str = ""


@dataclass(frozen=True)
class Operation:
    tags: tuple[str, ...]
    responses: dict[int, Any]  # status -> answer shape (None: no body)
    body: Any = None
    query: Any = None
    summary: str | None = None
    description: str | None = None
    errors: tuple[int, ...] = ()  # statuses beyond those every operation of its kind may answer
    headers: dict[str, str] = field(default_factory=dict)  # request headers it reads -> meaning
    content_type: str = "application/json"  # of the successful answers


def api_doc(*, tags: tuple[str, ...], responses: dict[int, Any], body: Any = None, query: Any = None,
            summary: str | None = None, description: str | None = None, errors: tuple[int, ...] = (),
            headers: dict[str, str] | None = None, content_type: str = "application/json"):
    def decorate(handler):
        handler.openapi = Operation(tags=tuple(tags), responses=responses, body=body, query=query, summary=summary,
                                    description=description, errors=tuple(errors), headers=dict(headers or {}),
                                    content_type=content_type)
        return handler

    return decorate


def operation_of(handler) -> Operation | None:
    return getattr(handler, "openapi", None)


def summary_and_description(handler: Any) -> tuple[str, str]:
    """A route's docstring as its summary (the first paragraph, however it is wrapped) and the rest."""
    first, _, rest = (handler.__doc__ or "").strip().partition("\n\n")
    summary = " ".join(line.strip() for line in first.splitlines()) or handler.__name__.replace("_", " ")
    return summary, " ".join(line.strip() for line in rest.splitlines()).strip()
