"""Answering `worker.session.query`: arguments checked, the handler's optional method called, its
result checked; a missing method is `not_supported`, a refusal keeps its code, a crash is `failed`."""

from __future__ import annotations

import pytest
from wagw_common.envelope import Envelope
from wagw_worker_sdk import QueryRefused
from wagw_worker_sdk.queries import QueryAnswerer

pytestmark = pytest.mark.unit
SESSION = "s_8f14e45fceea167a"


class Replies:
    def __init__(self):
        self.sent = []

    async def __call__(self, reply_to, request_id, session_id, query, *, result=None, error=None):
        self.sent.append({"reply_to": reply_to, "request_id": request_id, "session_id": session_id, "query": query,
                          "result": result, "error": error})


class Handler:
    async def check_number(self, session_id, phone):
        return {"phone": phone, "exists": True, "jid": f"{phone.lstrip('+')}@s.whatsapp.net"}

    async def group_invite_link(self, session_id, group):
        raise QueryRefused("forbidden", "not an admin of this group")

    async def leave_group(self, session_id, group):
        raise RuntimeError("the socket broke")

    async def own_profile(self, session_id):
        return {"jid": "x@s.whatsapp.net", "name": None, "picture_url": "not a url"}


async def _answer(query: str, args: dict) -> dict:
    replies = Replies()
    envelope = Envelope(type="worker.session.query", source="gateway",
                        data={"session_id": SESSION, "query": query, "args": args})
    await QueryAnswerer(Handler(), replies).answer(envelope, reply_to="worker.session.query.reply.a1",
                                                   request_id=envelope.id)
    [reply] = replies.sent
    assert reply["reply_to"] == "worker.session.query.reply.a1" and reply["request_id"] == envelope.id
    return reply


async def test_a_query_is_answered_by_its_handler_method():
    reply = await _answer("check_number", {"phone": "+628123456789"})
    assert reply["error"] is None
    assert reply["result"] == {"phone": "+628123456789", "exists": True, "jid": "628123456789@s.whatsapp.net"}


async def test_a_handler_without_the_method_answers_not_supported():
    reply = await _answer("groups", {})
    assert reply["result"] is None and reply["error"]["code"] == "not_supported"


async def test_bad_arguments_are_refused_before_the_handler_sees_them():
    reply = await _answer("check_number", {"phone": "call me"})
    assert reply["error"]["code"] == "invalid" and "phone" in reply["error"]["message"]


async def test_a_refusal_keeps_its_code_and_a_crash_says_failed_without_its_details():
    assert (await _answer("group_invite", {"group": "120363025246125486@g.us"}))["error"]["code"] == "forbidden"
    crashed = await _answer("group_leave", {"group": "120363025246125486@g.us"})
    assert crashed["error"] == {"code": "failed", "message": "the worker could not answer"}


async def test_an_answer_that_breaks_its_schema_is_not_sent_as_a_result():
    reply = await _answer("own_profile", {})
    assert reply["result"] is None and reply["error"]["code"] == "failed"
