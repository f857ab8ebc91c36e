"""The worker side of the protocol without a broker: what a worker publishes, and how it treats commands."""

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from wagw_common.envelope import Envelope, MalformedMessage

from wagw_worker_sdk import Worker, WorkerIdentity
from wagw_worker_sdk.commands import Recovery

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


class FakeLink:
    """Records what the worker publishes; consuming and reconnecting are no-ops."""

    def __init__(self, user: str = "guest"):
        self.user = user
        self.connected = True
        self.published: list[Envelope] = []
        self.declared: list[tuple[str, bool]] = []
        self.reconnect_callbacks = []

    async def publish_uplink(self, envelope: Envelope) -> None:
        self.published.append(envelope)

    async def consume(self, spec, on_message, *, declare):
        self.declared.append((spec.name, declare))
        return None, "tag"

    def on_reconnect(self, callback):
        self.reconnect_callbacks.append(callback)
        return lambda: None

    def reconnect(self):
        for callback in self.reconnect_callbacks:
            callback()

    def of_type(self, message_type: str) -> list[Envelope]:
        return [e for e in self.published if e.type == message_type]


class Sessions:
    """A minimal worker implementation: remembers what it was asked."""

    def __init__(self, held=()):
        self.held = {s: "CONNECTED" for s in held}
        self.calls: list[tuple] = []

    def held_sessions(self):
        return [{"session_id": s, "status": st} for s, st in self.held.items()]

    async def start_session(self, session_id, *, restore, pairing_phone=None):
        self.calls.append(("start", session_id, restore, pairing_phone))
        self.held[session_id] = "CONNECTED" if restore else "QR_REQUIRED"

    async def stop_session(self, session_id, *, logout):
        self.calls.append(("stop", session_id, logout))
        self.held.pop(session_id, None)

    async def send_message(self, session_id, message_id, to, text, **content):
        self.calls.append(("send", session_id, message_id, content.get("type")))


@dataclass
class FakeMessage:
    body: bytes
    redelivered: bool = False
    type: str | None = None
    outcome: str | None = None

    async def ack(self):
        self.outcome = "ack"

    async def reject(self, requeue: bool = False):
        self.outcome = "requeued" if requeue else "rejected"


def command(message_type: str, data: dict, at: datetime | None = None,
            correlation_id: str | None = None) -> FakeMessage:
    extra = {"time": at} if at else {}
    if correlation_id:
        extra["correlation_id"] = correlation_id
    envelope = Envelope(type=message_type, source="session-orchestrator", data=data, **extra)
    return FakeMessage(envelope.to_json())


@pytest.fixture
def link():
    return FakeLink()


async def started(link, handler=None, **kw) -> tuple[Worker, Sessions]:
    worker = Worker(WorkerIdentity("sim-worker-1", max_sessions=5, version="1.0", cpu_cores=2), link=link,
                    heartbeat_interval=60, **kw)
    handler = handler or Sessions()
    await worker.start(handler)
    return worker, handler


async def handle(worker: Worker, message: FakeMessage) -> FakeMessage:
    await worker._dispatcher.handle(message)
    return message


def answer(link: FakeLink, sessions=(), registration: int = -1) -> FakeMessage:
    """The registry's answer to the worker's latest registration (or an earlier one): same correlation id."""
    register = link.of_type("worker.register")[registration]
    return command("worker.sessions.assigned", {"reason": "registered", "sessions": list(sessions)},
                   correlation_id=register.correlation_id)


def send(message_id: str, **extra) -> FakeMessage:
    return command("worker.message.send", {"session_id": "s_1", "message_id": message_id, "to": "6281",
                                           "type": "text", "text": "hi", **extra})


async def until(condition, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_worker_registers_then_beats_once_the_registry_answered(link):
    worker, _ = await started(link, Sessions(held=["s_1"]))
    await asyncio.sleep(0.05)
    [register] = link.published  # no heartbeat before the answer: it could wipe the list to restore
    assert (register.type, register.source) == ("worker.register", "worker/sim-worker-1")
    assert register.data == {"worker_id": "sim-worker-1", "version": "1.0", "environment": "development",
                             "endpoint": None, "heartbeat_interval_seconds": 60.0,
                             "capacity": {"max_sessions": 5, "cpu_cores": 2.0, "memory_limit_mb": None}}
    await handle(worker, answer(link, [{"session_id": "s_1", "as_of": T0}]))
    for _ in range(100):
        if len(link.published) > 1:
            break
        await asyncio.sleep(0.01)
    beat = link.published[1]
    assert beat.type == "worker.heartbeat" and beat.data["sessions"] == [{"session_id": "s_1", "status": "CONNECTED"}]
    assert beat.data["memory_mb"] > 0 and beat.data["cpu_percent"] >= 0
    assert worker.registered and link.declared == [("worker.sim-worker-1.commands", True)]
    await worker.abandon()


async def test_without_an_answer_the_first_heartbeat_goes_after_one_interval(link):
    worker = Worker(WorkerIdentity("sim-worker-1", max_sessions=5, version="1.0"), link=link, heartbeat_interval=0.2)
    await worker.start(Sessions())
    await asyncio.sleep(1.1)
    assert [e.type for e in link.published][:2] == ["worker.register", "worker.heartbeat"]
    await worker.abandon()


async def test_with_its_own_credentials_a_worker_only_looks_its_queue_up():
    link = FakeLink(user="worker.sim-worker-1")
    worker, _ = await started(link)
    assert worker.provisioned and link.declared == [("worker.sim-worker-1.commands", False)]
    await worker.abandon()


async def test_every_uplink_carries_the_worker_id_and_breaks_no_contract(link):
    worker, _ = await started(link)
    await worker.uplink.session_status("s_1", "CONNECTED", phone="628123")
    status = link.published[-1]
    assert status.data["worker_id"] == "sim-worker-1" and status.subject == "s_1"
    with pytest.raises(MalformedMessage):
        await worker.uplink.session_status("s_1", "HAPPY")
    assert link.published[-1] is status
    await worker.abandon()


async def test_commands_reach_the_handler_and_are_acknowledged(link):
    worker, sessions = await started(link)
    await handle(worker, answer(link))
    assert (await handle(worker, command("worker.session.start", {"session_id": "s_1"}))).outcome == "ack"
    assert (await handle(worker, command("worker.session.start", {"session_id": "s_2",
                                                                  "pairing_phone": "+62812345678"}))
            ).outcome == "ack"
    assert (await handle(worker, command("worker.message.send", {"session_id": "s_1", "message_id": "m_1",
                                                                 "to": "6281", "type": "text",
                                                                 "text": "hi"}))).outcome == "ack"
    assert (await handle(worker, command("worker.session.stop", {"session_id": "s_1",
                                                                 "logout": True}))).outcome == "ack"
    assert sessions.calls == [("start", "s_1", False, None), ("start", "s_2", False, "+62812345678"),
                              ("send", "s_1", "m_1", "text"), ("stop", "s_1", True)]
    await worker.abandon()


async def test_a_heartbeat_request_is_answered_with_a_heartbeat(link):
    worker, _ = await started(link)
    before = len(link.published)
    assert (await handle(worker, command("worker.heartbeat.request", {}))).outcome == "ack"
    assert [e.type for e in link.published[before:]] == ["worker.heartbeat"]
    await worker.abandon()


@pytest.mark.parametrize("message", [
    FakeMessage(b"not json"),
    command("worker.session.start", {"session_id": "not a valid id!"}),
    command("worker.session.start", {"session_id": "s_1", "surprise": 1}),
    command("worker.heartbeat", {"worker_id": "w", "sessions": []}),  # an uplink type is not a command
    command("session.create", {"tenant_id": "u_1", "name": "x", "session_limit": 1}),
])
async def test_a_malformed_command_is_rejected_without_requeue(link, message):
    worker, sessions = await started(link)
    assert (await handle(worker, message)).outcome == "rejected" and sessions.calls == []
    await worker.abandon()


async def test_a_failing_command_is_retried_once_then_dead_lettered(link):
    class Broken(Sessions):
        async def stop_session(self, session_id, *, logout):
            raise RuntimeError("boom")

    worker, _ = await started(link, Broken())
    first = await handle(worker, command("worker.session.stop", {"session_id": "s_1"}))
    again = command("worker.session.stop", {"session_id": "s_1"})
    again.redelivered = True
    assert (first.outcome, (await handle(worker, again)).outcome) == ("requeued", "rejected")
    await worker.abandon()


async def test_assigned_sessions_not_held_are_restored_then_reported_at_once(link):
    worker, sessions = await started(link, Sessions(held=["s_held"]))
    before = len(link.published)
    assigned = {"reason": "registered", "sessions": [{"session_id": "s_held", "as_of": T0},
                                                     {"session_id": "s_lost", "as_of": T0}]}
    await handle(worker, answer(link, assigned["sessions"]))
    assert sessions.calls == [("start", "s_lost", True, None)]
    assert worker.assigned.is_set() and worker.restored == ["s_lost"]
    beat = link.published[before:][-1]
    assert beat.type == "worker.heartbeat" and {s["session_id"] for s in beat.data["sessions"]} == {"s_held", "s_lost"}
    await worker.abandon()


async def test_a_stop_newer_than_the_assignment_wins_over_it(link):
    worker, sessions = await started(link)
    await handle(worker, command("worker.session.stop", {"session_id": "s_gone"}, at=T0 + timedelta(seconds=5)))
    assigned = {"reason": "registered", "sessions": [{"session_id": "s_gone", "as_of": T0},
                                                     {"session_id": "s_kept", "as_of": T0 + timedelta(seconds=9)}]}
    await handle(worker, answer(link, assigned["sessions"]))
    assert [c for c in sessions.calls if c[0] == "start"] == [("start", "s_kept", True, None)]
    await worker.abandon()


def test_recovery_restores_what_is_neither_held_nor_stopped_since():
    recovery = Recovery()
    recovery.stopped("s_2", T0)
    recovery.stopped("s_3", T0)
    recovery.started("s_3")  # started again after the stop: the stop no longer counts
    assigned = [{"session_id": s, "as_of": T0 - timedelta(seconds=1)} for s in ("s_1", "s_2", "s_3", "s_4")]
    assert recovery.to_restore(assigned, held={"s_4"}) == ["s_1", "s_3"]


async def test_a_worker_given_both_or_neither_connection_is_refused(link):
    identity = WorkerIdentity("w", max_sessions=1, version="1")
    with pytest.raises(ValueError):
        Worker(identity)
    with pytest.raises(ValueError):
        Worker(identity, amqp_url="amqp://x/", link=link)


async def test_asked_to_register_again_the_worker_registers_again(link):
    worker, _ = await started(link)
    before = len([e for e in link.published if e.type == "worker.register"])
    assert (await handle(worker, command("worker.register.request", {}))).outcome == "ack"
    for _ in range(100):
        if len([e for e in link.published if e.type == "worker.register"]) > before:
            break
        await asyncio.sleep(0.01)
    assert len([e for e in link.published if e.type == "worker.register"]) == before + 1
    await worker.abandon()


# ---- bouncing stale sends ----------------------------------------------------------------------------

async def test_until_the_registry_answers_sends_are_bounced_unless_routed_again(link):
    worker, sessions = await started(link)
    assert (await handle(worker, send("m_early"))).outcome == "ack"
    [bounced] = link.of_type("worker.message.bounced")
    assert bounced.data == {"worker_id": "sim-worker-1", "session_id": "s_1", "message_id": "m_early",
                            "reason": "starting"}
    assert sessions.calls == []
    await handle(worker, send("m_rerouted", rerouted=True))  # the platform chose us knowing where s_1 is now
    await handle(worker, answer(link))
    await handle(worker, send("m_fresh"))
    assert [c[2] for c in sessions.calls] == ["m_rerouted", "m_fresh"] and worker.unsure is None
    assert len(link.of_type("worker.message.bounced")) == 1
    await worker.abandon()


async def test_after_a_reconnect_only_the_answer_to_the_new_registration_ends_the_doubt(link):
    worker, sessions = await started(link)
    await handle(worker, answer(link))
    link.reconnect()
    await until(lambda: len(link.of_type("worker.register")) == 2)
    await handle(worker, answer(link, registration=0))  # still queued from before: says nothing of since
    await handle(worker, send("m_stale"))
    assert link.of_type("worker.message.bounced")[-1].data["reason"] == "reconnected" and sessions.calls == []
    await handle(worker, answer(link))
    await handle(worker, send("m_fresh"))
    assert [c[2] for c in sessions.calls] == ["m_fresh"]
    await worker.abandon()


async def bounced_until_registered_anew(worker: Worker, link: FakeLink, sessions: Sessions, reason: str) -> None:
    """A send now is bounced for `reason`; the worker registers again, and once answered sends."""
    await handle(worker, send("m_stale"))
    assert link.of_type("worker.message.bounced")[-1].data["reason"] == reason and sessions.calls == []
    await until(lambda: len(link.of_type("worker.register")) == 2)
    await handle(worker, answer(link))
    await handle(worker, send("m_fresh"))
    assert [c[2] for c in sessions.calls] == ["m_fresh"]
    await worker.abandon()


async def beating_fast(link: FakeLink) -> tuple[Worker, Sessions]:
    """A worker beating every 0.2 s, registered and answered, its heartbeat loop asleep."""
    worker = Worker(WorkerIdentity("sim-worker-1", max_sessions=5, version="1.0"), link=link, heartbeat_interval=0.2)
    sessions = Sessions()
    await worker.start(sessions)
    await handle(worker, answer(link))
    await asyncio.sleep(0.05)
    return worker, sessions


async def test_asked_to_register_again_the_worker_bounces_sends_until_answered(link):
    worker, sessions = await started(link)
    await handle(worker, answer(link))
    await handle(worker, command("worker.register.request", {}))
    await bounced_until_registered_anew(worker, link, sessions, "unknown_to_registry")


async def test_a_process_that_stood_still_registers_again_and_bounces_what_it_finds(link):
    worker, sessions = await beating_fast(link)
    time.sleep(1.5)  # the whole event loop stands still, as under SIGSTOP; the send then notices first
    await bounced_until_registered_anew(worker, link, sessions, "paused")


async def test_a_loop_merely_late_by_less_than_an_interval_is_no_pause(link):
    worker, sessions = await beating_fast(link)
    time.sleep(0.6)  # late, but under the second a pause must last to count
    await handle(worker, send("m_1"))
    assert [c[2] for c in sessions.calls] == ["m_1"] and len(link.of_type("worker.register")) == 1
    await worker.abandon()


async def test_a_process_frozen_in_the_middle_of_a_beat_registers_again_at_once(link):
    class FreezingLink(FakeLink):
        frozen = False

        async def publish_uplink(self, envelope):
            if envelope.type == "worker.heartbeat" and not self.frozen:
                self.frozen = True
                time.sleep(1.5)  # stands still between sending the beat and its confirm
            await super().publish_uplink(envelope)

    link = FreezingLink()
    worker = Worker(WorkerIdentity("sim-worker-1", max_sessions=5, version="1.0"), link=link, heartbeat_interval=0.2)
    sessions = Sessions()
    await worker.start(sessions)
    await handle(worker, answer(link))
    await until(lambda: len(link.of_type("worker.register")) == 2, timeout=3)
    assert worker.unsure == "paused"
    await handle(worker, send("m_stale"))
    assert link.of_type("worker.message.bounced")[-1].data["reason"] == "paused" and sessions.calls == []
    await worker.abandon()


async def test_held_sessions_the_answer_does_not_list_are_reported_for_the_platform_to_judge(link):
    worker, sessions = await started(link, Sessions(held=["s_mine", "s_moved"]))
    await handle(worker, answer(link, [{"session_id": "s_mine", "as_of": T0}]))
    reported = [e.data for e in link.of_type("worker.session.status")]
    assert [(d["session_id"], d["status"]) for d in reported] == [("s_moved", "CONNECTED")]
    link.reconnect()
    await until(lambda: len(link.of_type("worker.register")) == 2)
    await handle(worker, answer(link, registration=0))  # an earlier answer: nothing reported again
    assert len(link.of_type("worker.session.status")) == 1
    await worker.abandon()


async def test_edits_and_revokes_reach_an_implementation_that_has_them_and_are_acknowledged_by_one_that_has_not(link):
    class Changing(Sessions):
        async def edit_message(self, session_id, message_id, chat, text):
            self.calls.append(("edit", session_id, message_id, text))

        async def revoke_message(self, session_id, message_id, chat):
            self.calls.append(("revoke", session_id, message_id))

        async def mark_chat_read(self, session_id, chat):
            self.calls.append(("read", session_id, chat))

        async def send_presence(self, session_id, presence, chat):
            self.calls.append(("presence", session_id, presence, chat))

    about = {"session_id": "s_1", "message_id": "m_1", "chat": "6281@s.whatsapp.net"}
    for implementation, expected in ((Changing(), [("edit", "s_1", "m_1", "hello"), ("revoke", "s_1", "m_1"),
                                                   ("read", "s_1", "6281@s.whatsapp.net"),
                                                   ("presence", "s_1", "available", None)]),
                                     (Sessions(), [])):
        worker, sessions = await started(link, implementation)
        await handle(worker, answer(link))
        assert (await handle(worker, command("worker.message.edit", {**about, "text": "hello"}))).outcome == "ack"
        assert (await handle(worker, command("worker.message.revoke", about))).outcome == "ack"
        assert (await handle(worker, command("worker.chat.read", {"session_id": "s_1", "chat": about["chat"]}))
                ).outcome == "ack"
        assert (await handle(worker, command("worker.chat.presence", {"session_id": "s_1", "presence": "available"}))
                ).outcome == "ack"
        assert sessions.calls == expected
        await worker.abandon()
    await worker.uplink.message_edited("s_1", text="hello", message_id="m_1")
    assert link.published[-1].data["message_id"] == "m_1" and link.published[-1].data["wa_message_id"] is None
    with pytest.raises(MalformedMessage):  # a change names exactly one message
        await worker.uplink.message_deleted("s_1")
