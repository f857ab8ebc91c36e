"""The routes that ask a session's worker a question: each one checks the session first (another
tenant's is 404, one not connected is 409), then the question's arguments (422), then asks the worker
(503 when it cannot be reached). The worker's answers are tested end to end (tests/e2e)."""

import pytest
from wagw_common.errors import RemoteError

pytestmark = pytest.mark.unit

SESSION = "/api/v1/sessions/s_1"
# Every question: (method, path, body).
QUESTIONS = [
    ("GET", f"{SESSION}/contacts/check?phone=628123456789", None),
    ("GET", f"{SESSION}/contacts/628123456789/profile", None),
    ("GET", f"{SESSION}/profile", None),
    ("GET", f"{SESSION}/groups", None),
    ("POST", f"{SESSION}/groups", {"subject": "Team", "participants": ["628123456789"]}),
    ("POST", f"{SESSION}/groups/120363000000000001@g.us/participants",
     {"action": "add", "participants": ["628123456789"]}),
    ("GET", f"{SESSION}/groups/120363000000000001@g.us/invite", None),
    ("POST", f"{SESSION}/groups/120363000000000001@g.us/leave", None),
]


def session(status: str, worker_id: str | None = "w-1") -> dict:
    return {"session_id": "s_1", "tenant_id": "u_alice", "status": status, "worker_id": worker_id}


@pytest.mark.parametrize(("method", "path", "body"), QUESTIONS)
async def test_each_question_checks_the_session_before_asking_its_worker(client, gateway, auth, expect_error,
                                                                         method, path, body):
    headers = {**auth(), "Idempotency-Key": "k-1"}
    gateway.rpc.replies["session.get"] = RemoteError("not_found", "no such session")
    await expect_error(await client.request(method, path, json=body, headers=headers), 404, "not_found")
    gateway.rpc.replies["session.get"] = session("QR_REQUIRED")
    error = await expect_error(await client.request(method, path, json=body, headers=headers), 409, "conflict")
    assert error["details"] == {"reason": "session_not_connected", "status": "QR_REQUIRED"}
    gateway.rpc.replies["session.get"] = session("CONNECTED", worker_id=None)
    await expect_error(await client.request(method, path, json=body, headers=headers), 503, "unavailable")
    # Connected, on a worker the broker has no queue for: the question cannot reach it.
    gateway.rpc.replies["session.get"] = session("CONNECTED")
    await expect_error(await client.request(method, path, json=body, headers=headers), 503, "unavailable")
    assert [data["session_id"] for _, data in gateway.rpc.calls] == ["s_1"] * 4


async def test_a_questions_arguments_are_checked_by_its_schema(client, gateway, auth, expect_error):
    gateway.rpc.replies["session.get"] = session("CONNECTED")
    resp = await client.get(f"{SESSION}/contacts/check?phone=not-a-number", headers=auth())
    assert "phone" in (await expect_error(resp, 422, "validation_failed"))["details"]


async def test_questions_that_change_a_group_need_the_write_scope(client, gateway, auth, expect_error):
    resp = await client.post("/api/v1/api-keys", json={"name": "reader", "scopes": ["sessions:read"]},
                             headers=auth())
    reader = {"X-API-Key": (await resp.json())["api_key"]}
    gateway.rpc.replies["session.get"] = session("CONNECTED")
    await expect_error(await client.post(f"{SESSION}/groups/120363000000000001@g.us/leave", headers=reader), 403,
                       "insufficient_scope")
    await expect_error(await client.get(f"{SESSION}/profile", headers=reader), 503, "unavailable")
