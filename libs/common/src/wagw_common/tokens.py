"""Access tokens: HS256 JWTs with a pinned algorithm, issuer, audience, expiry and key id.

The gateway signs them; the realtime service (and anything else) only verifies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import jwt

from .storage import utc_now

ALGORITHM = "HS256"
ADMIN_ROLE = "admin"


class InvalidToken(Exception):
    pass


class TokenExpired(InvalidToken):
    pass


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    tier: str
    # The account's token generation: bumped when its password changes, so older tokens stop working.
    generation: int = 0


def key_id(secret: str) -> str:
    # Derived from the key, so a rotated key gets a new kid without anyone choosing one.
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def issue_access_token(principal: Principal, *, secret: str, issuer: str, audience: str, ttl: timedelta) -> str:
    now = utc_now()
    claims = {"sub": principal.user_id, "role": principal.role, "tier": principal.tier, "gen": principal.generation,
              "iss": issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": key_id(secret)})


def verify_access_token(token: str, *, secrets: list[str], issuer: str, audience: str) -> Principal:
    """Accepts a token signed by any of `secrets` (the current key first, then ones being retired)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    keys = {key_id(s): s for s in secrets}
    if kid not in keys:
        raise InvalidToken("unknown signing key")
    try:
        claims = jwt.decode(token, keys[kid], algorithms=[ALGORITHM], issuer=issuer, audience=audience,
                            options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("invalid token") from exc
    generation = claims.get("gen", 0)
    return Principal(user_id=claims["sub"], role=claims.get("role", "user"), tier=claims.get("tier", "BASIC"),
                     generation=generation if isinstance(generation, int) else -1)
