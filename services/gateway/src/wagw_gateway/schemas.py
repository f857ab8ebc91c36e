"""Shapes that exist only at the HTTP edge (accounts). Everything that crosses the broker is a
contract in wagw_common.contracts and is reused from there, never redeclared here."""

from __future__ import annotations

from marshmallow import fields, pre_load, validate
from wagw_common.contracts import StrictSchema

from .users import ROLES, SESSION_LIMITS

# argon2 takes any length, but an unbounded password is a free CPU/memory lever for an attacker.
PASSWORD_MAX = 1024


class _Credentials(StrictSchema):
    @pre_load
    def strip_email(self, data, **kwargs):
        # A pasted address often carries a stray space; that is not worth a refusal.
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            return {**data, "email": data["email"].strip()}
        return data


class Register(_Credentials):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=10, max=PASSWORD_MAX), load_only=True)
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class Login(_Credentials):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX), load_only=True)


class UserView(StrictSchema):
    user_id = fields.String(required=True)
    email = fields.String(required=True)
    name = fields.String(allow_none=True, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    tier = fields.String(required=True, validate=validate.OneOf(tuple(SESSION_LIMITS)))
    created_at = fields.AwareDateTime(required=True)


class AccessToken(StrictSchema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, validate=validate.Equal("Bearer"))
    expires_in = fields.Integer(required=True)


class SendAccepted(StrictSchema):
    message_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.Equal("queued"))
