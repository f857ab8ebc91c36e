"""Who is calling, once authenticated: a user with an access token, or an API key."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from wagw_common.tokens import ADMIN_ROLE

from .api_keys import ApiKey


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    role: str
    tier: str
    key: ApiKey | None = None  # None: a logged-in user (access token), who holds every scope

    @property
    def is_admin(self) -> bool:
        return self.key is None and self.role == ADMIN_ROLE

    def allows(self, scope: str) -> bool:
        return self.key is None or self.key.allows(scope)

    @property
    def session_restriction(self) -> str | None:
        """The one session this caller may act on, or None for any of the tenant's."""
        return self.key.session_id if self.key is not None else None

    def may_act_on(self, session_id: str) -> bool:
        return self.session_restriction in (None, session_id)

    @property
    def idempotency_scope(self) -> str:
        """Whose Idempotency-Keys a key lives among: the API key's, or the user's."""
        return self.key.key_id if self.key is not None else self.tenant_id


CALLER = web.RequestKey("caller", Caller)


def client_address(request: web.Request, trusted_proxy_hops: int) -> str:
    """The client's address: the TCP peer, or, behind N trusted proxies, the Nth X-Forwarded-For
    entry from the right (entries further left are whatever the client chose to send)."""
    if trusted_proxy_hops > 0:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= trusted_proxy_hops:
            return forwarded[-trusted_proxy_hops]
    return request.remote or "unknown"
