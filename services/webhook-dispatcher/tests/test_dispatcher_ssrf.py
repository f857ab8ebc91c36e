"""The SSRF guard itself: what a URL says, what its DNS answers say, and the operator's allowlist."""

import socket

import pytest
from aiohttp.abc import AbstractResolver

from wagw_common.settings import SettingsError, load
from wagw_webhook_dispatcher.settings import Settings
from wagw_webhook_dispatcher.ssrf import (
    DestinationPolicy, DestinationRefused, GuardedResolver, registration_refusal, url_refusal,
)

pytestmark = pytest.mark.unit
NOTHING = DestinationPolicy()


class TableDns(AbstractResolver):
    def __init__(self, table):
        self.table = table

    async def resolve(self, host, port=0, family=socket.AF_INET):
        if host not in self.table:
            raise OSError("name not known")
        return [{"hostname": host, "host": a, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}
                for a in self.table[host]]

    async def close(self):
        pass


@pytest.mark.parametrize("url", [
    "http://localhost:8080/hook", "http://LOCALHOST./hook", "http://api.localhost/hook",
    "http://metadata.google.internal/computeMetadata/v1/", "http://127.0.0.1/hook", "http://127.8.9.10:9000/",
    "http://[::1]/hook", "http://0.0.0.0/", "http://[::]/", "http://10.1.2.3/", "http://172.16.0.1/",
    "http://192.168.1.10/", "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://[fd00::1]/",
    "http://[fd00:ec2::254]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/", "http://[2002:7f00:1::]/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://100.64.0.1/", "http://224.0.0.1/", "http://240.0.0.1/",
    "http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://017700000001/",
    "http://user:password@example.com/", "ftp://example.com/", "http:///nohost",
])
def test_non_public_destinations_are_refused_by_the_url_alone(url):
    assert url_refusal(url, NOTHING) is not None


@pytest.mark.parametrize("url", [
    "https://example.com/hooks", "http://93.184.216.34/hook", "https://[2606:4700::1111]/",
    "https://hooks.localhost.example.com/", "https://face.cafe/", "https://10.example.com/",
])
def test_public_destinations_pass(url):
    assert url_refusal(url, NOTHING) is None


def test_the_allowlist_takes_networks_and_host_names():
    policy = DestinationPolicy.parse(" 127.0.0.1 , 10.0.0.0/8,::1,hooks.internal,*.corp.example ")
    assert url_refusal("http://127.0.0.1:9000/h", policy) is None
    assert url_refusal("http://10.200.3.4/h", policy) is None and url_refusal("http://[::1]/h", policy) is None
    assert url_refusal("http://[::ffff:10.0.0.1]/h", policy) is None  # the same address, IPv4-mapped
    assert url_refusal("http://127.0.0.2/h", policy) is not None and url_refusal("http://192.168.0.1/", policy)
    assert url_refusal("http://hooks.internal/h", policy) is None
    assert url_refusal("http://HOOKS.internal./h", policy) is None
    assert policy.allows_host("a.b.corp.example") and not policy.allows_host("corp.example")
    assert not policy.allows_host("evilcorp.example")
    assert url_refusal("http://localhost/h", policy) is not None
    assert url_refusal("http://localhost/h", DestinationPolicy.parse("localhost")) is None
    assert load(Settings, {}).allowed_destinations == NOTHING
    with pytest.raises(SettingsError):
        load(Settings, {"WEBHOOK_ALLOWED_DESTINATIONS": "10.0.0.0/33"})
    with pytest.raises(SettingsError):
        load(Settings, {"WEBHOOK_ALLOWED_DESTINATIONS": "not a host!"})


async def test_the_resolver_refuses_a_name_with_any_private_answer():
    dns = TableDns({"public.test": ["93.184.216.34"], "loopback.test": ["127.0.0.1"],
                    "mixed.test": ["93.184.216.34", "169.254.169.254"], "allowed.test": ["10.0.0.5"]})
    guarded = GuardedResolver(DestinationPolicy.parse("allowed.test"), dns)
    assert [r["host"] for r in await guarded.resolve("public.test", 80)] == ["93.184.216.34"]
    assert [r["host"] for r in await guarded.resolve("allowed.test", 80)] == ["10.0.0.5"]
    for name in ("loopback.test", "mixed.test"):
        with pytest.raises(DestinationRefused) as caught:
            await guarded.resolve(name, 80)
        assert name in caught.value.reason and "not a public address" in caught.value.reason
    with pytest.raises(OSError):
        await guarded.resolve("unknown.test", 80)


async def test_registration_checks_what_a_name_resolves_to_but_accepts_one_that_does_not_resolve_yet():
    guarded = GuardedResolver(NOTHING, TableDns({"loopback.test": ["127.0.0.1"], "public.test": ["93.184.216.34"]}))
    assert "127.0.0.1" in await registration_refusal("http://loopback.test/h", guarded)
    assert await registration_refusal("http://public.test/h", guarded) is None
    assert await registration_refusal("http://unknown.test/h", guarded) is None
    assert await registration_refusal("http://10.0.0.1/h", guarded) is not None
