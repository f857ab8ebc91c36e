"""The Socket.IO handlers with a fake server and a fake RPC client."""

from datetime import timedelta

import pytest
import socketio

from wagw_common.contracts import contract_for
from wagw_common.errors import RemoteError, Unavailable
from wagw_common.settings import load
from wagw_common.tokens import Principal, issue_access_token
from wagw_realtime.settings import Settings
from wagw_realtime.sockets import when_client_connects_authenticate, when_client_subscribes_send_session_state

pytestmark = pytest.mark.unit
SETTINGS = load(Settings, {})


class FakeServer:
    def __init__(self):
        self.sessions, self.rooms, self.emitted = {}, [], []

    async def save_session(self, sid, session):
        self.sessions[sid] = session

    async def get_session(self, sid):
        return self.sessions[sid]

    async def enter_room(self, sid, room):
        self.rooms.append(room)

    async def emit(self, event, data, to):
        self.emitted.append((event, data, to))


class FakeRpc:
    def __init__(self, reply=None, error=None):
        self.reply, self.error, self.calls = reply, error, []

    async def call(self, message_type, data):
        self.calls.append((message_type, data))
        if self.error:
            raise self.error
        return self.reply


def token(role="user", ttl=timedelta(minutes=5), secret=SETTINGS.jwt_secret):
    return issue_access_token(Principal("u_7", role, "BASIC"), secret=secret, issuer=SETTINGS.jwt_issuer,
                              audience=SETTINGS.jwt_audience, ttl=ttl)


async def connect(auth):
    sio = FakeServer()
    await when_client_connects_authenticate("sid1", {}, auth, sio=sio, settings=SETTINGS)
    return sio


async def test_a_valid_token_joins_the_users_room():
    sio = await connect({"token": token()})
    assert sio.rooms == ["user:u_7"] and sio.sessions["sid1"]["user_id"] == "u_7"


async def test_an_admin_also_joins_the_admins_room():
    assert (await connect({"token": token(role="admin")})).rooms == ["user:u_7", "admins"]


@pytest.mark.parametrize("auth, code", [
    (None, "unauthorized"), ({}, "unauthorized"), ("just-a-string", "unauthorized"), ({"token": 42}, "unauthorized"),
    ({"token": "not.a.jwt"}, "unauthorized"),
    ({"token": token(secret="another-secret-entirely-0123456789")}, "unauthorized"),
    ({"token": token(ttl=timedelta(seconds=-5))}, "token_expired"),
])
async def test_bad_credentials_are_refused_with_a_code(auth, code):
    with pytest.raises(socketio.exceptions.ConnectionRefusedError) as caught:
        await connect(auth)
    assert caught.value.error_args["data"]["code"] == code
    assert caught.value.error_args["message"] == caught.value.error_args["data"]["message"]


async def subscribe(data, rpc):
    sio = FakeServer()
    sio.sessions["sid1"] = {"user_id": "u_7", "role": "user", "tier": "BASIC"}
    ack = await when_client_subscribes_send_session_state("sid1", data, sio=sio, rpc=lambda: rpc)
    return sio, ack


async def test_subscribing_to_an_owned_session_sends_its_state_at_once():
    view = {**contract_for("session.get").reply_example, "status": "QR_REQUIRED", "qr": "2@abc",
            "qr_expires_at": "2026-01-01T12:01:00Z"}
    rpc = FakeRpc(reply=view)
    sio, ack = await subscribe({"session_id": view["session_id"]}, rpc)
    assert ack == {"ok": True}
    assert rpc.calls == [("session.get", {"tenant_id": "u_7", "session_id": view["session_id"]})]
    assert sio.rooms == [f"session:{view['session_id']}"]
    assert [(event, to) for event, _, to in sio.emitted] == [("session.status", "sid1"), ("session.qr", "sid1")]


@pytest.mark.parametrize("data", [None, "s_1", ["s_1"], {}, {"session_id": "bad id!"}, {"session_id": "s_1", "x": 1}])
async def test_bad_payloads_get_an_error_event(data):
    sio, ack = await subscribe(data, FakeRpc())
    [(event, error, to)] = sio.emitted
    assert (event, to, error["code"]) == ("error", "sid1", "invalid") and ack["ok"] is False
    assert sio.rooms == []


@pytest.mark.parametrize("failure, code", [
    (RemoteError("not_found", "no such session"), "not_found"), (Unavailable("no answer"), "unavailable"),
    (RuntimeError("bug"), "internal"),
])
async def test_a_session_that_cannot_be_checked_is_not_joined(failure, code):
    sio, ack = await subscribe({"session_id": "s_1"}, FakeRpc(error=failure))
    assert [(e, d["code"]) for e, d, _ in sio.emitted] == [("error", code)]
    assert sio.rooms == [] and ack["ok"] is False
