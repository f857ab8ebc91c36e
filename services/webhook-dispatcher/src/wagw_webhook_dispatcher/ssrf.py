"""Webhooks must not be turned against our own network (SSRF).

A URL is checked twice. At registration: its scheme, credentials, host name and, when the name
resolves, every address it resolves to. At every attempt: the URL again (an IP literal never reaches
a resolver), and every DNS answer, through the resolver the HTTP client connects with, so a name
that resolves to a public address at registration and to 127.0.0.1 later (DNS rebinding) is
refused when it matters. Redirects are never followed. Loopback, private, link-local (cloud
metadata at 169.254.169.254), CGNAT, reserved, multicast and unspecified addresses are refused,
including when embedded in IPv6 (IPv4-mapped, 6to4, Teredo, NAT64), unless the operator's
allowlist (WEBHOOK_ALLOWED_DESTINATIONS: networks and host names) says otherwise."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names that mean "this machine" or "the cloud's metadata service" whatever DNS says.
BLOCKED_NAMES = frozenset({"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
REGISTRATION_DNS_TIMEOUT = 2.0


class DestinationRefused(OSError):
    """Raised by the resolver: aiohttp reports it as a connection error, the attempt records it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _address(raw: str) -> IPAddress:
    return ipaddress.ip_address(raw.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)


def _embedded(address: IPAddress) -> Iterable[IPAddress]:
    """The address and every IPv4 address it carries inside it."""
    yield address
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            yield address.ipv4_mapped
        if address.sixtofour:
            yield address.sixtofour
        if address.teredo:
            yield from address.teredo
        if address in _NAT64:
            yield ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def is_public(address: IPAddress) -> bool:
    return all(a.is_global and not a.is_multicast for a in _embedded(address))


def _normalise_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


@dataclass(frozen=True)
class DestinationPolicy:
    """What may be reached although it is not public: the operator's allowlist."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[str, ...] = ()  # exact names, or `*.suffix` for every subdomain of suffix

    @classmethod
    def parse(cls, raw: str) -> "DestinationPolicy":
        networks, hosts = [], []
        for entry in (e.strip() for e in raw.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = _normalise_host(entry)
            if not _HOST_NAME.match(name):
                raise ValueError(f"neither a network (CIDR) nor a host name: {entry!r}")
            hosts.append(name)
        return cls(tuple(networks), tuple(hosts))

    def allows_host(self, host: str) -> bool:
        host = _normalise_host(host)
        return any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in self.hosts)

    def address_refusal(self, raw: str) -> str | None:
        """Why `raw` (an IP address) may not be reached, or None."""
        try:
            address = _address(raw)
        except ValueError:
            return f"{raw} is not an IP address"
        if any(a in network for a in _embedded(address) for network in self.networks
               if a.version == network.version):
            return None
        if not is_public(address):
            return f"{address} is not a public address"
        return None


def url_refusal(url: str, policy: DestinationPolicy) -> str | None:
    """What the URL alone says: why it may not be used, or None (a DNS name is checked when resolved)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "only http and https URLs are accepted"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not accepted; send them in a custom header"
    host = _normalise_host(parts.hostname or "")
    if not host:
        return "the URL has no host"
    if policy.allows_host(host):
        return None
    try:
        return policy.address_refusal(str(_address(host)))
    except ValueError:
        pass  # a name, not an address
    if host in BLOCKED_NAMES or host.endswith(".localhost"):
        return f"{host} is not reachable from the platform"
    if _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        # 2130706433, 0x7f.1, 127.1: numbers the C resolver would turn into addresses.
        return f"{host} is not a canonical IP address"
    return None


class GuardedResolver(AbstractResolver):
    """The HTTP client's resolver: refuses a name if any of its addresses may not be reached."""

    def __init__(self, policy: DestinationPolicy, inner: AbstractResolver | None = None):
        self.policy = policy
        # The system resolver is made at the first lookup: it belongs to the running event loop, and
        # this guard is built with the service's dependencies, before the loop runs.
        self.inner = inner

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if self.inner is None:
            self.inner = ThreadedResolver()
        results = await self.inner.resolve(host, port, family)
        if self.policy.allows_host(host):
            return results
        for result in results:
            reason = self.policy.address_refusal(result["host"])
            if reason is not None:
                raise DestinationRefused(f"{_normalise_host(host)} resolves to {result['host']}: {reason}")
        return results

    async def close(self) -> None:
        if self.inner is not None:
            await self.inner.close()


async def registration_refusal(url: str, resolver: GuardedResolver) -> str | None:
    """The check when an endpoint is created or its URL changes. A name that does not resolve (yet)
    is accepted: the check at each attempt decides then."""
    reason = url_refusal(url, resolver.policy)
    host = _normalise_host(urlsplit(url).hostname or "")
    if reason is not None or resolver.policy.allows_host(host):
        return reason
    try:
        _address(host)
        return None  # an address, already checked
    except ValueError:
        pass
    try:
        async with asyncio.timeout(REGISTRATION_DNS_TIMEOUT):
            await resolver.resolve(host, 0, socket.AF_UNSPEC)
    except DestinationRefused as refused:
        return refused.reason
    except (OSError, asyncio.TimeoutError):
        return None
    return None
