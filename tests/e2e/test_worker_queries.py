"""Questions for a session's worker through the gateway, answered by the simulator's phone book and
groups: number checks, profiles, groups and their changes; idempotent group creation; another
tenant's session is 404, a session not connected 409, a worker that does not answer in time 504."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import pytest_asyncio

from harness.api import GatewayClient
from harness.gateway_world import connected_session, gateway_replica

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def line(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        session_id, key = await connected_session(api, http, platform, customer.token, "queries")
        yield api, customer, session_id, key


async def test_numbers_and_profiles_come_from_the_sessions_worker(line):
    api, customer, session_id, key = line
    base = f"/sessions/{session_id}"
    _, found, _ = await api.request("GET", f"{base}/contacts/check?phone=%2B628123456789", api_key=key, expect=200)
    assert found == {"phone": "+628123456789", "exists": True, "jid": "628123456789@s.whatsapp.net"}
    _, missing, _ = await api.request("GET", f"{base}/contacts/check?phone=628123456780", api_key=key, expect=200)
    assert missing["exists"] is False and missing["jid"] is None
    _, profile, _ = await api.request("GET", f"{base}/contacts/628123456789@s.whatsapp.net/profile",
                                      token=customer.token, expect=200)
    assert profile["name"] == "Contact 6789" and profile["picture_url"].startswith("https://")
    _, body, _ = await api.request("GET", f"{base}/contacts/628123456780/profile", api_key=key, expect=404)
    assert body["error"]["code"] == "not_found"
    _, own, _ = await api.request("GET", f"{base}/profile", api_key=key, expect=200)
    assert own["jid"].endswith("@s.whatsapp.net") and own["name"].startswith("Simulated ")
    _, body, _ = await api.request("GET", f"{base}/contacts/check?phone=nope", api_key=key, expect=422)
    assert "phone" in body["error"]["details"]


async def test_a_group_is_created_once_changed_linked_and_left(line):
    api, customer, session_id, key = line
    base = f"/sessions/{session_id}/groups"
    create = {"subject": "Launch team", "participants": ["+628111111111", "628111111110"]}
    once = {"Idempotency-Key": f"group-{session_id}"}
    _, group, _ = await api.request("POST", base, api_key=key, json=create, headers=once, expect=201)
    _, again, headers = await api.request("POST", base, api_key=key, json=create, headers=once, expect=201)
    assert again == group and headers["Idempotent-Replayed"] == "true"
    _, listed, _ = await api.request("GET", base, api_key=key, expect=200)
    assert [g["jid"] for g in listed["groups"]] == [group["jid"]]  # created once, not twice
    assert [p["role"] for p in group["participants"]] == ["superadmin", "member"]

    jid = group["jid"]
    _, changed, _ = await api.request("POST", f"{base}/{jid}/participants", api_key=key, expect=200,
                                      json={"action": "add", "participants": ["628122222222", "628111111111"]})
    assert [(p["jid"], p["outcome"]) for p in changed["participants"]] == [
        ("628122222222@s.whatsapp.net", "done"), ("628111111111@s.whatsapp.net", "unchanged")]
    _, changed, _ = await api.request("POST", f"{base}/{jid}/participants", api_key=key, expect=200,
                                      json={"action": "promote", "participants": ["628122222222"]})
    assert changed["participants"][0]["outcome"] == "done"
    _, link, _ = await api.request("GET", f"{base}/{jid}/invite", token=customer.token, expect=200)
    assert link["invite_link"].startswith("https://chat.whatsapp.com/")
    await api.request("POST", f"{base}/{jid}/leave", api_key=key, expect=200)
    _, body, _ = await api.request("POST", f"{base}/{jid}/leave", api_key=key, expect=404)
    assert body["error"]["code"] == "not_found"
    _, body, _ = await api.request("GET", f"{base}/not-a-group/invite", api_key=key, expect=422)
    assert "group" in body["error"]["details"]


async def test_another_tenants_session_is_404_and_one_not_connected_409(line):
    api, customer, session_id, _ = line
    stranger = await api.sign_up()
    _, body, _ = await api.request("GET", f"/sessions/{session_id}/profile", token=stranger.token, expect=404)
    assert body["error"]["code"] == "not_found"
    _, created, _ = await api.request("POST", "/sessions", token=stranger.token, json={"name": "idle"}, expect=201)
    _, body, _ = await api.request("GET", f"/sessions/{created['session']['session_id']}/groups",
                                   token=stranger.token, expect=409)
    assert body["error"]["details"]["reason"] == "session_not_connected"


async def test_a_worker_that_does_not_answer_in_time_is_504(platform, line):
    """A gateway that waits half a second, and the session's worker stalled (SIGSTOP) for longer."""
    _, customer, session_id, key = line
    impatient = gateway_replica(platform, WORKER_QUERY_TIMEOUT_SECONDS="0.5")
    impatient.start()
    worker = platform.workers[next(iter(platform.workers))]
    try:
        await impatient.wait_ready()
        async with aiohttp.ClientSession() as http:
            api = GatewayClient(f"http://127.0.0.1:{impatient.port}", http)
            await api.request("GET", f"/sessions/{session_id}/profile", api_key=key, expect=200)
            worker.pause()  # shorter than the registry's offline window: the session stays where it is
            try:
                _, body, _ = await api.request("GET", f"/sessions/{session_id}/profile", api_key=key, expect=504)
            finally:
                worker.resume()
            assert body["error"]["code"] == "worker_timeout"
            await asyncio.sleep(0.5)
            await api.request("GET", f"/sessions/{session_id}/profile", api_key=key, expect=200)
    finally:
        impatient.stop()
