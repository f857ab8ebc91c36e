"""The fleet's admin routes over a fake registry: what each asks, what it answers, how it fails."""

import pytest
from wagw_common.contracts import contract_for
from wagw_common.errors import RemoteError

pytestmark = pytest.mark.unit

VIEW = contract_for("worker.drain").reply_example
DETAIL = contract_for("worker.get").reply_example


@pytest.fixture
def admin(auth):
    return auth("u_root", role="admin")


async def test_the_fleet_is_listed_with_filters_and_its_statistics(client, gateway, admin, expect_error):
    gateway.rpc.replies["worker.list"] = {"workers": [VIEW]}
    gateway.rpc.replies["worker.stats"] = contract_for("worker.stats").reply_example
    resp = await client.get("/api/v1/workers?state=draining&environment=production", headers=admin)
    assert resp.status == 200 and (await resp.json())["workers"][0]["worker_id"] == "worker-1"
    resp = await client.get("/api/v1/fleet/stats", headers=admin)
    assert (await resp.json())["fleet"]["workers"]["total"] == 3
    assert gateway.rpc.calls == [("worker.list", {"state": "draining", "environment": "production"}),
                                 ("worker.stats", {})]
    await expect_error(await client.get("/api/v1/workers?state=sleepy", headers=admin), 422, "validation_failed")


async def test_one_worker_with_its_sessions(client, gateway, admin, expect_error):
    gateway.rpc.replies["worker.get"] = lambda data: {**DETAIL, "worker_id": data["worker_id"]}
    resp = await client.get("/api/v1/workers/worker-7", headers=admin)
    body = await resp.json()
    assert resp.status == 200 and body["worker"]["worker_id"] == "worker-7" and body["worker"]["sessions"]
    gateway.rpc.replies["worker.get"] = RemoteError("not_found", "no worker")
    await expect_error(await client.get("/api/v1/workers/worker-8", headers=admin), 404, "not_found")
    for bad in ("-worker", "a--b", "UPPER", "a_b"):  # not worker ids the platform accepts: never asked
        await expect_error(await client.get(f"/api/v1/workers/{bad}", headers=admin), 404, "not_found")
    others = [c for c in gateway.rpc.calls if c[1]["worker_id"] != "worker-7"]
    assert others == [("worker.get", {"worker_id": "worker-8"})]


async def test_health_check_drain_undrain_and_remove_ask_the_registry(client, gateway, admin, expect_error):
    gateway.rpc.replies.update({
        "worker.check": {"worker": VIEW, "heartbeat_requested": True},
        "worker.drain": VIEW, "worker.undrain": VIEW,
        "worker.remove": {"worker_id": "worker-1", "session_ids": ["s_1"]},
    })
    assert (await (await client.post("/api/v1/workers/worker-1/health-check", headers=admin)).json())[
        "heartbeat_requested"] is True
    assert (await client.post("/api/v1/workers/worker-1/drain", headers=admin)).status == 200
    resp = await client.post("/api/v1/workers/worker-1/drain", headers=admin, json={"reason": "kernel upgrade"})
    assert (await resp.json())["worker"]["state"] == "draining"
    assert (await client.post("/api/v1/workers/worker-1/undrain", headers=admin)).status == 200
    resp = await client.delete("/api/v1/workers/worker-1?force=true", headers=admin)
    assert await resp.json() == {"worker_id": "worker-1", "session_ids": ["s_1"]}
    assert gateway.rpc.calls == [
        ("worker.check", {"worker_id": "worker-1"}),
        ("worker.drain", {"worker_id": "worker-1", "reason": "drained by an administrator"}),
        ("worker.drain", {"worker_id": "worker-1", "reason": "kernel upgrade"}),
        ("worker.undrain", {"worker_id": "worker-1"}),
        ("worker.remove", {"worker_id": "worker-1", "force": True}),
    ]
    await expect_error(await client.post("/api/v1/workers/worker-1/drain", headers=admin, json={"reason": ""}),
                       422, "validation_failed")
    gateway.rpc.replies["worker.remove"] = RemoteError("conflict", "the worker is online", {"state": "online"})
    await expect_error(await client.delete("/api/v1/workers/worker-1", headers=admin), 409, "conflict")


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/workers"), ("get", "/api/v1/fleet/stats"), ("get", "/api/v1/workers/w-1"),
    ("post", "/api/v1/workers/w-1/health-check"), ("post", "/api/v1/workers/w-1/drain"),
    ("post", "/api/v1/workers/w-1/undrain"), ("delete", "/api/v1/workers/w-1"),
])
async def test_every_fleet_route_is_for_administrators_only(client, gateway, auth, expect_error, method, path):
    await expect_error(await getattr(client, method)(path, headers=auth(role="user")), 403, "forbidden")
    await expect_error(await getattr(client, method)(path), 401, "unauthorized")
    assert gateway.rpc.calls == []
