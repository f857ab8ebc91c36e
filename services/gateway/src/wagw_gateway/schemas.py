"""Shapes that exist only at the HTTP edge (accounts, tokens, API keys, administration). Everything
that crosses the broker is a contract in wagw_common.contracts and is reused from there, never
redeclared here."""

from __future__ import annotations

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema
from wagw_common.contracts import StrictSchema
from wagw_common.contracts.identity import ALL_SCOPES, SCOPES
from wagw_common.contracts.messages import Recipient

from .tiers import ROLES, TIERS

# argon2 takes any length, but an unbounded password is a free CPU/memory lever for an attacker.
PASSWORD_MAX = 1024
PASSWORD_MIN = 10
_ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$")


class ErrorBody(StrictSchema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw(required=True, allow_none=True)


class ErrorEnvelope(StrictSchema):
    error = fields.Nested(ErrorBody, required=True)


class _Credentials(StrictSchema):
    @pre_load
    def strip_email(self, data, **kwargs):
        # A pasted address often carries a stray space; that is not worth a refusal.
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            return {**data, "email": data["email"].strip()}
        return data


class Register(_Credentials):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=PASSWORD_MIN, max=PASSWORD_MAX),
                             load_only=True)
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class Login(_Credentials):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX), load_only=True)


class RefreshRequest(StrictSchema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=256))


class ChangePassword(StrictSchema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX), load_only=True)
    new_password = fields.String(required=True, validate=validate.Length(min=PASSWORD_MIN, max=PASSWORD_MAX),
                                 load_only=True)


class UserView(StrictSchema):
    user_id = fields.String(required=True)
    email = fields.String(required=True)
    name = fields.String(allow_none=True, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    active = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)


class TokenPair(StrictSchema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, validate=validate.Equal("Bearer"))
    expires_in = fields.Integer(required=True, metadata={"description": "seconds the access token is valid"})
    refresh_token = fields.String(required=True, metadata={"description": "single use: each refresh returns a new one"})
    refresh_expires_in = fields.Integer(required=True)


AccessToken = TokenPair  # the walking skeleton's name


class SessionUsage(StrictSchema):
    used = fields.Integer(required=True)
    limit = fields.Integer(required=True)


class MessageUsage(StrictSchema):
    day = fields.String(required=True, metadata={"description": "the UTC day counted, YYYY-MM-DD"})
    sent = fields.Integer(required=True, metadata={"description": "messages accepted for sending that day"})
    send_rate_per_minute = fields.Integer(required=True)


class Usage(StrictSchema):
    tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    sessions = fields.Nested(SessionUsage, required=True)
    messages = fields.Nested(MessageUsage, required=True)


class CreateApiKey(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    scopes = fields.List(fields.String(validate=validate.OneOf(tuple(SCOPES))), required=True,
                         validate=validate.Length(min=1, max=len(SCOPES)))
    session_id = fields.String(load_default=None, allow_none=True, validate=_ID,
                               metadata={"description": "restrict the key to this one session"})


class ApiKeyView(StrictSchema):
    key_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("session", "user")))
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "the key's first characters, to recognise it"})
    scopes = fields.List(fields.String(validate=validate.OneOf((ALL_SCOPES, *SCOPES))), required=True)
    session_id = fields.String(required=True, allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    last_used_at = fields.AwareDateTime(required=True, allow_none=True)
    rotated_at = fields.AwareDateTime(required=True, allow_none=True)


class ApiKeyIssued(StrictSchema):
    key = fields.Nested(ApiKeyView, required=True)
    api_key = fields.String(required=True, allow_none=True,
                            metadata={"description": "the key itself, shown only in this answer (null in a replay)"})


class UserQuery(StrictSchema):
    email = fields.String(load_default=None, validate=validate.Length(min=1, max=254))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class UserPage(StrictSchema):
    users = fields.List(fields.Nested(UserView), required=True)
    total = fields.Integer(required=True)


class UserChange(StrictSchema):
    tier = fields.String(validate=validate.OneOf(TIERS))
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()

    @validates_schema
    def something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one of tier, role, active")


class SendAccepted(StrictSchema):
    message_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.Equal("queued"))


class ForwardBody(StrictSchema):
    """Where to forward a message; it is sent as `POST /send` would send its content."""

    to = Recipient(required=True)
    queue = fields.Boolean(load_default=False)  # as for a send: wait until the session is connected
