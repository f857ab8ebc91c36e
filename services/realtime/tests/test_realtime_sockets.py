"""The Socket.IO handlers with a fake server, a fake RPC client and a fake connection quota."""

from datetime import timedelta

import pytest
import socketio

from wagw_common.contracts import contract_for
from wagw_common.contracts.identity import api_key_digest
from wagw_common.errors import RemoteError, Unavailable
from wagw_realtime.client_requests import HANDLERS
from wagw_realtime.protocol import REQUESTS
from wagw_realtime.sockets import (
    guarded, when_client_connects_authenticate, when_client_disconnects_forget_it, when_client_sends_an_unknown_event,
)

pytestmark = pytest.mark.unit
VIEW = {**contract_for("session.get").reply_example, "session_id": "s_1", "tenant_id": "u_7", "status": "QR_REQUIRED",
        "qr": "2@abc", "qr_expires_at": "2026-01-01T12:01:00Z", "sequence": 4}
KEY = {"key_id": "k_1", "tenant_id": "u_7", "session_id": "s_1", "scopes": ["*"]}


async def connect(edge, auth, sid="sid1"):
    await when_client_connects_authenticate(sid, {}, auth, edge=edge)
    edge.sio.manager.connected.add(sid)
    return edge


async def request(edge, name, data=None, *extra, sid="sid1"):
    spec = next(r for r in REQUESTS if r.name == name)
    return await guarded(edge, spec, HANDLERS[name])(sid, data, *extra)


async def settle(edge):
    for task in list(edge.checks):
        await task


async def test_a_valid_token_joins_the_users_room_and_counts_against_the_user(fakes):
    edge = await connect(fakes.edge(), {"token": fakes.token()})
    assert edge.sio.rooms["sid1"] == {"user:u_7"}
    assert edge.quota.admitted == [("user:u_7", "sid1")] and len(edge.connections) == 1
    await when_client_disconnects_forget_it("sid1", "client disconnect", edge=edge)
    assert edge.quota.released == [("user:u_7", "sid1")] and len(edge.connections) == 0


async def test_an_admin_also_joins_the_admins_room(fakes):
    edge = await connect(fakes.edge(), {"token": fakes.token(role="admin")})
    assert edge.sio.rooms["sid1"] == {"user:u_7", "admins"}


@pytest.mark.parametrize("auth, code", [
    (None, "unauthorized"), ({}, "unauthorized"), ("just-a-string", "unauthorized"), ({"token": 42}, "unauthorized"),
    ({"token": "not.a.jwt"}, "unauthorized"), ({"token": "x" * 10_000}, "unauthorized"),
    ({"token": "forged"}, "unauthorized"), ({"token": "expired"}, "token_expired"), ({"api_key": 7}, "unauthorized"),
])
async def test_bad_credentials_are_refused_with_a_code(fakes, auth, code):
    if auth == {"token": "forged"}:
        auth = {"token": fakes.token(secret="another-secret-entirely-0123456789")}
    if auth == {"token": "expired"}:
        auth = {"token": fakes.token(ttl=timedelta(seconds=-5))}
    edge = fakes.edge()
    with pytest.raises(socketio.exceptions.ConnectionRefusedError) as caught:
        await connect(edge, auth)
    assert caught.value.error_args["data"]["code"] == code
    assert caught.value.error_args["message"] == caught.value.error_args["data"]["message"]
    assert len(edge.connections) == 0 and edge.quota.admitted == []


async def test_a_user_over_the_connection_limit_is_refused(fakes):
    edge = fakes.edge(quota=fakes.Quota(admit=False))
    with pytest.raises(socketio.exceptions.ConnectionRefusedError) as caught:
        await connect(edge, {"token": fakes.token()})
    assert caught.value.error_args["data"]["code"] == "too_many_connections" and len(edge.connections) == 0


async def test_an_api_key_is_resolved_by_its_hash_and_limited_to_its_session(fakes):
    rpc = fakes.Rpc(apikey_resolve=KEY, session_get=VIEW)
    edge = await connect(fakes.edge(rpc=rpc), {"api_key": "wagw_sk_secret"})
    await settle(edge)
    assert rpc.calls[0] == ("apikey.resolve", {"key_hash": api_key_digest("wagw_sk_secret")})
    assert "wagw_sk_secret" not in repr(rpc.calls)  # the key itself never crosses the broker
    assert edge.sio.rooms["sid1"] == {"session:s_1"} and edge.quota.admitted == [("key:k_1", "sid1")]
    # The state of its session follows the connection at once, without a subscribe.
    assert [(e, to) for e, _, to in edge.sio.emitted] == [("session.status", "sid1"), ("session.qr", "sid1")]
    assert edge.sio.events("session.status")[0]["sequence"] == 4
    ack = await request(edge, "subscribe", {"session_id": "s_2"})
    assert ack["error"]["code"] == "forbidden" and "session:s_2" not in edge.sio.rooms["sid1"]
    assert (await request(edge, "reauth", {"token": fakes.token()}))["error"]["code"] == "invalid"


@pytest.mark.parametrize("answer, code", [
    (RemoteError("not_found", "unknown or revoked API key"), "unauthorized"),
    (Unavailable("no answer"), "unavailable"), (RemoteError("unavailable", "down"), "unavailable"),
    ({**KEY, "session_id": None}, "forbidden"), ({**KEY, "scopes": ["messages:send"]}, "forbidden"),
])
async def test_api_keys_that_cannot_connect(fakes, answer, code):
    edge = fakes.edge(rpc=fakes.Rpc(apikey_resolve=answer))
    with pytest.raises(socketio.exceptions.ConnectionRefusedError) as caught:
        await connect(edge, {"api_key": "wagw_sk_secret"})
    assert caught.value.error_args["data"]["code"] == code


async def test_a_user_level_key_with_the_read_scope_may_follow_its_session(fakes):
    rpc = fakes.Rpc(apikey_resolve={**KEY, "scopes": ["sessions:read"]}, session_get=VIEW)
    edge = await connect(fakes.edge(rpc=rpc), {"api_key": "wagw_uk_secret"})
    assert edge.sio.rooms["sid1"] == {"session:s_1"}


async def test_subscribing_to_an_owned_session_sends_its_state_at_once(fakes):
    rpc = fakes.Rpc(session_get=VIEW)
    edge = await connect(fakes.edge(rpc=rpc), {"token": fakes.token()})
    ack = await request(edge, "subscribe", {"sessionId": "s_1"})  # the camelCase spelling is accepted too
    assert ack == {"ok": True, "session_id": "s_1"}
    assert rpc.calls == [("account.standing", {"user_id": "u_7"}),  # at connect
                         ("session.get", {"tenant_id": "u_7", "session_id": "s_1"})]
    assert edge.sio.rooms["sid1"] == {"user:u_7", "session:s_1"}
    assert [(e, to) for e, _, to in edge.sio.emitted] == [("session.status", "sid1"), ("session.qr", "sid1")]
    assert edge.sio.events("session.qr")[0] == {"session_id": "s_1", "qr": "2@abc",
                                                "expires_at": "2026-01-01T12:01:00Z", "sequence": 4}
    assert await request(edge, "unsubscribe", {"session_id": "s_1"}) == {"ok": True, "session_id": "s_1"}
    assert edge.sio.rooms["sid1"] == {"user:u_7"}


@pytest.mark.parametrize("data", [None, "s_1", ["s_1"], {}, {"session_id": "bad id!"}, {"session_id": "s_1", "x": 1},
                                  {"session_id": b"bad id!"}])
async def test_bad_payloads_get_an_error_event(fakes, data):
    edge = await connect(fakes.edge(), {"token": fakes.token()})
    ack = await request(edge, "subscribe", data)
    [(event, error, to)] = edge.sio.emitted
    assert (event, to, error["code"]) == ("error", "sid1", "invalid") and ack == {"ok": False, "error": error}
    assert edge.sio.rooms["sid1"] == {"user:u_7"}


async def test_extra_arguments_and_oversized_payloads_are_refused(fakes):
    edge = await connect(fakes.edge(), {"token": fakes.token()})
    assert (await request(edge, "subscribe", {"session_id": "s_1"}, "extra"))["error"]["code"] == "invalid"
    big = {"session_id": "s_1", "padding": "x" * fakes.settings.max_payload_bytes}
    assert (await request(edge, "subscribe", big))["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("failure, code", [
    (RemoteError("not_found", "no such session"), "not_found"), (Unavailable("no answer"), "unavailable"),
    (RuntimeError("bug"), "internal"),
])
async def test_a_session_that_cannot_be_checked_is_not_joined(fakes, failure, code):
    edge = await connect(fakes.edge(rpc=fakes.Rpc(session_get=failure)), {"token": fakes.token()})
    ack = await request(edge, "subscribe", {"session_id": "s_1"})
    assert [(e, d["code"]) for e, d, _ in edge.sio.emitted] == [("error", code)]
    assert edge.sio.rooms["sid1"] == {"user:u_7"} and ack["ok"] is False


async def test_subscriptions_per_connection_are_limited(fakes):
    edge = await connect(fakes.edge(rpc=fakes.Rpc(session_get=lambda d: {**VIEW, "session_id": d["session_id"]})),
                         {"token": fakes.token()})
    for n in range(fakes.settings.max_subscriptions):
        assert (await request(edge, "subscribe", {"session_id": f"s_{n}"}))["ok"]
    assert (await request(edge, "subscribe", {"session_id": "s_0"}))["ok"]  # again: not one more
    assert (await request(edge, "subscribe", {"session_id": "s_new"}))["error"]["code"] == "too_many_subscriptions"


async def test_requests_beyond_the_burst_are_rate_limited(fakes):
    edge = await connect(fakes.edge(rpc=fakes.Rpc(session_get=VIEW)), {"token": fakes.token()})
    acks = [await request(edge, "unsubscribe", {"session_id": "s_1"}) for _ in range(12)]
    assert [a["ok"] for a in acks] == [True] * 10 + [False] * 2
    assert acks[-1]["error"]["code"] == "rate_limited" and acks[-1]["error"]["details"]["retry_after"] > 0


async def test_unknown_events_get_an_error(fakes):
    edge = await connect(fakes.edge(), {"token": fakes.token()})
    ack = await when_client_sends_an_unknown_event("hack", "sid1", {"x": 1}, edge=edge)
    assert ack["error"]["code"] == "unknown_event" and edge.sio.events("error")[0]["details"] == {"event": "hack"}


async def test_reauth_extends_the_connection_of_the_same_user(fakes):
    edge = await connect(fakes.edge(), {"token": fakes.token(ttl=timedelta(seconds=30))})
    connection = edge.connections.get("sid1")
    connection.warned = True
    before = connection.identity.expires_at
    ack = await request(edge, "reauth", {"token": fakes.token(ttl=timedelta(minutes=15))})
    assert ack["ok"] and connection.identity.expires_at > before + 600 and connection.warned is False
    # Promoted to admin by the fresh token: joins the admins' room.
    assert (await request(edge, "reauth", {"token": fakes.token(role="admin")}))["ok"]
    assert "admins" in edge.sio.rooms["sid1"]


@pytest.mark.parametrize("fresh, code", [
    ("other-user", "forbidden"), ("expired", "token_expired"), ("garbage", "unauthorized"),
])
async def test_reauth_refusals_keep_the_old_token(fakes, fresh, code):
    edge = await connect(fakes.edge(), {"token": fakes.token()})
    before = edge.connections.get("sid1").identity
    token = {"other-user": fakes.token(user_id="u_8"), "expired": fakes.token(ttl=timedelta(seconds=-1)),
             "garbage": "garbage"}[fresh]
    ack = await request(edge, "reauth", {"token": token})
    assert ack["error"]["code"] == code and edge.connections.get("sid1").identity == before


# The gateway's rule for tokens (wagw_common.token_standing), against the account's standing now.
STANDINGS = {
    "password-changed": {"user_id": "u_7", "active": True, "token_generation": 1},  # the token's is 0
    "deactivated": {"user_id": "u_7", "active": False, "token_generation": 0},
    "deleted": RemoteError("not_found", "no such account"),
    "gateway-silent": Unavailable("no answer in time"),
}
STANDING_CODES = {"password-changed": "unauthorized", "deactivated": "unauthorized", "deleted": "unauthorized",
                  "gateway-silent": "unavailable"}


@pytest.mark.parametrize("account", sorted(STANDINGS))
async def test_a_token_the_gateway_refuses_cannot_connect(fakes, account):
    edge = fakes.edge(rpc=fakes.Rpc(account_standing=STANDINGS[account]))
    with pytest.raises(socketio.exceptions.ConnectionRefusedError) as caught:
        await connect(edge, {"token": fakes.token()})
    assert caught.value.error_args["data"]["code"] == STANDING_CODES[account]
    assert edge.connections.get("sid1") is None and not edge.sio.rooms["sid1"]


@pytest.mark.parametrize("account", sorted(STANDINGS))
async def test_a_token_the_gateway_refuses_cannot_reauth(fakes, account):
    rpc = fakes.Rpc()
    edge = await connect(fakes.edge(rpc=rpc), {"token": fakes.token()})
    before = edge.connections.get("sid1").identity
    rpc.replies["account.standing"] = STANDINGS[account]  # changed since the connection opened
    ack = await request(edge, "reauth", {"token": fakes.token(ttl=timedelta(minutes=15))})
    assert ack["error"]["code"] == STANDING_CODES[account] and edge.connections.get("sid1").identity == before
