"""A first guard against webhooks aimed at our own network (SSRF), applied when an endpoint is created.

It only looks at the URL: `localhost` and IP literals that are not public addresses are refused.
Names that resolve to private addresses are not caught here; that needs a check at connection
time (a later issue), since DNS answers can change between registration and delivery."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from wagw_common.errors import DomainError


def private_destination(url: str) -> str | None:
    """Why `url` points at a non-public destination, or None when it does not (as far as the URL says)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return "the URL has no host"
    if host == "localhost" or host.endswith(".localhost"):
        return "localhost is not reachable from the platform"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a DNS name
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    # `is_global` rules out loopback, private, link-local, unspecified, shared (CGNAT) and reserved ranges.
    if not address.is_global or address.is_multicast:
        return f"{address} is not a public address"
    return None


def refuse_private_destination(url: str, *, allow_private_networks: bool) -> None:
    if allow_private_networks:
        return
    reason = private_destination(url)
    if reason is not None:
        raise DomainError("the webhook URL must point to a public address", {"url": [reason]})
