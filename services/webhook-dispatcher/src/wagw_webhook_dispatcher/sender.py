"""One delivery attempt: a Standard-Webhooks-signed POST, measured and summarised for the log."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from standardwebhooks.webhooks import Webhook

from wagw_common.storage import utc_now

from .retries import parse_retry_after
from .ssrf import DestinationPolicy, DestinationRefused, GuardedResolver, url_refusal

USER_AGENT = "wagw-webhook-dispatcher/0.2 (Standard Webhooks)"
RESPONSE_BODY_LIMIT = 1024




def http_client(policy: DestinationPolicy, *, limit: int, dns: Any = None) -> aiohttp.ClientSession:
    """A session whose resolver refuses private answers (DNS rebinding); made in a running loop."""
    connector = aiohttp.TCPConnector(limit=limit, resolver=GuardedResolver(policy, dns), force_close=False)
    # No cookies: one customer's endpoint must never set state seen by another's deliveries.
    # No proxies from the environment: the destination check must see the real destination.
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)


def signed_headers(secrets: list[str], *, message_id: str, timestamp: datetime, body: str,
                   custom: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of the spec; one signature per secret, so a receiver mid-rotation accepts either key."""
    signatures = " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)
    return {
        **(custom or {}),  # reserved names were refused at registration; the spec's headers win anyway
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None
    response_body: str | None = None
    retry_after: float | None = None  # seconds the endpoint asked us to wait (Retry-After)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def record(self, *, cycle: int, attempt: int) -> dict[str, Any]:
        """What the delivery log keeps of it."""
        return {"at": self.at, "status_code": self.status_code, "latency_ms": self.latency_ms, "error": self.error,
                "response_body": self.response_body, "cycle": cycle, "attempt": attempt}


def _refusal_of(exc: BaseException | None) -> str | None:
    while exc is not None:
        if isinstance(exc, DestinationRefused):
            return exc.reason
        exc = exc.__cause__ or getattr(exc, "os_error", None)
    return None


async def post_signed(client: aiohttp.ClientSession, policy: DestinationPolicy, *, url: str, secrets: list[str],
                      message_id: str, body: str, timeout: float, headers: dict[str, str] | None = None) -> Attempt:
    """POST `body` to `url`; never raises for the endpoint's failures, or for a refused destination."""
    at = utc_now()
    started = time.perf_counter()

    def done(status_code=None, error=None, response_body=None, retry_after=None) -> Attempt:
        return Attempt(at, status_code, round((time.perf_counter() - started) * 1000, 1), error, response_body,
                       retry_after)

    # Checked again at every attempt: the allowlist may have changed, and an IP literal skips the resolver.
    refusal = url_refusal(url, policy)
    if refusal is not None:
        return done(error=f"destination refused: {refusal}")
    signed = signed_headers(secrets, message_id=message_id, timestamp=at, body=body, custom=headers)
    try:
        # Redirects are not followed: a redirect could lead the request somewhere no check has seen.
        async with client.post(url, data=body.encode(), headers=signed, allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            raw = await response.content.read(RESPONSE_BODY_LIMIT)
            status = response.status
            return done(status, None if 200 <= status < 300 else f"HTTP {status}",
                        raw.decode("utf-8", errors="replace"), parse_retry_after(response.headers.get("Retry-After")))
    except asyncio.TimeoutError:
        return done(error=f"timed out after {timeout:g} s")
    except aiohttp.ClientError as exc:
        refused = _refusal_of(exc)
        if refused is not None:
            return done(error=f"destination refused: {refused}")
        return done(error=f"{type(exc).__name__}: {exc}"[:500])


class WebhookClient:
    """What every attempt posts with: built with the service's dependencies, its session opened in a
    cleanup context before the consumers start and closed after they stopped (attempts in flight)."""

    def __init__(self, policy: DestinationPolicy, *, limit: int, timeout: float, dns: Any = None):
        self.policy, self.limit, self.timeout, self.dns = policy, limit, timeout, dns
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = http_client(self.policy, limit=self.limit, dns=self.dns)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(self, *, url: str, secrets: list[str], message_id: str, body: str,
                   headers: dict[str, str] | None = None) -> Attempt:
        if self._session is None:
            raise RuntimeError("the webhook client is not open yet")
        return await post_signed(self._session, self.policy, url=url, secrets=secrets, message_id=message_id,
                                 body=body, timeout=self.timeout, headers=headers)
