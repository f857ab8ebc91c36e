"""Errors a handler raises on purpose. They cross the broker as a reply and become HTTP at the edge."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request that cannot be done as asked. Not retried, not dead-lettered: the caller is told."""

    code = "invalid"

    def __init__(self, message: str, details: Any = None, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class LimitExceeded(DomainError):
    code = "limit_exceeded"


class Unavailable(DomainError):
    code = "unavailable"


class RemoteError(DomainError):
    """A DomainError raised by the service at the other end of a request/reply call."""

    def __init__(self, code: str, message: str, details: Any = None):
        super().__init__(message, details, code=code)
