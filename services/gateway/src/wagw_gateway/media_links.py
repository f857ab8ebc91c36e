"""Download links for received files. A link names the tenant, the message and its expiry, and is
signed by the gateway (HMAC-SHA256 with a key derived from JWT_SECRET), so it works without
credentials (an <img> tag, a webhook consumer) until it expires, and only for the message it names."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

_PURPOSE = b"wagw media link v1"


def _key(secret: str) -> bytes:
    # A key of its own, so a link's signature can never pass for a token's or the other way round.
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def signature(secret: str, tenant_id: str, message_id: str, expires: int) -> str:
    payload = f"{tenant_id}\n{message_id}\n{expires}".encode()
    return hmac.new(_key(secret), payload, hashlib.sha256).hexdigest()


def link(secret: str, tenant_id: str, message_id: str, ttl_seconds: int, *,
         now: float | None = None) -> tuple[str, int]:
    """The path and query of a download link, and when it expires (Unix seconds)."""
    expires = int(now if now is not None else time.time()) + ttl_seconds
    query = urlencode({"tenant": tenant_id, "expires": expires,
                       "signature": signature(secret, tenant_id, message_id, expires)})
    return f"/api/v1/media/{message_id}?{query}", expires


def valid(secret: str, tenant_id: str, message_id: str, expires: int, given: str) -> bool:
    """The signature is the gateway's for exactly these three (the expiry is checked by the caller)."""
    return hmac.compare_digest(signature(secret, tenant_id, message_id, expires), given)
