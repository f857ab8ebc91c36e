import asyncio
import base64
import json
import socket

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from wagw_common.storage import utc_now
from wagw_webhook_dispatcher.secrets import new_signing_secret
from wagw_webhook_dispatcher.sender import RESPONSE_BODY_LIMIT, http_client, post_signed, signed_headers
from wagw_webhook_dispatcher.ssrf import DestinationPolicy

pytestmark = pytest.mark.unit
LOCAL = DestinationPolicy.parse("127.0.0.1/32")
NOTHING = DestinationPolicy()

BODY = json.dumps({"type": "message.sent", "timestamp": "2026-01-01T12:00:00Z", "data": {"message_id": "m_1"}})


def test_secret_has_the_standard_webhooks_format():
    secret = new_signing_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert new_signing_secret() != secret


def test_signature_verifies_with_the_reference_library():
    secret = new_signing_secret()
    headers = signed_headers([secret], message_id="evt_1", timestamp=utc_now(), body=BODY)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    assert headers["webhook-id"] == "evt_1"
    assert headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("m_1", "m_2"), headers)


def test_every_secret_signs_so_a_rotating_receiver_accepts_either():
    old, new = new_signing_secret(), new_signing_secret()
    headers = signed_headers([new, old], message_id="evt_1", timestamp=utc_now(), body=BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)


@pytest.fixture
async def sink():
    """A local endpoint whose answer each test chooses."""
    received = []
    behaviour = {"status": 200, "body": "ok", "delay": 0.0}

    async def hook(request):
        received.append((dict(request.headers), await request.text()))
        await asyncio.sleep(behaviour["delay"])
        return web.Response(status=behaviour["status"], text=behaviour["body"], headers=behaviour.get("headers"))

    async def redirect(request):
        raise web.HTTPFound("/hook")

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/redirect", redirect)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with http_client(LOCAL, limit=4) as client:
        yield server, client, received, behaviour
    await server.close()


async def _post(server, client, path="/hook", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", timeout=5.0,
                policy=LOCAL, **kwargs):
    return await post_signed(client, policy, url=str(server.make_url(path)), secrets=[secret], message_id="evt_1",
                             body=BODY, timeout=timeout, **kwargs)


async def test_a_2xx_answer_is_a_success_and_the_request_verifies(sink):
    server, client, received, _ = sink
    secret = new_signing_secret()
    attempt = await _post(server, client, secret=secret, headers={"authorization": "Bearer customer-token"})
    assert attempt.ok and attempt.status_code == 200 and attempt.error is None
    assert attempt.response_body == "ok" and attempt.latency_ms >= 0 and attempt.retry_after is None
    headers, body = received[0]
    assert Webhook(secret).verify(body, headers)["data"] == {"message_id": "m_1"}
    assert headers["User-Agent"].startswith("wagw-webhook-dispatcher")
    assert headers["Authorization"] == "Bearer customer-token"  # the endpoint's custom header
    assert attempt.record(cycle=1, attempt=2) == {
        "at": attempt.at, "status_code": 200, "latency_ms": attempt.latency_ms,
        "error": None, "response_body": "ok", "cycle": 1, "attempt": 2}


async def test_an_error_answer_is_recorded_with_a_truncated_body(sink):
    server, client, _, behaviour = sink
    behaviour.update(status=503, body="x" * 5000, headers={"Retry-After": "120"})
    attempt = await _post(server, client)
    assert not attempt.ok
    assert attempt.status_code == 503 and attempt.error == "HTTP 503" and attempt.retry_after == 120
    assert len(attempt.response_body) == RESPONSE_BODY_LIMIT


async def test_redirects_are_not_followed(sink):
    server, client, received, _ = sink
    attempt = await _post(server, client, path="/redirect")
    assert attempt.status_code == 302 and not attempt.ok
    assert received == []


async def test_a_slow_endpoint_times_out(sink):
    server, client, _, behaviour = sink
    behaviour["delay"] = 2
    attempt = await _post(server, client, timeout=0.2)
    assert attempt.status_code is None and "timed out" in attempt.error


async def test_an_unreachable_endpoint_is_an_error_not_an_exception():
    async with http_client(LOCAL, limit=1) as client:
        attempt = await post_signed(client, LOCAL, url="http://127.0.0.1:9/hook", secrets=[new_signing_secret()],
                                    message_id="evt_1", body=BODY, timeout=2)
    assert attempt.status_code is None and attempt.error


async def test_without_the_allowlist_a_local_endpoint_is_refused_when_connecting(sink):
    server, _, received, _ = sink
    async with http_client(NOTHING, limit=1) as client:
        attempt = await _post(server, client, policy=NOTHING)
        ipv6 = await post_signed(client, NOTHING, url=f"http://[::1]:{server.port}/hook", secrets=["whsec_eA=="],
                                 message_id="evt_1", body=BODY, timeout=2)
    assert attempt.status_code is None and attempt.error == "destination refused: 127.0.0.1 is not a public address"
    assert ipv6.status_code is None and ipv6.error.startswith("destination refused: ::1")
    assert received == []


class LoopbackDns(AbstractResolver):
    """Every name resolves to this machine: what an attacker's DNS would answer."""

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self):
        pass


async def test_a_name_resolving_to_loopback_is_refused_when_connecting(sink):
    server, _, received, _ = sink
    async with http_client(NOTHING, limit=1, dns=LoopbackDns()) as client:
        attempt = await post_signed(client, NOTHING, url=f"http://hooks.example.com:{server.port}/hook",
                                    secrets=["whsec_eA=="], message_id="evt_1", body=BODY, timeout=2)
    assert attempt.status_code is None and received == []
    assert attempt.error == ("destination refused: hooks.example.com resolves to 127.0.0.1: "
                             "127.0.0.1 is not a public address")
    # The same name with the network allowed reaches the endpoint: the resolver is really in the path.
    async with http_client(LOCAL, limit=1, dns=LoopbackDns()) as client:
        allowed = await post_signed(client, LOCAL, url=f"http://hooks.example.com:{server.port}/hook",
                                    secrets=["whsec_eA=="], message_id="evt_1", body=BODY, timeout=2)
    assert allowed.ok and len(received) == 1
