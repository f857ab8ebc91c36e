"""The worker questions answered by the WhatsApp worker's sessions against the fake client, asked the
way the SDK asks them (its `QueryAnswerer`: arguments and answers checked against the contracts)."""

from __future__ import annotations

import pytest

from wagw_worker_whatsapp.fake import FakeWhatsApp, fake_phone
from wagw_worker_whatsapp.sessions import WhatsAppSessions

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]


@pytest.fixture
async def ask(uplink, tmp_path, asker_of):
    world = FakeWhatsApp(store=tmp_path / "credentials", receipt_delay=0)
    sessions = WhatsAppSessions(uplink, world)
    await sessions.start_session("s_1", restore=False)
    await world.scan("s_1")
    return asker_of(sessions)


async def test_a_number_and_the_profiles_come_from_the_sessions_client(ask):
    assert (await ask("check_number", phone="+628123456789"))["result"] == {
        "phone": "+628123456789", "exists": True, "jid": "628123456789@s.whatsapp.net"}
    assert (await ask("check_number", phone="628123456780"))["result"]["exists"] is False
    profile = (await ask("contact_profile", contact="+628123456789"))["result"]
    assert profile["jid"] == "628123456789@s.whatsapp.net" and profile["name"] == "Contact 6789"
    assert profile["picture_url"].startswith("https://")
    assert (await ask("contact_profile", contact="628123456780"))["error"]["code"] == "not_found"
    own = (await ask("own_profile"))["result"]
    assert own["jid"] == f"{fake_phone('s_1')}@s.whatsapp.net" and own["name"].startswith("Fake ")


async def test_a_group_is_created_changed_linked_and_left(ask):
    group = (await ask("group_create", subject="Launch", participants=["+628111111111", "628111111110"]))["result"]
    me = f"{fake_phone('s_1')}@s.whatsapp.net"
    assert [(p["jid"], p["role"]) for p in group["participants"]] == [
        (me, "superadmin"), ("628111111111@s.whatsapp.net", "member")]  # the one not on WhatsApp is left out
    assert (await ask("groups"))["result"]["groups"] == [group]
    jid = group["jid"]
    changed = (await ask("group_participants", group=jid, action="add",
                         participants=["628122222222", "628111111111", "628122222220"]))["result"]
    assert [p["outcome"] for p in changed["participants"]] == ["done", "unchanged", "not_found"]
    changed = (await ask("group_participants", group=jid, action="promote", participants=["628122222222", me]))
    assert [p["outcome"] for p in changed["result"]["participants"]] == ["done", "forbidden"]
    changed = (await ask("group_participants", group=jid, action="demote", participants=["628133333333"]))
    assert changed["result"]["participants"] == [{"jid": "628133333333@s.whatsapp.net", "outcome": "not_found"}]
    link = (await ask("group_invite", group=jid))["result"]["invite_link"]
    assert link.startswith("https://chat.whatsapp.com/")
    assert (await ask("group_leave", group=jid))["result"] == {"group": jid, "left": True}
    assert (await ask("group_leave", group=jid))["error"]["code"] == "not_found"
    assert (await ask("groups"))["result"] == {"groups": []}


async def test_a_session_not_connected_here_is_refused_with_a_reason(ask):
    assert (await ask("own_profile", session_id="s_elsewhere"))["error"] == {
        "code": "failed", "message": "the session is not connected on this worker"}
    assert (await ask("check_number", phone="not a number"))["error"]["code"] == "invalid"
