"""Another service's side of request/reply, scripted per request type."""

from __future__ import annotations

from typing import Any, Callable

from ..errors import RemoteError


class ScriptedRpc:
    """Answers each request type with a canned result, a function of the request's data, or an
    exception (raised); a type nobody scripted fails as an unreachable service would."""

    def __init__(self, replies: dict[str, Any | Callable[[dict[str, Any]], Any] | BaseException] | None = None):
        self.replies: dict[str, Any] = dict(replies or {})
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, request_type: str, data: dict[str, Any], *, subject: str | None = None,
                   timeout: float | None = None) -> Any:
        self.calls.append((request_type, data))
        reply = self.replies.get(request_type, RemoteError("unavailable", f"nobody answers {request_type}"))
        if isinstance(reply, BaseException):
            raise reply
        return reply(data) if callable(reply) else reply

    def asked(self, request_type: str) -> list[dict[str, Any]]:
        return [data for kind, data in self.calls if kind == request_type]
