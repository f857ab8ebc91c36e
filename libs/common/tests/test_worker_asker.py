"""Asking a worker: only an answer the worker asked published counts (by the broker's user, whatever
the body says), its result is checked against the query's schema, a refusal keeps the worker's code,
and silence is a timeout."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from wagw_common.contracts import contract_for
from wagw_common.envelope import Envelope
from wagw_common.errors import DomainError
from wagw_common.worker_asker import WorkerAsker, WorkerRefused, WorkerTimeout
from wagw_common.worker_speakers import UplinkSpeakers

pytestmark = pytest.mark.unit
SESSION = "s_8f14e45fceea167a"


class Broker:
    """Records the request, then lets the test answer it as a worker would."""

    source = "gateway"

    def __init__(self):
        self.asked = asyncio.Queue()

    def envelope(self, message_type, data, *, subject=None):
        return Envelope(type=message_type, source=self.source, data=contract_for(message_type).dump(data),
                        subject=subject)

    async def publish(self, envelope, **options):
        await self.asked.put((envelope, options))


def _answer(request: Envelope, *, worker: str, user: str | None = None, **reply) -> SimpleNamespace:
    """`worker` is what the body claims; `user` whom the broker vouches for (by default that worker's own)."""
    data = {"worker_id": worker, "session_id": SESSION, "query": request.data["query"], "result": None,
            "error": None, **reply}
    body = Envelope(type="worker.session.query.reply", source=f"worker/{worker}", data=data).to_json()
    return SimpleNamespace(correlation_id=request.id, body=body, user_id=user or f"worker.{worker}")


async def _ask(*answers, query="group_invite", args=None):
    broker = Broker()
    asker = WorkerAsker(broker, timeout=0.3, speakers=UplinkSpeakers(frozenset({"wagw"})))
    asking = asyncio.create_task(asker.ask("worker-1", SESSION, query, args or {"group": "1203630@g.us"}))
    request, options = await broker.asked.get()
    assert options["routing_key"] == "worker-1" and options["reply_to"] == asker.reply_key
    for worker, reply in answers:
        await asker._on_reply(_answer(request, worker=worker, **reply))
    return await asking


async def test_the_answer_of_the_worker_asked_is_its_result():
    result = await _ask(("worker-1", {"result": {"group": "1203630@g.us", "invite_link": "https://chat.whatsapp.com/x"}}))
    assert result == {"group": "1203630@g.us", "invite_link": "https://chat.whatsapp.com/x"}


async def test_an_answer_from_another_worker_is_ignored():
    forged = ("worker-2", {"result": {"group": "1203630@g.us", "invite_link": "https://chat.whatsapp.com/evil"}})
    with pytest.raises(WorkerTimeout):
        await _ask(forged)


async def test_an_answer_claiming_the_worker_asked_but_published_by_another_is_ignored():
    forged = ("worker-1", {"user": "worker.worker-2",
                           "result": {"group": "1203630@g.us", "invite_link": "https://chat.whatsapp.com/evil"}})
    with pytest.raises(WorkerTimeout):
        await _ask(forged)


async def test_a_trusted_platform_user_may_answer_for_the_worker_asked():
    result = await _ask(("worker-1", {"user": "wagw", "result": {"group": "1203630@g.us",
                                                                 "invite_link": "https://chat.whatsapp.com/x"}}))
    assert result["invite_link"] == "https://chat.whatsapp.com/x"


async def test_a_refusal_keeps_the_workers_code():
    with pytest.raises(WorkerRefused) as refused:
        await _ask(("worker-1", {"error": {"code": "not_supported", "message": "no groups here"}}))
    assert refused.value.code == "not_supported"


async def test_a_result_that_breaks_the_querys_schema_is_refused():
    with pytest.raises(DomainError) as bad:
        await _ask(("worker-1", {"result": {"group": "1203630@g.us", "invite_link": "not a link"}}))
    assert bad.value.code == "bad_worker_answer"


async def test_silence_is_a_timeout():
    with pytest.raises(WorkerTimeout):
        await _ask()
