"""Who is connecting: a user with an access token (JWT), or an API key limited to its one session.

Tokens are verified here, with the gateway's keys, and then held to the gateway's own rule
(wagw_common.token_standing) against the account's standing, which the gateway answers
(`account.standing`): a token issued before a password change or a deactivation is refused here as
it is there. API keys belong to the gateway, so they are resolved by asking it (`apikey.resolve`,
with the key's hash), never by reading its database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import jwt

from wagw_common.contracts.identity import ALL_SCOPES, api_key_digest
from wagw_common.errors import DomainError, RemoteError
from wagw_common.rpc import RpcClient
from wagw_common.token_standing import AccountStanding, token_refusal
from wagw_common.tokens import InvalidToken, TokenExpired, verify_access_token

from .settings import Settings

USER, API_KEY = "user", "api_key"
# A user-level key needs this scope to follow its session live; a session key holds every scope.
EVENTS_SCOPE = "sessions:read"
MAX_CREDENTIAL_LENGTH = 8192

Carried = TypeVar("Carried")


class AuthError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Identity:
    kind: str  # USER or API_KEY
    user_id: str  # the tenant whose events the connection may see
    role: str
    expires_at: float | None = None  # the access token's expiry (epoch seconds); None for an API key
    session_id: str | None = None  # API_KEY: the one session it may see
    key_id: str | None = None
    key_hash: str | None = None  # API_KEY: to check now and then that the key still stands

    @property
    def quota_owner(self) -> str:
        """What the connection limit counts against: the user, or the API key."""
        return f"key:{self.key_id}" if self.kind == API_KEY else f"user:{self.user_id}"

    # What only one kind of identity carries: asking another kind for it is a bug, not a refusal.
    @property
    def token_expiry(self) -> float:
        return _carried(self.expires_at, "expires_at", self)

    @property
    def key_session_id(self) -> str:
        return _carried(self.session_id, "session_id", self)

    @property
    def carried_key_hash(self) -> str:
        return _carried(self.key_hash, "key_hash", self)


def _carried(value: Carried | None, name: str, identity: Identity) -> Carried:
    if value is None:
        raise ValueError(f"a {identity.kind} identity carries no {name}")
    return value


async def identify_token(token: Any, settings: Settings, rpc: RpcClient) -> Identity:
    if not isinstance(token, str) or not token or len(token) > MAX_CREDENTIAL_LENGTH:
        raise AuthError("unauthorized", "an access token is required in the handshake auth: {token}")
    try:
        principal = verify_access_token(token, secrets=settings.jwt_verification_secrets, issuer=settings.jwt_issuer,
                                        audience=settings.jwt_audience)
    except TokenExpired as exc:
        raise AuthError("token_expired", str(exc)) from None
    except InvalidToken as exc:
        raise AuthError("unauthorized", str(exc)) from None
    refusal = token_refusal(principal, await _standing_of(principal.user_id, rpc))
    if refusal is not None:
        raise AuthError("unauthorized", refusal)
    # Verified just above; read the expiry the Principal does not carry.
    expires_at = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    return Identity(USER, principal.user_id, principal.role, expires_at=expires_at)


async def _ask_gateway(rpc: RpcClient, request_type: str, data: dict, *, checking: str) -> dict | None:
    """The gateway's answer; None when it answers `not_found`; `unavailable` when it cannot answer."""
    try:
        return await rpc.call(request_type, data)
    except RemoteError as err:
        if err.code == "not_found":
            return None
        raise AuthError("unavailable", f"the {checking} cannot be checked right now") from None
    except DomainError:  # Unavailable: the gateway did not answer in time
        raise AuthError("unavailable", f"the {checking} cannot be checked right now") from None


async def _standing_of(user_id: str, rpc: RpcClient) -> AccountStanding | None:
    found = await _ask_gateway(rpc, "account.standing", {"user_id": user_id}, checking="access token")
    return AccountStanding(found["user_id"], found["active"], found["token_generation"]) if found else None


async def identify_api_key(key: Any, rpc: RpcClient) -> Identity:
    if not isinstance(key, str) or not key or len(key) > MAX_CREDENTIAL_LENGTH or not key.isascii():
        raise AuthError("unauthorized", "not an API key")
    return await resolve_api_key(api_key_digest(key), rpc)


async def resolve_api_key(key_hash: str, rpc: RpcClient) -> Identity:
    found = await _ask_gateway(rpc, "apikey.resolve", {"key_hash": key_hash}, checking="API key")
    if found is None:
        raise AuthError("unauthorized", "unknown or revoked API key")
    if not found.get("session_id"):
        raise AuthError("forbidden", "this API key is not bound to a session; connect with an access token")
    if not {ALL_SCOPES, EVENTS_SCOPE} & set(found.get("scopes") or ()):
        raise AuthError("forbidden", f"this API key lacks the {EVENTS_SCOPE} scope")
    return Identity(API_KEY, found["tenant_id"], "api_key", session_id=found["session_id"], key_id=found["key_id"],
                    key_hash=key_hash)


async def identify(auth: Any, settings: Settings, rpc: RpcClient) -> Identity:
    """The handshake's `auth`: `{token: <access token>}` or `{api_key: <session API key>}`."""
    if not isinstance(auth, dict):
        raise AuthError("unauthorized", "credentials are required in the handshake auth: {token} or {api_key}")
    if auth.get("api_key") is not None:
        return await identify_api_key(auth["api_key"], rpc)
    return await identify_token(auth.get("token"), settings, rpc)
