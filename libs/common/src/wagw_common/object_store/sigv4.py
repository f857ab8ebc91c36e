"""AWS Signature Version 4 for S3: a request signed in its headers, and a presigned URL (query
auth) a third party can use without the keys. Only the standard library: the algorithm is a page of
hashing, and tests check it against AWS's published example."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def __repr__(self) -> str:  # never the secret in a log line
        return f"Credentials(access_key={self.access_key!r}, region={self.region!r})"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _encode(text: str, safe: str = "-_.~") -> str:
    return quote(text, safe=safe)


def _scope(creds: Credentials, day: str) -> str:
    return f"{day}/{creds.region}/s3/aws4_request"


def _signature(creds: Credentials, amz_date: str, canonical_request: str) -> str:
    day = amz_date[:8]
    to_sign = "\n".join((_ALGORITHM, amz_date, _scope(creds, day),
                         hashlib.sha256(canonical_request.encode()).hexdigest()))
    key = _hmac(("AWS4" + creds.secret_key).encode(), day)
    for part in (creds.region, "s3", "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _canonical(method: str, url: str, query: dict[str, str], headers: dict[str, str], payload_hash: str) -> str:
    path = urlsplit(url).path or "/"
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query.items()))
    names = sorted(h.lower() for h in headers)
    lowered = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    canonical_headers = "".join(f"{n}:{lowered[n]}\n" for n in names)
    return "\n".join((method, _encode(path, safe="/-_.~"), canonical_query, canonical_headers, ";".join(names),
                      payload_hash))


def amz_date(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def presign(creds: Credentials, method: str, url: str, expires_seconds: int, *, now: datetime | None = None,
            signed_headers: dict[str, str] | None = None) -> str:
    """`url` (no query of its own) with the query that lets its bearer run `method` on it until it
    expires. `signed_headers` (e.g. the Content-Type of an upload) must then be sent exactly."""
    when = amz_date(now)
    headers = {"host": urlsplit(url).netloc, **(signed_headers or {})}
    query = {
        "X-Amz-Algorithm": _ALGORITHM,
        "X-Amz-Credential": f"{creds.access_key}/{_scope(creds, when[:8])}",
        "X-Amz-Date": when,
        "X-Amz-Expires": str(expires_seconds),
        "X-Amz-SignedHeaders": ";".join(sorted(h.lower() for h in headers)),
    }
    signature = _signature(creds, when, _canonical(method, url, query, headers, UNSIGNED_PAYLOAD))
    query_string = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query.items()))
    return f"{url}?{query_string}&X-Amz-Signature={signature}"


def _query_pair(part: str) -> tuple[str, str]:
    name, _, value = part.partition("=")
    return name, value


def sign_headers(creds: Credentials, method: str, url: str, body: bytes = b"", *,
                 headers: dict[str, str] | None = None, now: datetime | None = None) -> dict[str, str]:
    """The headers that authenticate a request the platform sends itself (body hashed and signed)."""
    when = amz_date(now)
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = {"host": urlsplit(url).netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": when,
              **(headers or {})}
    query = dict(_query_pair(part) for part in urlsplit(url).query.split("&") if part)
    signature = _signature(creds, when, _canonical(method, url, query, signed, payload_hash))
    names = ";".join(sorted(h.lower() for h in signed))
    auth = (f"{_ALGORITHM} Credential={creds.access_key}/{_scope(creds, when[:8])}, "
            f"SignedHeaders={names}, Signature={signature}")
    return {**{k: v for k, v in signed.items() if k != "host"}, "Authorization": auth}
