"""Disconnect, logout, restart, rename, delete, pairing, failover and held messages: each message
through the orchestrator's router on the in-memory broker, with the real stores on a database of the
test's own (the compare-and-set claims that keep a held message from being sent twice are theirs)."""

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from wagw_common.errors import RemoteError

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

TENANT = "u_tenant"
# Far enough ahead to outlast a whole suite run: taken when the module is collected, not per test.
LATER = datetime.now(timezone.utc) + timedelta(hours=6)


def choose(registry, *worker_ids):
    """`worker.select` answers the next worker of a list (the last one again when it runs out); none: unavailable."""
    if not worker_ids:
        registry.replies.pop("worker.select", None)
        return
    queue = list(worker_ids)
    registry.replies["worker.select"] = lambda _data: {"worker_id": queue.pop(0) if len(queue) > 1 else queue[0]}


def _ref(session_id, **extra):
    return dict(tenant_id=TENANT, session_id=session_id, **extra)


def _offline(worker_id, session_ids):
    return dict(worker_id=worker_id, state="offline", reason="heartbeat timeout", session_ids=session_ids)


async def _failed(platform, session_id, message_id, worker_id="worker-1"):
    await platform.report(worker_id, "worker.message.status", session_id=session_id, message_id=message_id,
                          status="failed", reason="x", at=LATER)


async def test_disconnect_stops_it_on_its_worker_and_a_second_disconnect_is_a_conflict(platform):
    sid = await platform.connected()
    view = await platform.ask("session.disconnect", **_ref(sid))
    assert view["status"] == "DISCONNECTED" and view["worker_id"] is None
    assert platform.to_worker("worker-1", "worker.session.stop") == [{"session_id": sid, "logout": False}]
    assert platform.events("session.status_changed")[-1]["previous"] == "CONNECTED"
    with pytest.raises(RemoteError) as refused:
        await platform.ask("session.disconnect", **_ref(sid))
    assert refused.value.code == "conflict" and refused.value.details["status"] == "DISCONNECTED"
    assert await platform.deps.routes.worker_for(sid) is None


async def test_the_workers_report_of_the_stop_is_dropped(platform):
    sid = await platform.connected()
    await platform.ask("session.disconnect", **_ref(sid))
    before = len(platform.events())
    await platform.status(sid, "DISCONNECTED")
    assert len(platform.events()) == before and (await platform.session(sid))["status"] == "DISCONNECTED"


async def test_logout_unlinks_the_phone_and_forgets_it(platform):
    sid = await platform.connected()
    view = await platform.ask("session.logout", **_ref(sid))
    assert view["status"] == "LOGGED_OUT" and view["phone"] is None
    assert platform.to_worker("worker-1", "worker.session.stop") == [{"session_id": sid, "logout": True}]


async def test_restart_on_the_same_worker_goes_reconnecting_then_connected_without_flapping(platform):
    sid = await platform.connected()
    view = await platform.ask("session.restart", **_ref(sid))
    assert view["status"] == "RECONNECTING"
    sent = [(e.type, e.data) for e in platform.broker.to_worker("worker-1")][-2:]
    assert sent == [("worker.session.stop", {"session_id": sid, "logout": False}),
                    ("worker.session.start", {"session_id": sid, "restore": True})]
    # What the worker says while it stops and restores: only CONNECTED is news.
    for status in ("DISCONNECTED", "CONNECTING", "CONNECTED"):
        await platform.status(sid, status)
    changes = [(e["previous"], e["status"]) for e in platform.events("session.status_changed")][-2:]
    assert changes == [("CONNECTED", "RECONNECTING"), ("RECONNECTING", "CONNECTED")]


async def test_rename_and_describe_emit_session_updated(platform):
    sid = await platform.connected()
    view = await platform.ask("session.update", **_ref(sid, name="Sales", description="team B"))
    assert (view["name"], view["description"]) == ("Sales", "team B")
    [updated] = platform.events("session.updated")
    assert updated["name"] == "Sales" and updated["sequence"] == view["sequence"]
    with pytest.raises(RemoteError) as refused:
        await platform.ask("session.update", **_ref(sid))
    assert refused.value.code == "invalid"


async def test_setting_changing_and_removing_pacing_each_emit_one_pacing_changed(platform):
    sid = await platform.connected()
    policy = {"min_gap_seconds": 2.0, "jitter_seconds": 0.0, "warmup": None}
    for given in (policy, policy, {**policy, "jitter_seconds": 1.5}, None, None):
        view = await platform.ask("session.update", **_ref(sid, pacing=given))
    changes = platform.events("session.pacing_changed")
    # The same policy again, and removing what is already gone, change nothing and say nothing.
    assert [c["pacing"] and c["pacing"]["jitter_seconds"] for c in changes] == [0.0, 1.5, None]
    assert changes[0]["pacing"]["since"] and changes[-1]["sequence"] == view["sequence"]
    assert [c["sequence"] for c in changes] == sorted({c["sequence"] for c in changes})


async def test_delete_cleans_up_and_a_second_delete_is_not_found(platform):
    sid = await platform.connected()
    await platform.send(sid, "m_1")
    counters = platform.deps.sessions.counters

    async def slots_taken():
        return (await counters.find_one({"_id": TENANT}))["count"]

    used = await slots_taken()
    view = await platform.ask("session.delete", **_ref(sid))
    assert view["status"] == "DELETED"
    assert platform.event_types()[-2:] == ["session.status_changed", "session.deleted"]
    assert platform.to_worker("worker-1", "worker.session.stop")[-1] == {"session_id": sid, "logout": True}
    assert await slots_taken() == used - 1 and await platform.message("m_1") is None
    assert await platform.deps.routes.worker_for(sid) is None
    with pytest.raises(RemoteError) as refused:
        await platform.ask("session.delete", **_ref(sid))
    assert refused.value.code == "not_found"
    assert await slots_taken() == used - 1  # the slot is given back once


async def test_pairing_code_connect(platform):
    sid = await platform.create()
    await platform.ask("session.pair", **_ref(sid, phone="628123456789"))
    assert platform.to_worker("worker-1", "worker.session.start") == [
        {"session_id": sid, "restore": False, "pairing_phone": "628123456789"}]
    await platform.report("worker-1", "worker.session.pairing_code", session_id=sid, code="K7QD-2MXP", expires_at=LATER)
    [shown] = platform.events("session.pairing_code")
    assert shown["code"] == "K7QD-2MXP"
    assert (await platform.ask("session.get", **_ref(sid)))["pairing_code"] == "K7QD-2MXP"


async def test_failover_moves_every_session_restores_it_and_releases_held_messages_in_order(platform, registry):
    sids = [await platform.connected("worker-1") for _ in range(3)]
    await platform.send(sids[0], "m_lost", text="1")  # handed to worker-1, which dies before sending it
    choose(registry, "worker-2", "worker-3")
    await platform.fleet("worker.offline", **_offline("worker-1", sids[:1]))
    moved = {sid: await platform.session(sid) for sid in sids}
    assert all(s["status"] == "RECONNECTING" and s["worker_id"] in ("worker-2", "worker-3") for s in moved.values())
    new_worker = moved[sids[0]]["worker_id"]
    assert {"session_id": sids[0], "restore": True} in platform.to_worker(new_worker, "worker.session.start")
    assert await platform.deps.routes.worker_for(sids[0]) == new_worker
    # While it moves, sends are held (accepted, not routed, not failed).
    await platform.send(sids[0], "m_held", text="2")
    held = await platform.message("m_held")
    assert held["status"] == "queued" and held["routed_to"] is None
    # The new worker's CONNECTED releases both, oldest first, exactly once.
    await platform.status(sids[0], "CONNECTING", worker_id=new_worker)
    for _ in range(2):  # the second: a duplicate report
        await platform.status(sids[0], "CONNECTED", worker_id=new_worker, phone="628123456789")
    released = [d["message_id"] for d in platform.to_worker(new_worker, "worker.message.send")]
    assert released == ["m_lost", "m_held"]
    changes = [(e["previous"], e["status"]) for e in platform.events("session.status_changed")
               if e["session_id"] == sids[0]][-2:]
    assert changes == [("CONNECTED", "RECONNECTING"), ("RECONNECTING", "CONNECTED")]
    await _failed(platform, sids[0], "m_lost")  # a late report from the dead worker changes nothing
    assert (await platform.message("m_lost"))["status"] == "queued"


async def test_a_send_held_just_as_its_session_came_back_is_released_by_the_send_itself(platform, registry,
                                                                                        monkeypatch):
    """The send read RECONNECTING; before it stored the message, the CONNECTED report was applied and
    its release found nothing held. The message must not wait for a next CONNECTED that may never come."""
    sid = await platform.connected("worker-1")
    choose(registry, "worker-2")
    await platform.fleet("worker.offline", **_offline("worker-1", [sid]))
    sessions = platform.deps.sessions
    read_while_moving = sessions.get_for_tenant

    async def stale_read(tenant_id, session_id):
        seen = await read_while_moving(tenant_id, session_id)
        # The CONNECTED report lands right after the read (applied here: the broker is busy with the send).
        from wagw_session_orchestrator.session_reports import when_worker_reports_session_status_apply_it

        await when_worker_reports_session_status_apply_it(platform.broker.envelope("worker.session.status", {
            "worker_id": "worker-2", "session_id": sid, "status": "CONNECTED", "reason": None,
            "phone": "628123456789"}), platform.deps, speaker="worker-2")
        return seen

    monkeypatch.setattr(sessions, "get_for_tenant", stale_read)
    await platform.send(sid, "m_race")
    assert (await platform.message("m_race"))["routed_to"] == "worker-2"
    assert [d["message_id"] for d in platform.to_worker("worker-2", "worker.message.send")] == ["m_race"]


async def test_failover_is_idempotent(platform, registry):
    sid = await platform.connected("worker-1")
    choose(registry, "worker-2")
    await platform.fleet("worker.offline", **_offline("worker-1", [sid]))
    choose(registry, "worker-3")
    await platform.fleet("worker.offline", **_offline("worker-1", [sid]))  # again: not moved, its start sent again
    assert (await platform.session(sid))["worker_id"] == "worker-2"
    assert len(platform.to_worker("worker-2", "worker.session.start")) == 2
    assert platform.to_worker("worker-3", "worker.session.start") == []


async def test_a_session_reported_live_by_a_worker_that_does_not_hold_it_is_stopped_there(platform):
    sid = await platform.connected("worker-1")
    await platform.status(sid, "CONNECTED", worker_id="worker-9")
    assert platform.to_worker("worker-9", "worker.session.stop") == [{"session_id": sid, "logout": False}]


@pytest.mark.parametrize("send_queue_limit", [2])
async def test_send_to_a_disconnected_session_is_queued_on_request_up_to_the_limit(platform):
    sid = await platform.connected()
    await platform.ask("session.disconnect", **_ref(sid))
    for i in range(3):
        await platform.send(sid, f"m_{i}", text=str(i), queue=True)
    await platform.send(sid, "m_now", text="now")
    assert [(await platform.message(f"m_{i}"))["status"] for i in range(3)] == ["queued", "queued", "failed"]
    assert (await platform.message("m_2"))["timeline"][-1]["reason"] == "queue_full"
    assert (await platform.message("m_now"))["timeline"][-1]["reason"] == "session_not_connected"


async def test_media_location_contact_reaction_and_reply_reach_the_worker(platform):
    sid = await platform.connected()
    media = {"url": "https://example.com/a.pdf", "filename": "a.pdf", "mimetype": "application/pdf"}
    await platform.send(sid, "m_doc", type="document", text="the invoice", media=media)
    await platform.send(sid, "m_loc", type="location", text=None,
                        location={"latitude": -6.2, "longitude": 106.8, "name": "Office", "address": None})
    await platform.send(sid, "m_re", type="reaction", text=None, reaction={"message_id": "m_doc", "emoji": "👍"})
    await platform.send(sid, "m_reply", text="yes", reply_to="m_doc")
    await platform.send(sid, "m_bad", text="?", reply_to="m_nope")
    routed = {d["message_id"]: d for d in platform.to_worker("worker-1", "worker.message.send")}
    assert routed["m_doc"]["media"] == media and routed["m_doc"]["text"] == "the invoice"
    assert routed["m_loc"]["location"]["name"] == "Office" and "text" not in routed["m_loc"]
    assert routed["m_re"]["reaction"] == {"message_id": "m_doc", "emoji": "👍"}
    assert routed["m_reply"]["reply_to"] == "m_doc"
    assert "m_bad" not in routed
    assert (await platform.message("m_bad"))["timeline"][-1]["reason"] == "reply_target_not_found"


async def test_with_no_worker_a_session_waits_holding_its_sends_until_one_comes_online(platform, registry):
    sid = await platform.connected("worker-1")
    choose(registry)
    await platform.fleet("worker.offline", **_offline("worker-1", [sid]))
    waiting = await platform.session(sid)
    assert (waiting["status"], waiting["worker_id"], waiting["moved_from"]) == ("RECONNECTING", None, "worker-1")
    assert await platform.deps.routes.worker_for(sid) is None
    starts_before = len(platform.to_worker("worker-1", "worker.session.start"))
    await platform.fleet("worker.offline", **_offline("worker-1", [sid]))  # redelivered
    assert len(platform.to_worker("worker-1", "worker.session.start")) == starts_before
    await platform.send(sid, "m_1", text="1")
    held = await platform.message("m_1")
    assert held["status"] == "queued" and held["routed_to"] is None
    choose(registry, "worker-2")
    await platform.fleet("worker.online", worker_id="worker-2", state="online", reason="registered", session_ids=[])
    placed = await platform.session(sid)
    assert (placed["status"], placed["worker_id"]) == ("RECONNECTING", "worker-2")
    assert {"session_id": sid, "restore": True} in platform.to_worker("worker-2", "worker.session.start")
    assert await platform.deps.routes.worker_for(sid) == "worker-2"


async def test_a_waiting_session_is_adopted_by_the_worker_that_comes_back_with_it(platform, registry):
    sid = await platform.connected("worker-1")
    choose(registry)
    await platform.fleet("worker.offline", **_offline("worker-1", [sid]))
    for n in range(3):
        await platform.send(sid, f"m_{n}", text=str(n))
    await platform.status(sid, "CONNECTED", worker_id="worker-1", phone="628123456789")
    back = await platform.session(sid)
    assert (back["status"], back["worker_id"]) == ("CONNECTED", "worker-1")
    assert await platform.deps.routes.worker_for(sid) == "worker-1"
    assert [d["message_id"] for d in platform.to_worker("worker-1", "worker.message.send")] == ["m_0", "m_1", "m_2"]
    # Another worker claiming it afterwards is a stray and is told to stop.
    await platform.status(sid, "CONNECTED", worker_id="worker-3")
    assert platform.to_worker("worker-3", "worker.session.stop") == [{"session_id": sid, "logout": False}]


# ---- a worker bounces a send it was unsure of ------------------------------------------------------

def _bounced(outcome: str) -> float:
    return REGISTRY.get_sample_value("wagw_session_orchestrator_sends_bounced_total", {"outcome": outcome}) or 0.0


async def _bounce(platform, session_id, message_id, worker_id="worker-1", reason="reconnected"):
    await platform.report(worker_id, "worker.message.bounced", session_id=session_id, message_id=message_id,
                          reason=reason)


async def test_a_bounced_send_is_routed_again_to_the_sessions_worker_marked_rerouted_once(platform):
    sid = await platform.connected("worker-1")
    await platform.send(sid, "m_1")
    [first] = platform.to_worker("worker-1", "worker.message.send")
    assert "rerouted" not in first
    routed, ignored = _bounced("routed"), _bounced("ignored")
    await _bounce(platform, sid, "m_1")  # nothing moved: back to the same worker, which now sends it
    again = platform.to_worker("worker-1", "worker.message.send")[1:]
    assert [(d["message_id"], d["rerouted"]) for d in again] == [("m_1", True)]
    await _bounce(platform, sid, "m_1")  # the same bounce delivered twice: not a second send
    assert len(platform.to_worker("worker-1", "worker.message.send")) == 2
    assert (_bounced("routed") - routed, _bounced("ignored") - ignored) == (1, 1)
    stored = await platform.message("m_1")
    assert stored["status"] == "queued" and stored["routed_to"] == "worker-1"


async def test_a_stale_send_bounced_by_the_worker_a_session_left_goes_to_the_new_one_or_waits_for_it(platform,
                                                                                                     registry):
    sid = await platform.connected("worker-1")
    for message_id in ("m_1", "m_2"):
        await platform.send(sid, message_id)
    choose(registry, "worker-2")
    await platform.fleet("worker.offline", **_offline("worker-1", [sid]))
    await _bounce(platform, sid, "m_1")  # the session is still RECONNECTING on worker-2: m_1 waits, held
    assert (await platform.message("m_1"))["routed_to"] is None
    assert platform.to_worker("worker-2", "worker.message.send") == []
    await platform.status(sid, "CONNECTED", worker_id="worker-2", phone="628123456789")  # m_1, and m_2 (old route)
    assert [d["message_id"] for d in platform.to_worker("worker-2", "worker.message.send")] == ["m_1", "m_2"]
    await _bounce(platform, sid, "m_2")  # handed to worker-2 since: worker-1's bounce changes nothing
    assert (await platform.message("m_2"))["routed_to"] == "worker-2"
    assert len(platform.to_worker("worker-2", "worker.message.send")) == 2
    # One still handed to worker-1 while the session is CONNECTED on worker-2: an ordinary send there
    # (the `rerouted` mark is for the worker that bounced; one of an older version would refuse it).
    await platform.change_message("m_1", status="queued", routed_to="worker-1", rerouted=False)
    await _bounce(platform, sid, "m_1")
    [last] = platform.to_worker("worker-2", "worker.message.send")[2:]
    assert last["message_id"] == "m_1" and "rerouted" not in last


async def test_a_bounce_of_a_message_sent_or_unknown_changes_nothing(platform):
    sid = await platform.connected("worker-1")
    await platform.send(sid, "m_1")
    await platform.report("worker-1", "worker.message.status", session_id=sid, message_id="m_1", status="sent",
                          reason=None, at=datetime.now(timezone.utc))
    await _bounce(platform, sid, "m_1")
    await _bounce(platform, sid, "m_unknown")
    stored = await platform.message("m_1")
    assert stored["status"] == "sent" and stored["routed_to"] == "worker-1"
    assert len(platform.to_worker("worker-1", "worker.message.send")) == 1
