"""Two workers, each with its own broker credentials (as operators make them): one speaks, on its own
allowed uplink routes, about a session the other holds. The victim's history, status, webhooks and
Socket.IO stay untouched, and the real worker goes on speaking for its session."""

from __future__ import annotations

from datetime import datetime, timezone

import aiohttp
import pytest
from wagw_common.services import SERVICES
from wagw_worker_registry import credentials
from wagw_worker_sdk import BrokerLink
from wagw_worker_sdk.uplink import WorkerUplink

from harness.fixtures import started_platform
from harness.flows import wait_until, watched_customer
from harness.infra import MANAGEMENT
from harness.scrape import scrape, total

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def credentialed():
    """The platform with two simulated workers that log in as their own broker users, never as the platform."""
    made: list[tuple[credentials.Management, str]] = []

    def build(run) -> None:
        api = credentials.Management.from_amqp_url(run.vhost.amqp_url, MANAGEMENT)
        for name in SERVICES:
            run.add_service(name)
        for n in (1, 2):
            worker_id = f"own-{run.run_id}-{n}"
            user, password = credentials.create(api, worker_id)
            made.append((api, worker_id))
            run.add_worker(worker_id, AMQP_URL=credentials.worker_amqp_url(run.vhost.amqp_url, user, password))

    try:
        with started_platform("wagw-trust", build) as run:
            yield run
    finally:
        for api, worker_id in made:  # broker users are global: none outlives the run
            credentials.revoke(api, worker_id, keep_queues=True)


def _inbound(session_id: str, wa_message_id: str, text: str) -> dict:
    return {"session_id": session_id, "wa_message_id": wa_message_id, "chat": "628999000111@s.whatsapp.net",
            "sender": "628999000111@s.whatsapp.net", "type": "text", "text": text,
            "at": datetime.now(timezone.utc)}


async def test_a_worker_cannot_speak_for_a_session_another_worker_holds(credentialed):
    run = credentialed
    async with aiohttp.ClientSession() as http, watched_customer(run, http) as (api, victim, listener, sink):
        link = None
        try:
            _, created, _ = await api.request("POST", "/sessions", token=victim.token, json={"name": "Sales"},
                                              expect=201)
            session_id = created["session"]["session_id"]
            await api.request("POST", "/webhooks", token=victim.token,
                              json={"url": sink.url, "events": ["message.*", "session.*"]}, expect=201)
            _, connected, _ = await api.request("POST", f"/sessions/{session_id}/connect", token=victim.token,
                                                expect=202)
            holder = connected["session"]["worker_id"]
            [attacker] = [w for w in run.workers if w != holder]
            await listener.wait_for("session.qr", lambda d: d["session_id"] == session_id)
            async with http.post(f"{run.worker_url(holder)}/sessions/{session_id}/scan") as scanned:
                assert scanned.status == 200, await scanned.text()
            await listener.wait_for("session.status", lambda d: d["session_id"] == session_id
                                    and d["status"] == "CONNECTED")

            orchestrator = run.url("session-orchestrator")

            async def refused(**labels) -> float:
                _, samples = await scrape(http, orchestrator)
                return total(samples, "wagw_worker_reports_refused_total", **labels)

            before = {reason: await refused(reason=reason) for reason in ("session_not_held", "not_the_sender")}
            # The attacker's own credentials: RabbitMQ lets it publish these (its user, its routes).
            link = BrokerLink(run.workers[attacker].env["AMQP_URL"])
            await link.connect(10)
            as_itself, naming_the_holder = WorkerUplink(link, attacker), WorkerUplink(link, holder)
            await as_itself.publish("worker.message.inbound", _inbound(session_id, "3EBFAKE1", "forged, own name"))
            await naming_the_holder.publish("worker.message.inbound", _inbound(session_id, "3EBFAKE2", "forged"))
            await naming_the_holder.publish("worker.session.status", {"session_id": session_id, "status": "LOGGED_OUT",
                                                                      "reason": "forged", "phone": None})
            await as_itself.publish("worker.session.status", {"session_id": session_id, "status": "LOGGED_OUT",
                                                              "reason": "forged", "phone": None})

            async def all_refused() -> bool:
                return (await refused(reason="session_not_held") >= before["session_not_held"] + 2
                        and await refused(reason="not_the_sender") >= before["not_the_sender"] + 2)
            await wait_until(all_refused, timeout=60)

            # The session's own worker still speaks for it: what it receives arrives, and nothing else.
            async with http.post(f"{run.worker_url(holder)}/sessions/{session_id}/inbound",
                                 json={"text": "the real one"}) as received:
                assert received.status == 202, await received.text()
            real = await listener.wait_for("message.received", lambda d: d["session_id"] == session_id)
            assert real["text"] == "the real one"
            await sink.wait_for(lambda r: r.payload["type"] == "message.received")

            _, page, _ = await api.request("GET", f"/sessions/{session_id}/messages", token=victim.token, expect=200)
            assert [m["text"] for m in page["messages"]] == ["the real one"]
            _, view, _ = await api.request("GET", f"/sessions/{session_id}", token=victim.token, expect=200)
            assert (view["session"]["status"], view["session"]["worker_id"]) == ("CONNECTED", holder)
            assert [d["text"] for d in listener.events["message.received"]] == ["the real one"]
            assert all(d["status"] != "LOGGED_OUT" for d in listener.events["session.status"])
            hooked = [r.payload for r in sink.received]
            assert [p["data"]["text"] for p in hooked if p["type"] == "message.received"] == ["the real one"]
            assert all(p["data"].get("status") != "LOGGED_OUT" for p in hooked)
        finally:
            if link is not None:
                await link.close()
