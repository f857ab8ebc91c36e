"""docker-compose.yml run for real with podman (scripts/compose.sh over the images of
scripts/images.sh): every container healthy, the README's walkthrough through the stack, Prometheus
scraping every service, a media file uploaded and a received one downloaded through the gateway and
the object store, then the real WhatsApp worker (profile whatsapp) beside the simulator. The stack gets
free ports of its own; it is taken down, volumes included, at the end.

What the WhatsApp worker's part checks, with no WhatsApp reachable from here: its image (the whatsmeow
bridge, its default client, built and checked at the image's build; neonize's bundled library loads with
no network, scripts/images.sh), its start with whatsmeow's store in the compose PostgreSQL, registration
under its own broker user, /healthz, and that a session connect is handed to it and answered with a
status and a reason. Not checked: a QR from WhatsApp's servers, a
link, a send (docs/workers.md, "Manual acceptance")."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import urllib.request

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.compose_stack import ComposeStack, build_images
from harness.flows import inbound_messages, wait_until
from harness.realtime import RealtimeListener
from harness.walkthrough import run_walkthrough

# A cold image build (debootstrap, Debian's packages, the project's wheels) takes minutes on two cores.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

PLATFORM = {"mongodb", "rabbitmq", "redis", "objectstore", "gateway", "session-orchestrator", "worker-registry",
            "webhook-dispatcher", "realtime", "worker-simulator-credentials", "worker-simulator", "prometheus"}
WHATSAPP = {"worker-whatsapp-credentials", "whatsapp-store", "worker-whatsapp"}
SCRAPED = {"gateway", "session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime"}
ADMIN = "admin@example.com"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest.fixture(scope="module")
def stack():
    cannot_run = build_images()
    if cannot_run:
        pytest.skip(cannot_run)
    stack = ComposeStack.on_free_ports(GATEWAY_ADMIN_EMAILS=ADMIN)
    try:
        assert set(stack.services()) == PLATFORM | WHATSAPP, sorted(stack.services())
        stack.start(PLATFORM)
        yield stack
    finally:
        stack.save_logs()
        stack.down()


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_every_process_answers_ready(stack):
    for name in SCRAPED:
        answer = get_json(f"http://127.0.0.1:{stack[name.upper().replace('-', '_')]}/readyz")
        assert answer["ready"] is True, (name, answer)


def test_the_readme_walkthrough_works_against_the_compose_stack(stack):
    run_walkthrough(f"http://127.0.0.1:{stack['GATEWAY']}/api/v1", f"http://127.0.0.1:{stack['SIMULATOR']}")


def test_prometheus_scrapes_every_service(stack):
    deadline = time.monotonic() + 60
    while True:
        targets = get_json(f"http://127.0.0.1:{stack['PROMETHEUS']}/api/v1/targets")["data"]["activeTargets"]
        up = {t["labels"].get("service") for t in targets if t["labels"].get("job") == "wagw" and t["health"] == "up"}
        if up >= SCRAPED or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert up == SCRAPED, json.dumps(targets, indent=1)


async def connect(api: GatewayClient, token: str) -> str:
    _, created, _ = await api.request("POST", "/sessions", token=token, json={"name": "compose"}, expect=201)
    session_id = created["session"]["session_id"]
    await api.request("POST", f"/sessions/{session_id}/connect", token=token, expect=202)
    return session_id


async def session_view(api: GatewayClient, token: str, session_id: str) -> dict:
    return (await api.request("GET", f"/sessions/{session_id}", token=token, expect=200))[1]["session"]


async def upload_and_download(stack: ComposeStack) -> None:
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(f"http://127.0.0.1:{stack['GATEWAY']}", http)
        customer = await api.sign_up()
        form = aiohttp.FormData()
        form.add_field("file", PNG, filename="dot.png", content_type="image/png")
        _, uploaded, _ = await api.request("POST", "/media", token=customer.token, data=form, expect=201)
        assert uploaded["sha256"] == hashlib.sha256(PNG).hexdigest()
        async with http.get(uploaded["url"]) as response:  # the store's own link, as a worker fetches it
            assert response.status == 200 and await response.read() == PNG

        # A received file: the simulated phone sends it, the simulator stores it in the object store.
        session_id = await connect(api, customer.token)
        phone = f"http://127.0.0.1:{stack['SIMULATOR']}/sessions/{session_id}"

        async def scanned():
            async with http.post(f"{phone}/scan") as response:
                return response.status == 200
        await wait_until(scanned, timeout=30)
        await wait_until(lambda: _has_status(api, customer.token, session_id, "CONNECTED"), timeout=30)
        async with http.post(f"{phone}/inbound-media?filename=r.png", data=PNG) as response:
            assert response.status == 202, await response.text()
        [received] = await wait_until(lambda: inbound_messages(api, customer.token, session_id), timeout=30)
        _, link, _ = await api.request("GET", f"/messages/{received['message_id']}/media-link", token=customer.token,
                                       expect=200)
        async with http.get(f"http://127.0.0.1:{stack['GATEWAY']}{link['url']}") as response:
            assert response.status == 200 and response.content_type == "image/png"
            assert await response.read() == PNG


async def _has_status(api: GatewayClient, token: str, session_id: str, status: str) -> bool:
    return (await session_view(api, token, session_id))["status"] == status


def test_a_media_file_is_uploaded_and_a_received_one_downloaded_through_the_gateway(stack):
    asyncio.run(upload_and_download(stack))


def rabbitmq_users_connected(stack: ComposeStack) -> set[str]:
    request = urllib.request.Request(f"http://127.0.0.1:{stack['RABBITMQ_MANAGEMENT']}/api/connections")
    request.add_header("Authorization", "Basic " + base64.b64encode(b"wagw:wagw-dev-only").decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return {connection["user"] for connection in json.load(response)}


async def session_on_the_whatsapp_worker(stack: ComposeStack) -> dict:
    """The simulator drained, a new session goes to the WhatsApp worker; whatever WhatsApp answers (here:
    nothing can be reached), the worker reports a status with its reason, live to the session's owner."""
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(f"http://127.0.0.1:{stack['GATEWAY']}", http)
        await api.request("POST", "/auth/register", json={"email": ADMIN, "password": "correct horse battery"})
        _, login, _ = await api.request("POST", "/auth/login", expect=200,
                                        json={"email": ADMIN, "password": "correct horse battery"})
        admin = login["access_token"]
        _, worker, _ = await api.request("GET", "/workers/wa-worker-1", token=admin, expect=200)
        assert worker["worker"]["state"] == "online", worker
        await api.request("POST", "/workers/sim-worker-1/drain", token=admin, json={"reason": "compose test"},
                          expect=200)

        customer = await api.sign_up()
        listener = RealtimeListener(f"http://127.0.0.1:{stack['REALTIME']}", customer.token)
        await listener.connect()
        try:
            session_id = await connect(api, customer.token)
            reported = await listener.wait_for(
                "session.status", lambda d: d["session_id"] == session_id and d["reason"], timeout=120)
        finally:
            await listener.close()
        view = await session_view(api, customer.token, session_id)
        assert view["worker_id"] == "wa-worker-1", view
        return reported


def test_the_whatsapp_worker_registers_as_its_own_broker_user_and_answers_a_session_connect(stack):
    stack.start(WHATSAPP)
    assert get_json(f"http://127.0.0.1:{stack['WHATSAPP']}/healthz")
    # The management API lists a connection once the broker's statistics have caught up (seconds).
    deadline = time.monotonic() + 60
    while "worker.wa-worker-1" not in (users := rabbitmq_users_connected(stack)) and time.monotonic() < deadline:
        time.sleep(1)
    assert "worker.wa-worker-1" in users, users

    reported = asyncio.run(session_on_the_whatsapp_worker(stack))
    # No WhatsApp here: whatsmeow cannot open its websocket, and the worker says so.
    assert reported["status"] == "DISCONNECTED", reported
    assert "websocket" in reported["reason"], reported
    assert "whatsapp.library_unavailable" not in stack.logs("worker-whatsapp")
