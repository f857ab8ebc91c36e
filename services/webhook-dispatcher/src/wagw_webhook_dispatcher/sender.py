"""One delivery attempt: a Standard-Webhooks-signed POST, measured and summarised for the log."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import aiohttp
from standardwebhooks.webhooks import Webhook

from wagw_common.storage import utc_now

USER_AGENT = "wagw-webhook-dispatcher/0.1 (Standard Webhooks)"
RESPONSE_BODY_LIMIT = 1024


def signed_headers(secrets: list[str], *, message_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """Headers of the spec; one signature per secret, so a receiver mid-rotation accepts either key."""
    signatures = " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def succeeded(attempt: dict[str, Any]) -> bool:
    status = attempt.get("status_code")
    return status is not None and 200 <= status < 300


async def post_signed(client: aiohttp.ClientSession, *, url: str, secrets: list[str], message_id: str, body: str,
                      timeout: float) -> dict[str, Any]:
    """POST `body` to `url` and return the attempt record; never raises for the endpoint's failures."""
    at = utc_now()
    headers = signed_headers(secrets, message_id=message_id, timestamp=at, body=body)
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    response_body: str | None = None
    try:
        # Redirects are not followed: a redirect could lead the request somewhere the URL check never saw.
        async with client.post(url, data=body.encode(), headers=headers, allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            status_code = response.status
            raw = await response.content.read(RESPONSE_BODY_LIMIT)
            response_body = raw.decode("utf-8", errors="replace")
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
    except asyncio.TimeoutError:
        error = f"timed out after {timeout:g} s"
    except aiohttp.ClientError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    return {
        "at": at, "status_code": status_code, "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        "error": error, "response_body": response_body,
    }
