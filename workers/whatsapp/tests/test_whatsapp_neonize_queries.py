"""The adapter's answers to the worker questions: neonize's client replaced by one that answers with
whatsmeow's own protobuf types (as neonize 0.5.2 returns them) and raises neonize's own errors with
whatsmeow's words; each answer read into the contract's shape (checked by the SDK's `QueryAnswerer`,
as in the worker), each refusal into `QueryRefused` with its code. And a received file: the adapter
hands the worker a fetch that asks whatsmeow to download the message's media."""

from __future__ import annotations

import asyncio

import pytest
from neonize.exc import (GetGroupInviteLinkError, GetProfilePictureError, LeaveGroupError,  # noqa: I001
                         UpdateGroupParticipantsError)

from wagw_worker_whatsapp import neonize_mapping as mapping
from wagw_worker_whatsapp.devices import directory_for
from wagw_worker_whatsapp.neonize_client import NeonizeClientFactory
from wagw_worker_whatsapp.neonize_queries import group_from, outcomes_from
from wagw_worker_whatsapp.sessions import HeldSession, WhatsAppSessions

pytestmark = pytest.mark.unit  # async tests run by asyncio_mode = auto
ev, wa = mapping.ev, mapping.wa
ME = ev.JID(User="628000000001", Server="s.whatsapp.net", Device=12)
ANA = ev.JID(User="628123456789", Server="s.whatsapp.net")
BUDI_LID, BUDI = ev.JID(User="190000000000002", Server="lid"), ev.JID(User="628222222222", Server="s.whatsapp.net")
GROUP = ev.JID(User="120363025246125486", Server="g.us")
NO_PICTURE = "that user or group does not have a profile picture"  # whatsmeow's ErrProfilePictureNotSet


def launch_group(*extra: ev.GroupParticipant) -> ev.GroupInfo:
    return ev.GroupInfo(JID=GROUP, GroupName=ev.GroupName(Name="Launch"), Participants=[
        ev.GroupParticipant(JID=ev.JID(User=ME.User, Server=ME.Server), IsAdmin=True, IsSuperAdmin=True),
        ev.GroupParticipant(JID=BUDI_LID, PhoneNumber=BUDI, IsAdmin=True),  # a group addressed by @lid
        *extra])


class AnsweringNeonize:
    """Stands in for neonize's NewAClient, answering as whatsmeow does (`refuse`: name -> error raised)."""

    def __init__(self, refuse: dict | None = None):
        self.refuse = refuse or {}
        self.calls: list[tuple] = []
        self.contact = self  # neonize's contact store hangs off the client

    def _asked(self, name, *args):
        self.calls.append((name, *args))
        if name in self.refuse:
            raise self.refuse[name]

    @property
    def is_logged_in(self):  # an awaitable, as neonize's asyncio client has it
        return asyncio.sleep(0, result=True)

    async def is_on_whatsapp(self, *numbers):
        self._asked("is_on_whatsapp", *numbers)
        return [ev.IsOnWhatsAppResponse(Query=n, JID=ev.JID(User=n.lstrip("+"), Server="s.whatsapp.net"),
                                        IsIn=not n.endswith("0")) for n in numbers]

    async def get_user_info(self, *jids):
        self._asked("get_user_info", *jids)
        return [ev.GetUserInfoSingleReturnFunction(JID=jid, UserInfo=ev.UserInfo(Status="At the office"))
                for jid in jids]

    async def get_contact(self, jid):
        self._asked("get_contact", jid)
        return ev.ContactInfo(Found=True, FullName="", PushName="Ana")

    async def get_profile_picture(self, jid):
        self._asked("get_profile_picture", jid)
        return ev.ProfilePictureInfo(URL=f"https://pps.whatsapp.net/v/t61/{jid.User}.jpg", ID="1")

    async def get_me(self):
        return ev.Device(JID=ME, PushName="Our shop")

    async def get_joined_groups(self):
        return [launch_group()]

    async def create_group(self, name, participants=()):
        self._asked("create_group", name, list(participants))
        refused = ev.GroupParticipant(JID=ev.JID(User="628333333333", Server="s.whatsapp.net"), Error=403)
        return launch_group(refused)

    async def update_group_participants(self, jid, participants, action):
        self._asked("update_group_participants", jid, list(participants), action)
        return [ev.GroupParticipant(JID=BUDI_LID, PhoneNumber=BUDI, LID=BUDI_LID),
                ev.GroupParticipant(JID=ANA, Error=409)]

    async def get_group_invite_link(self, jid, revoke=False):
        self._asked("get_group_invite_link", jid)
        return "https://chat.whatsapp.com/Fk3H9aQ2xYb"

    async def leave_group(self, jid):
        self._asked("leave_group", jid)

    async def download_any(self, message, path=None):
        self.calls.append(("download_any", message))
        return b"the file's bytes"


@pytest.fixture
def connected(uplink, tmp_path, asker_of):
    """`connected(library, events)`: an asker of a worker holding s_1 connected with the adapter on `library`."""
    return lambda library, events=None: _connected(uplink, tmp_path, asker_of, library, events)


def _connected(uplink, tmp_path, asker_of, library: AnsweringNeonize, events: list | None):
    store = str(tmp_path / "credentials.db")

    async def sink(event):
        events.append(event)
    client = NeonizeClientFactory(store, directory_for(store)).open("s_1", sink)
    client.client = library
    sessions = WhatsAppSessions(uplink, factory=None)
    sessions.sessions["s_1"] = HeldSession("s_1", client, status="CONNECTED")
    return asker_of(sessions), client


async def test_numbers_and_profiles_are_read_from_whatsmeows_answers(connected):
    library = AnsweringNeonize()
    ask, _ = connected(library)
    assert (await ask("check_number", phone="+628123456789"))["result"]["jid"] == "628123456789@s.whatsapp.net"
    assert library.calls == [("is_on_whatsapp", "+628123456789")]  # whatsmeow wants the number with its +
    assert (await ask("check_number", phone="628123456780"))["result"]["exists"] is False
    assert (await ask("contact_profile", contact="628123456789"))["result"] == {
        "jid": "628123456789@s.whatsapp.net", "name": "Ana", "about": "At the office",
        "picture_url": "https://pps.whatsapp.net/v/t61/628123456789.jpg"}
    refused = await ask("contact_profile", contact="628123456780")
    assert refused["error"] == {"code": "not_found", "message": "this number does not use WhatsApp"}
    own = (await ask("own_profile"))["result"]
    assert (own["jid"], own["name"], own["about"]) == ("628000000001@s.whatsapp.net", "Our shop", "At the office")
    assert [c for c in library.calls if c[0] == "get_user_info"][-1][1].Device == 0  # the account, not the device


async def test_a_picture_not_set_or_hidden_is_no_picture_other_failures_are_said(connected):
    hidden = GetProfilePictureError(ev.GetProfilePictureReturnFunction(Error=NO_PICTURE))  # as neonize raises it
    ask, _ = connected(AnsweringNeonize({"get_profile_picture": hidden}))
    assert (await ask("contact_profile", contact="628123456789"))["result"]["picture_url"] is None
    broken = GetProfilePictureError(ev.GetProfilePictureReturnFunction(Error="websocket not connected"))
    ask, _ = connected(AnsweringNeonize({"get_profile_picture": broken}))
    assert (await ask("own_profile"))["error"] == {"code": "failed",
                                                   "message": "WhatsApp refused it: websocket not connected"}


async def test_groups_are_read_with_their_members_by_phone_and_roles(connected):
    library = AnsweringNeonize()
    ask, _ = connected(library)
    launch = {"jid": "120363025246125486@g.us", "subject": "Launch", "participants": [
        {"jid": "628000000001@s.whatsapp.net", "role": "superadmin"},
        {"jid": "628222222222@s.whatsapp.net", "role": "admin"}]}
    assert (await ask("groups"))["result"] == {"groups": [launch]}
    # The one whatsmeow says could not be added (privacy: 403) is not a member of the new group.
    assert (await ask("group_create", subject="Launch", participants=["628333333333"]))["result"] == launch
    assert [jid.User for jid in library.calls[-1][2]] == ["628333333333"]
    changed = (await ask("group_participants", group="120363025246125486@g.us", action="add",
                         participants=["628222222222", "628123456789", "628444444444"]))["result"]
    assert [p["outcome"] for p in changed["participants"]] == ["done", "unchanged", "not_found"]
    assert library.calls[-1][3].name == "ADD" and library.calls[-1][1].User == GROUP.User
    assert (await ask("group_invite", group="120363025246125486@g.us"))["result"]["invite_link"] == \
        "https://chat.whatsapp.com/Fk3H9aQ2xYb"
    assert (await ask("group_leave", group="120363025246125486@g.us"))["result"]["left"] is True


@pytest.mark.parametrize("query, refusal, code", [
    ("group_participants", UpdateGroupParticipantsError("info query returned status 403: forbidden"), "forbidden"),
    ("group_leave", LeaveGroupError("info query returned status 404: item-not-found"), "not_found"),
    ("group_invite", GetGroupInviteLinkError("info query returned status 401: not-authorized"), "forbidden"),
    ("group_invite", GetGroupInviteLinkError("failed to send iq: websocket not connected"), "failed"),
])
async def test_whatsapps_refusals_become_the_codes_the_platform_maps(connected, query, refusal, code):
    name = {"group_participants": "update_group_participants", "group_leave": "leave_group",
            "group_invite": "get_group_invite_link"}[query]
    ask, _ = connected(AnsweringNeonize({name: refusal}))
    args = {"group": "120363025246125486@g.us"}
    if query == "group_participants":
        args |= {"action": "remove", "participants": ["628222222222"]}
    error = (await ask(query, **args))["error"]
    assert error["code"] == code and error["message"] == f"WhatsApp refused it: {refusal}"


def test_a_members_outcome_is_found_by_any_id_whatsapp_names_them_by():
    outcomes = outcomes_from([ev.GroupParticipant(JID=BUDI_LID, PhoneNumber=BUDI, Error=408)])
    assert outcomes == {"190000000000002@lid": "forbidden", "628222222222@s.whatsapp.net": "forbidden"}
    assert group_from(launch_group()).participants[1].jid == "628222222222@s.whatsapp.net"


async def test_a_received_file_is_fetched_through_whatsmeows_download_of_the_message(connected):
    library, events = AnsweringNeonize(), []
    _, client = connected(library, events)
    document = wa.DocumentMessage(fileName="a.pdf", mimetype="application/pdf", fileLength=16, directPath="/v/t62/x")
    wrapped = wa.Message(documentWithCaptionMessage=wa.FutureProofMessage(message=wa.Message(documentMessage=document)))
    received = ev.Message(Info=ev.MessageInfo(MessageSource=ev.MessageSource(Chat=ANA, Sender=ANA), ID="3A01"),
                          Message=wrapped)
    await client._on_library_event(None, received)
    [message] = events
    assert await message.fetch() == b"the file's bytes"
    [(_, asked)] = library.calls
    assert asked == wa.Message(documentMessage=document)  # opened: whatsmeow's download reads the media part itself
    await client._on_library_event(None, ev.Message(Info=received.Info, Message=wa.Message(conversation="hi")))
    assert events[1].fetch is None
