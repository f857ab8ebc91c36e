"""The simulated phone book and groups answer every worker query plausibly and deterministically."""

from __future__ import annotations

import pytest
from wagw_worker_sdk import QueryRefused
from wagw_worker_simulator.whatsapp import SimulatedWhatsApp

pytestmark = pytest.mark.unit
SESSION = "s_8f14e45fceea167a"


class Silent:
    def __getattr__(self, name):
        async def ignore(*args, **kwargs):
            return None
        return ignore


@pytest.fixture
def phone():
    simulated = SimulatedWhatsApp(Silent())
    simulated.preload([SESSION])
    return simulated


async def test_numbers_ending_in_zero_do_not_use_whatsapp(phone):
    assert await phone.check_number(SESSION, "+628123456789") == {
        "phone": "+628123456789", "exists": True, "jid": "628123456789@s.whatsapp.net"}
    assert (await phone.check_number(SESSION, "628123456780"))["exists"] is False
    with pytest.raises(QueryRefused):
        await phone.contact_profile(SESSION, "628123456780")
    assert (await phone.contact_profile(SESSION, "628123456789"))["name"] == "Contact 6789"


async def test_a_group_is_created_changed_linked_and_left(phone):
    group = await phone.create_group(SESSION, "Team", ["628111111111", "628111111110"])
    jid = group["jid"]
    assert jid.endswith("@g.us") and [p["role"] for p in group["participants"]] == ["superadmin", "member"]
    changed = await phone.change_group_participants(SESSION, jid, "promote", ["628111111111", "628122222222"])
    assert [p["outcome"] for p in changed["participants"]] == ["done", "not_found"]
    assert (await phone.change_group_participants(SESSION, jid, "add", ["628111111111"]))["participants"][0][
        "outcome"] == "unchanged"
    link = (await phone.group_invite_link(SESSION, jid))["invite_link"]
    assert link == (await phone.group_invite_link(SESSION, jid))["invite_link"]
    assert [g["jid"] for g in (await phone.list_groups(SESSION))["groups"]] == [jid]
    assert await phone.leave_group(SESSION, jid) == {"group": jid, "left": True}
    with pytest.raises(QueryRefused):
        await phone.leave_group(SESSION, jid)
    assert (await phone.list_groups(SESSION))["groups"] == []
