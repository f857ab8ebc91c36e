"""SSRF through the running dispatcher: private destinations are refused at registration, and again
when connecting (DNS rebinding), redirects are not followed, and the operator's allowlist opens
exactly what it names. Names resolve through a resolver of the test's own (no network needed)."""

import asyncio
import socket

import pytest
from aiohttp.abc import AbstractResolver

from wagw_common.errors import RemoteError

pytestmark = pytest.mark.integration
PUBLIC = "93.184.216.34"


class FakeDns(AbstractResolver):
    """Answers from a table; a callable answer may change between lookups (DNS rebinding)."""

    def __init__(self, answers):
        self.answers = answers
        self.lookups: list[str] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.lookups.append(host)
        answer = self.answers.get(host.rstrip("."))
        if answer is None:
            raise OSError(f"{host}: name or service not known")
        addresses = answer() if callable(answer) else answer
        return [{"hostname": host, "host": a, "port": port, "family": socket.AF_INET6 if ":" in a else socket.AF_INET,
                 "proto": 0, "flags": 0} for a in addresses]

    async def close(self):
        pass


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hooks", "http://10.1.2.3/hooks", "http://172.16.5.4/hooks", "http://192.168.1.10/hooks",
    "http://169.254.169.254/latest/meta-data", "http://[::1]:8080/hooks",
    "http://[fd00:ec2::254]/", "http://localhost:8080/hooks", "http://metadata.google.internal/computeMetadata/v1/",
    "http://loopback.test:8080/hooks", "http://mixed.test/hooks", "http://2130706433/hooks",
    "http://100.64.0.1/hooks", "http://user:secret@hooks.example.com/hooks",
])
async def test_private_destinations_are_refused_at_registration(start_dispatcher, url):
    # (URLs the contract already refuses, such as http://[::ffff:127.0.0.1]/ or http://0x7f.1/, are in
    # test_dispatcher_ssrf.py, against the guard itself.)
    dns = FakeDns({"loopback.test": ["127.0.0.1"], "mixed.test": [PUBLIC, "10.0.0.7"]})
    dispatcher = await start_dispatcher(dns=dns, WEBHOOK_ALLOWED_DESTINATIONS="")
    with pytest.raises(RemoteError) as caught:
        await dispatcher.create_endpoint(url)
    assert caught.value.code == "invalid" and list(caught.value.details) == ["url"], caught.value.details


async def test_public_and_not_yet_resolvable_names_are_accepted(start_dispatcher):
    dispatcher = await start_dispatcher(dns=FakeDns({"public.test": [PUBLIC]}), WEBHOOK_ALLOWED_DESTINATIONS="")
    for url in ("http://public.test/hooks", "https://not-yet.test/hooks", f"http://{PUBLIC}/hooks"):
        assert (await dispatcher.create_endpoint(url))["url"] == url


async def test_a_name_that_turns_private_after_registration_is_refused_when_connecting(start_dispatcher, sinks):
    sink = await sinks()
    answers = iter([[PUBLIC]])  # the first lookup (registration) is public, every later one is loopback
    dns = FakeDns({"rebind.test": lambda: next(answers, ["127.0.0.1"])})
    dispatcher = await start_dispatcher(dns=dns, WEBHOOK_ALLOWED_DESTINATIONS="")
    endpoint = await dispatcher.create_endpoint(f"http://rebind.test:{sink.port}/hooks")
    await dispatcher.message_event("m_rebound")
    [delivery] = await dispatcher.settled(endpoint["endpoint_id"])
    attempts = (await dispatcher.delivery(endpoint["endpoint_id"], delivery["delivery_id"]))["attempts"]
    assert delivery["status"] == "failed" and len(attempts) == 4
    assert all(a["status_code"] is None and "destination refused" in a["error"] and "127.0.0.1" in a["error"]
               for a in attempts)
    assert sink.received == [] and dns.lookups.count("rebind.test") >= 2


async def test_the_allowlist_opens_exactly_the_networks_and_names_it_lists(start_dispatcher, sinks):
    sink = await sinks()
    dns = FakeDns({"hooks.internal.test": ["127.0.0.1"], "other.internal.test": ["127.0.0.1"]})
    dispatcher = await start_dispatcher(dns=dns, WEBHOOK_ALLOWED_DESTINATIONS="*.internal.test,10.20.0.0/16")
    by_name = await dispatcher.create_endpoint(f"http://hooks.internal.test:{sink.port}/hooks")
    assert (await dispatcher.create_endpoint("http://10.20.1.2/hooks"))["enabled"]
    with pytest.raises(RemoteError):
        await dispatcher.create_endpoint(f"http://127.0.0.1:{sink.port}/hooks")  # a network not listed
    await dispatcher.message_event("m_allowed", session_id="s_allowlist")
    await sink.wait_for(lambda s: len(s.received) == 1)
    [delivery] = await dispatcher.settled(by_name["endpoint_id"])
    assert delivery["status"] == "succeeded"


async def test_redirects_are_not_followed_even_to_an_allowed_network(dispatcher, sinks):
    target = await sinks(host="127.0.0.2")  # loopback, outside the tests' allowlist (127.0.0.1/32)
    sink = await sinks(lambda received: (307, {"Location": target.url}))
    metadata = await sinks(lambda received: (302, {"Location": "http://169.254.169.254/latest/meta-data"}))
    first = await dispatcher.create_endpoint(sink.url, session_id="s_dispatcher")
    second = await dispatcher.create_endpoint(metadata.url)
    await dispatcher.message_event("m_redirected")
    [one] = await dispatcher.settled(first["endpoint_id"])
    [two] = await dispatcher.settled(second["endpoint_id"])
    await asyncio.sleep(0.2)
    assert target.received == []
    assert one["status"] == "failed" and one["last_attempt"]["status_code"] == 307
    assert two["status"] == "failed" and two["last_attempt"]["status_code"] == 302
    assert len(sink.received) == 4 and len(metadata.received) == 4
