"""What a client sends, the control events it is sent, and every error code, declared once: the
handlers use these names and the frontend guide (docs/realtime.md) is generated from them."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import fields, validate

from wagw_common.contracts import StrictSchema
from wagw_common.contracts import fields as f

# Server -> client control events.
ERROR = "error"  # {code, message, details}: a request failed (its ack says the same)
AUTH_EXPIRING = "auth.expiring"  # {expires_at, seconds_left}: send `reauth` with a fresh token
AUTH_ENDED = "auth.ended"  # {code, message}: the server disconnects right after


class SessionRequest(StrictSchema):
    session_id = f.object_id()


class ReauthRequest(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=8192))


@dataclass(frozen=True)
class ClientRequest:
    name: str
    schema: type[StrictSchema]
    payload: str
    ack: str
    summary: str


SUBSCRIBE = ClientRequest(
    "subscribe", SessionRequest, "`{session_id}`", "`{ok: true, session_id}`",
    "Join the session's room after an ownership check; its current `session.status` (and `session.qr` or "
    "`session.pairing_code` when one is pending) follow at once")
UNSUBSCRIBE = ClientRequest(
    "unsubscribe", SessionRequest, "`{session_id}`", "`{ok: true, session_id}`",
    "Leave the session's room (a user still gets the session's events through their user room)")
REAUTH = ClientRequest(
    "reauth", ReauthRequest, "`{token}`", "`{ok: true, expires_at}`",
    "Replace the connection's access token with a fresh one of the same user, before the old one expires")
REQUESTS = (SUBSCRIBE, UNSUBSCRIBE, REAUTH)

CONTROL_EVENTS = (
    (ERROR, "`code`, `message`, `details`", "A request failed; the request's ack says the same"),
    (AUTH_EXPIRING, "`expires_at`, `seconds_left`",
     "The connection's access token expires soon: send `reauth` with a fresh one"),
    (AUTH_ENDED, "`code`, `message`",
     "The connection's credentials ended (`token_expired`, `key_revoked`, `logins_ended`); the server disconnects "
     "right after"),
)

# code -> (where it appears, meaning)
ERROR_CODES = {
    "unauthorized": ("connect_error, error", "no credentials, a malformed or forged token, a token the gateway refuses "
                     "(issued before a password change, or the account deactivated), or an unknown or revoked API key"),
    "token_expired": ("connect_error, auth.ended, error",
                      "the access token has expired: get a fresh one from the gateway, then connect again"),
    "forbidden": ("connect_error, error",
                  "an API key not bound to one session (or without `sessions:read`), an API-key connection "
                  "subscribing to another session, or a `reauth` token of another user"),
    "too_many_connections": ("connect_error", "the user (or API key) already holds its maximum of connections"),
    "key_revoked": ("auth.ended", "the API key of this connection was revoked"),
    "logins_ended": ("auth.ended", "every login of the account was ended (its password changed, or it was "
                                   "deactivated): log in again"),
    "unavailable": ("connect_error, error", "a service behind realtime did not answer in time: try again shortly"),
    "invalid": ("error", "the request's payload does not match (`details` names the fields)"),
    "not_found": ("error", "no such session for this user (someone else's session looks the same)"),
    "payload_too_large": ("error", "the request's payload is larger than `REALTIME_MAX_PAYLOAD_BYTES`"),
    "rate_limited": ("error", "too many requests on this connection: wait `details.retry_after` seconds"),
    "too_many_subscriptions": ("error", "this connection is subscribed to its maximum of sessions"),
    "unknown_event": ("error", "the server does not handle this event name"),
    "internal": ("error", "the server failed to handle the request; it is logged"),
}
