"""Disconnect, logout, restart, rename, delete, pairing, failover and held messages, against
in-memory stores and a recording broker (events are real and contract-checked)."""

from datetime import datetime, timedelta, timezone
from functools import partial

import pytest
from prometheus_client import REGISTRY
from wagw_common.errors import Unavailable

from wagw_common.envelope import Envelope
from wagw_common.errors import Conflict, DomainError, NotFound
from wagw_session_orchestrator import failover
from wagw_session_orchestrator import message_commands as mc
from wagw_session_orchestrator import session_commands as sc
from wagw_session_orchestrator import session_control as ctl
from wagw_session_orchestrator import worker_reports as wr

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]

TENANT = "u_tenant"
LATER = datetime.now(timezone.utc) + timedelta(minutes=1)


class FakeRpc:
    """`worker.select` answers the next worker of a list (the last one again when it runs out)."""

    def __init__(self, *worker_ids):
        self.worker_ids = list(worker_ids)

    async def call(self, request_type, data, **_kwargs):
        assert request_type == "worker.select"
        worker_id = self.worker_ids.pop(0) if len(self.worker_ids) > 1 else self.worker_ids[0]
        return {"worker_id": worker_id}


def env(message_type, **data):
    return Envelope(type=message_type, source="test", data=data)


@pytest.fixture
def deps(sessions, relay, broker):
    return dict(sessions=sessions, relay=relay, broker=broker)


@pytest.fixture
def uplink(deps, messages, relay, routes):
    async def report(session_id, status, worker_id="worker-1", phone=None):
        await wr.when_worker_reports_session_status_apply_it(
            env("worker.session.status", worker_id=worker_id, session_id=session_id, status=status, reason=None,
                phone=phone), **deps, messages=messages, message_relay=relay, routes=routes, speaker=worker_id)
    return report


@pytest.fixture
def connected(deps, routes, uplink):
    async def make(worker_id="worker-1"):
        view = await sc.when_session_create_requested_create_it(
            env("session.create", tenant_id=TENANT, name="Support", description="", session_limit=5), **deps)
        await sc.when_session_connect_requested_assign_a_worker(
            env("session.connect", tenant_id=TENANT, session_id=view["session_id"]), **deps, rpc=FakeRpc(worker_id),
            routes=routes)
        await uplink(view["session_id"], "CONNECTED", worker_id=worker_id, phone="628123456789")
        return view["session_id"]
    return make


def _ref(session_id, **extra):
    return dict(tenant_id=TENANT, session_id=session_id, **extra)


def _commands(broker, worker_id, command_type):
    return [e.data for e in broker.to_worker(worker_id) if e.type == command_type]


async def test_disconnect_stops_it_on_its_worker_and_a_second_disconnect_is_a_conflict(
        deps, routes, broker, relay, connected):
    sid = await connected()
    view = await ctl.when_session_disconnect_requested_stop_it(env("session.disconnect", **_ref(sid)), **deps,
                                                              routes=routes)
    assert view["status"] == "DISCONNECTED" and view["worker_id"] is None
    assert _commands(broker, "worker-1", "worker.session.stop") == [{"session_id": sid, "logout": False}]
    assert relay.of_type("session.status_changed")[-1]["previous"] == "CONNECTED"
    with pytest.raises(Conflict) as refused:
        await ctl.when_session_disconnect_requested_stop_it(env("session.disconnect", **_ref(sid)), **deps,
                                                           routes=routes)
    assert refused.value.details["status"] == "DISCONNECTED"
    assert await routes.worker_for(sid) is None


async def test_the_workers_report_of_the_stop_is_dropped(deps, routes, sessions, relay, connected, uplink):
    sid = await connected()
    await ctl.when_session_disconnect_requested_stop_it(env("session.disconnect", **_ref(sid)), **deps, routes=routes)
    before = len(relay.flushed)
    await uplink(sid, "DISCONNECTED")
    assert len(relay.flushed) == before and (await sessions.get(sid))["status"] == "DISCONNECTED"


async def test_logout_unlinks_the_phone_and_forgets_it(deps, routes, broker, connected):
    sid = await connected()
    view = await ctl.when_session_logout_requested_unlink_the_phone(env("session.logout", **_ref(sid)), **deps,
                                                                   routes=routes)
    assert view["status"] == "LOGGED_OUT" and view["phone"] is None
    assert _commands(broker, "worker-1", "worker.session.stop") == [{"session_id": sid, "logout": True}]


async def test_restart_on_the_same_worker_goes_reconnecting_then_connected_without_flapping(
        deps, routes, broker, relay, sessions, connected, uplink):
    sid = await connected()
    view = await ctl.when_session_restart_requested_start_it_again(
        env("session.restart", **_ref(sid)), **deps, rpc=FakeRpc("worker-1"), routes=routes)
    assert view["status"] == "RECONNECTING"
    sent = [(e.type, e.data) for e in broker.to_worker("worker-1")][-2:]
    assert sent == [("worker.session.stop", {"session_id": sid, "logout": False}),
                    ("worker.session.start", {"session_id": sid, "restore": True})]
    # What the worker says while it stops and restores: only CONNECTED is news.
    for status in ("DISCONNECTED", "CONNECTING", "CONNECTED"):
        await uplink(sid, status)
    changes = [(e["previous"], e["status"]) for e in relay.of_type("session.status_changed")][-2:]
    assert changes == [("CONNECTED", "RECONNECTING"), ("RECONNECTING", "CONNECTED")]


async def test_rename_and_describe_emit_session_updated(deps, relay, connected):
    sid = await connected()
    view = await ctl.when_session_update_requested_rename_it(
        env("session.update", **_ref(sid, name="Sales", description="team B")), **deps)
    assert (view["name"], view["description"]) == ("Sales", "team B")
    [updated] = relay.of_type("session.updated")
    assert updated["name"] == "Sales" and updated["sequence"] == view["sequence"]
    with pytest.raises(DomainError):
        await ctl.when_session_update_requested_rename_it(env("session.update", **_ref(sid)), **deps)


async def test_delete_cleans_up_and_a_second_delete_is_not_found(
        deps, routes, broker, relay, sessions, messages, connected):
    sid = await connected()
    await mc.when_send_requested_store_and_route_it(
        env("message.send", tenant_id=TENANT, session_id=sid, message_id="m_1", to="628111222333", type="text",
            text="Hi"), **deps, messages=messages, routes=routes, queue_limit=10)
    used = sessions.counts[TENANT]
    delete = partial(ctl.when_session_delete_requested_remove_it, **deps, messages=messages, routes=routes)
    view = await delete(env("session.delete", **_ref(sid)))
    assert view["status"] == "DELETED"
    assert relay.types()[-2:] == ["session.status_changed", "session.deleted"]
    assert _commands(broker, "worker-1", "worker.session.stop")[-1] == {"session_id": sid, "logout": True}
    assert sessions.counts[TENANT] == used - 1 and messages.docs == {}
    assert await routes.worker_for(sid) is None
    with pytest.raises(NotFound):
        await delete(env("session.delete", **_ref(sid)))
    assert sessions.counts[TENANT] == used - 1  # the slot is given back once


async def test_pairing_code_connect(deps, routes, broker, relay):
    view = await sc.when_session_create_requested_create_it(
        env("session.create", tenant_id=TENANT, name="Support", description="", session_limit=5), **deps)
    sid = view["session_id"]
    await sc.when_session_pair_requested_assign_a_worker(
        env("session.pair", **_ref(sid, phone="628123456789")), **deps, rpc=FakeRpc("worker-1"), routes=routes)
    [start] = _commands(broker, "worker-1", "worker.session.start")
    assert start == {"session_id": sid, "restore": False, "pairing_phone": "628123456789"}
    await wr.when_worker_shows_pairing_code_store_it(
        env("worker.session.pairing_code", worker_id="worker-1", session_id=sid, code="K7QD-2MXP", expires_at=LATER),
        **deps, speaker="worker-1")
    [shown] = relay.of_type("session.pairing_code")
    assert shown["code"] == "K7QD-2MXP"
    got = await sc.when_session_requested_return_it(env("session.get", **_ref(sid)), sessions=deps["sessions"])
    assert got["pairing_code"] == "K7QD-2MXP"


async def test_failover_moves_every_session_restores_it_and_releases_held_messages_in_order(
        deps, routes, broker, relay, sessions, messages, connected, uplink):
    sids = [await connected("worker-1") for _ in range(3)]
    send = partial(mc.when_send_requested_store_and_route_it, **deps, messages=messages, routes=routes, queue_limit=10)
    # Handed to worker-1, which dies before sending it.
    await send(env("message.send", tenant_id=TENANT, session_id=sids[0], message_id="m_lost", to="628111222333",
                   type="text", text="1"))
    await failover.when_worker_left_move_its_sessions(
        env("worker.offline", worker_id="worker-1", state="offline", reason="heartbeat timeout", session_ids=sids[:1]),
        **deps, rpc=FakeRpc("worker-2", "worker-3"), routes=routes)
    moved = {sid: await sessions.get(sid) for sid in sids}
    assert all(s["status"] == "RECONNECTING" and s["worker_id"] in ("worker-2", "worker-3") for s in moved.values())
    new_worker = moved[sids[0]]["worker_id"]
    starts = _commands(broker, new_worker, "worker.session.start")
    assert {"session_id": sids[0], "restore": True} in starts
    assert await routes.worker_for(sids[0]) == new_worker
    # While it moves, sends are held (accepted, not routed, not failed).
    await send(env("message.send", tenant_id=TENANT, session_id=sids[0], message_id="m_held", to="628111222333",
                   type="text", text="2"))
    assert messages.docs["m_held"]["status"] == "queued" and messages.docs["m_held"]["routed_to"] is None
    # The new worker's CONNECTED releases both, oldest first, exactly once.
    await uplink(sids[0], "CONNECTING", worker_id=new_worker)
    await uplink(sids[0], "CONNECTED", worker_id=new_worker, phone="628123456789")
    await uplink(sids[0], "CONNECTED", worker_id=new_worker, phone="628123456789")  # a duplicate report
    released = [d["message_id"] for d in _commands(broker, new_worker, "worker.message.send")]
    assert released == ["m_lost", "m_held"]
    changes = [(e["previous"], e["status"]) for e in relay.of_type("session.status_changed")
               if e["session_id"] == sids[0]][-2:]
    assert changes == [("CONNECTED", "RECONNECTING"), ("RECONNECTING", "CONNECTED")]
    # A late report from the dead worker changes nothing.
    await wr.when_worker_reports_message_status_record_it(
        env("worker.message.status", worker_id="worker-1", session_id=sids[0], message_id="m_lost", status="failed",
            reason="x", at=LATER), messages=messages, relay=relay, broker=deps["broker"], speaker="worker-1")
    assert messages.docs["m_lost"]["status"] == "queued"


async def test_a_send_held_just_as_its_session_came_back_is_released_by_the_send_itself(
        deps, routes, broker, sessions, messages, connected, uplink):
    """The send read RECONNECTING; before it stored the message, the CONNECTED report was applied and
    its release found nothing held. The message must not wait for a next CONNECTED that may never come."""
    sid = await connected("worker-1")
    await failover.when_worker_left_move_its_sessions(
        env("worker.offline", worker_id="worker-1", state="offline", reason="heartbeat timeout", session_ids=[sid]),
        **deps, rpc=FakeRpc("worker-2"), routes=routes)
    read_while_moving = sessions.get_for_tenant

    async def stale_read(tenant_id, session_id):
        seen = await read_while_moving(tenant_id, session_id)
        await uplink(sid, "CONNECTED", worker_id="worker-2", phone="628123456789")  # lands right after the read
        return seen

    sessions.get_for_tenant = stale_read
    await mc.when_send_requested_store_and_route_it(
        env("message.send", tenant_id=TENANT, session_id=sid, message_id="m_race", to="628111222333", type="text",
            text="Hi"), **deps, messages=messages, routes=routes, queue_limit=10)
    assert messages.docs["m_race"]["routed_to"] == "worker-2"
    assert [d["message_id"] for d in _commands(broker, "worker-2", "worker.message.send")] == ["m_race"]


async def test_failover_is_idempotent(deps, routes, broker, sessions, connected):
    sid = await connected("worker-1")
    event = env("worker.offline", worker_id="worker-1", state="offline", reason="heartbeat timeout", session_ids=[sid])
    handle = partial(failover.when_worker_left_move_its_sessions, **deps, routes=routes)
    await handle(event, rpc=FakeRpc("worker-2"))
    await handle(event, rpc=FakeRpc("worker-3"))  # redelivered: not moved again, its start is sent again
    assert (await sessions.get(sid))["worker_id"] == "worker-2"
    assert len(_commands(broker, "worker-2", "worker.session.start")) == 2
    assert _commands(broker, "worker-3", "worker.session.start") == []


async def test_a_session_reported_live_by_a_worker_that_does_not_hold_it_is_stopped_there(
        deps, routes, broker, connected, uplink):
    sid = await connected("worker-1")
    await uplink(sid, "CONNECTED", worker_id="worker-9")
    assert _commands(broker, "worker-9", "worker.session.stop") == [{"session_id": sid, "logout": False}]


async def test_send_to_a_disconnected_session_is_queued_on_request_up_to_the_limit(deps, routes, messages, broker,
                                                                                   connected, uplink):
    sid = await connected()
    await ctl.when_session_disconnect_requested_stop_it(env("session.disconnect", **_ref(sid)), **deps, routes=routes)
    send = partial(mc.when_send_requested_store_and_route_it, **deps, messages=messages, routes=routes, queue_limit=2)
    for i in range(3):
        await send(env("message.send", tenant_id=TENANT, session_id=sid, message_id=f"m_{i}", to="628111222333",
                       type="text", text=str(i), queue=True))
    await send(env("message.send", tenant_id=TENANT, session_id=sid, message_id="m_now", to="628111222333",
                   type="text", text="now"))
    assert [messages.docs[f"m_{i}"]["status"] for i in range(3)] == ["queued", "queued", "failed"]
    assert messages.docs["m_2"]["timeline"][-1]["reason"] == "queue_full"
    assert messages.docs["m_now"]["timeline"][-1]["reason"] == "session_not_connected"


async def test_media_location_contact_reaction_and_reply_reach_the_worker(deps, routes, messages, broker, connected):
    sid = await connected()
    send = partial(mc.when_send_requested_store_and_route_it, **deps, messages=messages, routes=routes, queue_limit=2)
    base = dict(tenant_id=TENANT, session_id=sid, to="628111222333")
    media = {"url": "https://example.com/a.pdf", "filename": "a.pdf", "mimetype": "application/pdf"}
    await send(env("message.send", **base, message_id="m_doc", type="document", text="the invoice", media=media))
    await send(env("message.send", **base, message_id="m_loc", type="location",
                   location={"latitude": -6.2, "longitude": 106.8, "name": "Office", "address": None}))
    await send(env("message.send", **base, message_id="m_re", type="reaction",
                   reaction={"message_id": "m_doc", "emoji": "👍"}))
    await send(env("message.send", **base, message_id="m_reply", type="text", text="yes", reply_to="m_doc"))
    await send(env("message.send", **base, message_id="m_bad", type="text", text="?", reply_to="m_nope"))
    routed = {d["message_id"]: d for d in _commands(broker, "worker-1", "worker.message.send")}
    assert routed["m_doc"]["media"] == media and routed["m_doc"]["text"] == "the invoice"
    assert routed["m_loc"]["location"]["name"] == "Office" and "text" not in routed["m_loc"]
    assert routed["m_re"]["reaction"] == {"message_id": "m_doc", "emoji": "👍"}
    assert routed["m_reply"]["reply_to"] == "m_doc"
    assert "m_bad" not in routed and messages.docs["m_bad"]["timeline"][-1]["reason"] == "reply_target_not_found"


class NoWorkerRpc:
    async def call(self, request_type, data, **_kwargs):
        raise Unavailable("no worker can take a session")


async def test_with_no_worker_a_session_waits_holding_its_sends_until_one_comes_online(
        deps, routes, broker, sessions, messages, connected):
    sid = await connected("worker-1")
    offline = env("worker.offline", worker_id="worker-1", state="offline", reason="heartbeat timeout", session_ids=[sid])
    await failover.when_worker_left_move_its_sessions(offline, **deps, rpc=NoWorkerRpc(), routes=routes)
    waiting = await sessions.get(sid)
    assert (waiting["status"], waiting["worker_id"], waiting["moved_from"]) == ("RECONNECTING", None, "worker-1")
    assert await routes.worker_for(sid) is None
    starts_before = len(_commands(broker, "worker-1", "worker.session.start"))
    await failover.when_worker_left_move_its_sessions(offline, **deps, rpc=NoWorkerRpc(), routes=routes)  # redelivered
    assert len(_commands(broker, "worker-1", "worker.session.start")) == starts_before
    send = partial(mc.when_send_requested_store_and_route_it, **deps, messages=messages, routes=routes, queue_limit=10)
    await send(env("message.send", tenant_id=TENANT, session_id=sid, message_id="m_1", to="628111222333",
                   type="text", text="1"))
    assert messages.docs["m_1"]["status"] == "queued" and messages.docs["m_1"]["routed_to"] is None
    online = env("worker.online", worker_id="worker-2", reason="registered", session_ids=[])
    await failover.when_worker_came_online_place_waiting(online, **deps, rpc=FakeRpc("worker-2"), routes=routes)
    placed = await sessions.get(sid)
    assert (placed["status"], placed["worker_id"]) == ("RECONNECTING", "worker-2")
    assert {"session_id": sid, "restore": True} in _commands(broker, "worker-2", "worker.session.start")
    assert await routes.worker_for(sid) == "worker-2"


async def test_a_waiting_session_is_adopted_by_the_worker_that_comes_back_with_it(
        deps, routes, broker, sessions, messages, connected, uplink):
    sid = await connected("worker-1")
    offline = env("worker.offline", worker_id="worker-1", state="offline", reason="heartbeat timeout", session_ids=[sid])
    await failover.when_worker_left_move_its_sessions(offline, **deps, rpc=NoWorkerRpc(), routes=routes)
    send = partial(mc.when_send_requested_store_and_route_it, **deps, messages=messages, routes=routes, queue_limit=10)
    for n in range(3):
        await send(env("message.send", tenant_id=TENANT, session_id=sid, message_id=f"m_{n}", to="628111222333",
                       type="text", text=str(n)))
    await uplink(sid, "CONNECTED", worker_id="worker-1", phone="628123456789")
    back = await sessions.get(sid)
    assert (back["status"], back["worker_id"]) == ("CONNECTED", "worker-1")
    assert await routes.worker_for(sid) == "worker-1"
    assert [d["message_id"] for d in _commands(broker, "worker-1", "worker.message.send")] == ["m_0", "m_1", "m_2"]
    # Another worker claiming it afterwards is a stray and is told to stop.
    await uplink(sid, "CONNECTED", worker_id="worker-3")
    assert _commands(broker, "worker-3", "worker.session.stop") == [{"session_id": sid, "logout": False}]


# ---- a worker bounces a send it was unsure of ------------------------------------------------------

def _bounced(outcome: str) -> float:
    return REGISTRY.get_sample_value("wagw_session_orchestrator_sends_bounced_total", {"outcome": outcome}) or 0.0


def _bounce(session_id, message_id, worker_id="worker-1", reason="reconnected"):
    return env("worker.message.bounced", worker_id=worker_id, session_id=session_id, message_id=message_id,
               reason=reason)


@pytest.fixture
def bounce(deps, messages, relay, sessions):
    return partial(wr.when_worker_bounces_message_route_it_again, messages=messages, relay=relay,
                   broker=deps["broker"], sessions=sessions, speaker="worker-1")


async def test_a_bounced_send_is_routed_again_to_the_sessions_worker_marked_rerouted_once(
        deps, routes, broker, messages, connected, bounce):
    sid = await connected("worker-1")
    await mc.when_send_requested_store_and_route_it(
        env("message.send", tenant_id=TENANT, session_id=sid, message_id="m_1", to="628111222333", type="text",
            text="Hi"), **deps, messages=messages, routes=routes, queue_limit=10)
    [first] = _commands(broker, "worker-1", "worker.message.send")
    assert "rerouted" not in first
    routed, ignored = _bounced("routed"), _bounced("ignored")
    await bounce(_bounce(sid, "m_1"))  # nothing moved: back to the same worker, which now sends it
    again = _commands(broker, "worker-1", "worker.message.send")[1:]
    assert [(d["message_id"], d["rerouted"]) for d in again] == [("m_1", True)]
    await bounce(_bounce(sid, "m_1"))  # the same bounce delivered twice: not a second send
    assert len(_commands(broker, "worker-1", "worker.message.send")) == 2
    assert (_bounced("routed") - routed, _bounced("ignored") - ignored) == (1, 1)
    assert messages.docs["m_1"]["status"] == "queued" and messages.docs["m_1"]["routed_to"] == "worker-1"


async def test_a_stale_send_bounced_by_the_worker_a_session_left_goes_to_the_new_one_or_waits_for_it(
        deps, routes, broker, sessions, messages, connected, uplink, bounce):
    sid = await connected("worker-1")
    for message_id in ("m_1", "m_2"):
        await mc.when_send_requested_store_and_route_it(
            env("message.send", tenant_id=TENANT, session_id=sid, message_id=message_id, to="628111222333",
                type="text", text="Hi"), **deps, messages=messages, routes=routes, queue_limit=10)
    await failover.when_worker_left_move_its_sessions(
        env("worker.offline", worker_id="worker-1", state="offline", reason="heartbeat timeout", session_ids=[sid]),
        **deps, rpc=FakeRpc("worker-2"), routes=routes)
    await bounce(_bounce(sid, "m_1"))  # the session is still RECONNECTING on worker-2: m_1 waits, held
    assert messages.docs["m_1"]["routed_to"] is None and _commands(broker, "worker-2", "worker.message.send") == []
    await uplink(sid, "CONNECTED", worker_id="worker-2", phone="628123456789")  # releases m_1, and m_2 (its old route)
    assert [d["message_id"] for d in _commands(broker, "worker-2", "worker.message.send")] == ["m_1", "m_2"]
    await bounce(_bounce(sid, "m_2"))  # handed to worker-2 since: worker-1's bounce changes nothing
    assert messages.docs["m_2"]["routed_to"] == "worker-2"
    assert len(_commands(broker, "worker-2", "worker.message.send")) == 2
    # One still handed to worker-1 while the session is CONNECTED on worker-2: an ordinary send there
    # (the `rerouted` mark is for the worker that bounced; one of an older version would refuse it).
    messages.docs["m_1"].update(status="queued", routed_to="worker-1", rerouted=False)
    await bounce(_bounce(sid, "m_1"))
    [last] = _commands(broker, "worker-2", "worker.message.send")[2:]
    assert last["message_id"] == "m_1" and "rerouted" not in last


async def test_a_bounce_of_a_message_sent_or_unknown_changes_nothing(deps, routes, broker, messages, connected, bounce):
    sid = await connected("worker-1")
    await mc.when_send_requested_store_and_route_it(
        env("message.send", tenant_id=TENANT, session_id=sid, message_id="m_1", to="628111222333", type="text",
            text="Hi"), **deps, messages=messages, routes=routes, queue_limit=10)
    await wr.when_worker_reports_message_status_record_it(
        env("worker.message.status", worker_id="worker-1", session_id=sid, message_id="m_1", status="sent",
            reason=None, at=datetime.now(timezone.utc)), messages=messages, relay=deps["relay"], broker=deps["broker"],
        speaker="worker-1")
    await bounce(_bounce(sid, "m_1"))
    await bounce(_bounce(sid, "m_unknown"))
    assert messages.docs["m_1"]["status"] == "sent" and messages.docs["m_1"]["routed_to"] == "worker-1"
    assert len(_commands(broker, "worker-1", "worker.message.send")) == 1
