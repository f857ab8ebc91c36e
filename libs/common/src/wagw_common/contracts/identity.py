"""Identity questions the gateway answers for other services: it owns API keys (stored hashed), and
no other service reads its database."""

from __future__ import annotations

import hashlib

from marshmallow import fields, validate

from . import fields as f
from .base import Contract, Kind, StrictSchema

_TENANT_ID = "u_c9f0f895fb98ab91"
_SESSION_ID = "s_8f14e45fceea167a"

# Every right on the key's own session (a session API key); user-level keys list their scopes instead.
ALL_SCOPES = "*"
# What a user-level API key may be allowed, declared once (the gateway checks them, the API reference
# lists them). An access token (a logged-in user) holds them all; a key holds only those it was given.
SCOPES: dict[str, str] = {
    "sessions:read": "list and read sessions and their QR codes",
    "sessions:write": "create and connect sessions",
    "messages:send": "send messages",
    "messages:read": "read message history",
    "webhooks:read": "list webhook endpoints and their deliveries",
    "webhooks:write": "create and change webhook endpoints",
}


def api_key_digest(key: str) -> str:
    """What crosses the broker instead of the key itself: the hex SHA-256 of the whole key, which is
    also how the gateway stores it. A key is high-entropy random, so an unsalted hash is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


class ResolveApiKey(StrictSchema):
    key_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class ApiKeyIdentity(StrictSchema):
    key_id = f.object_id()
    tenant_id = f.object_id()
    # The one session the key may act on; null for a user-level key without a session restriction.
    session_id = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"))
    scopes = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True)


class AccountStandingQuery(StrictSchema):
    user_id = f.object_id()


class AccountStandingReply(StrictSchema):
    user_id = f.object_id()
    active = fields.Boolean(required=True)
    token_generation = fields.Integer(required=True, validate=validate.Range(min=0))


# Why every login of an account ended at once (the gateway bumped its token generation).
LOGINS_ENDED_REASONS = ("password_changed", "deactivated")


class LoginsEnded(StrictSchema):
    user_id = f.object_id()
    reason = fields.String(required=True, validate=validate.OneOf(LOGINS_ENDED_REASONS))


CONTRACTS = [
    Contract("apikey.resolve", Kind.QUERY, ResolveApiKey,
             "Who a live (not revoked) API key speaks for, found by the SHA-256 of the key; `not_found` otherwise",
             {"key_hash": api_key_digest("wagw_sk_example")},
             reply=ApiKeyIdentity,
             reply_example={"key_id": "k_1f0e3dad99908345", "tenant_id": _TENANT_ID, "session_id": _SESSION_ID,
                            "scopes": [ALL_SCOPES]},
             tags=("identity",)),
    Contract("account.standing", Kind.QUERY, AccountStandingQuery,
             "Whether an account is active and its current token generation, so another service refuses the "
             "access tokens the gateway refuses (wagw_common.token_standing); `not_found` if it no longer exists",
             {"user_id": _TENANT_ID},
             reply=AccountStandingReply,
             reply_example={"user_id": _TENANT_ID, "active": True, "token_generation": 2},
             tags=("identity",)),
    Contract("user.logins_ended", Kind.EVENT, LoginsEnded,
             "Every login of an account was ended (its password changed, or it was deactivated): tokens issued "
             "before are refused, and connections opened with them are closed",
             {"user_id": _TENANT_ID, "reason": "password_changed"}, tags=("identity",)),
]
