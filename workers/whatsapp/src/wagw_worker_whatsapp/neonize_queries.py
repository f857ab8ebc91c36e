"""The worker questions on neonize's client (whatsmeow's calls): is a number on WhatsApp
(`IsOnWhatsApp`), a profile (`GetUserInfo` for the about text and a business's verified name, the
contact store for the name the phone knows, `GetProfilePictureInfo`), groups (`GetJoinedGroups`,
`CreateGroup`, `UpdateGroupParticipants`, `GetGroupInviteLink`, `LeaveGroup`). whatsmeow's answers are
read by plain functions (tested on its protobuf types); its refusals become the SDK's `QueryRefused`
(`refused`): WhatsApp's status 400 is `invalid`, 401 and 403 `forbidden`, 404 `not_found`, anything
else `failed`, each with WhatsApp's own words."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Iterator

from wagw_worker_sdk import QueryRefused

from . import neonize_mapping as mapping  # first: it runs the no-download checks of `library`
from .client import Group, Member, Profile
from .neonize_inbound import jid_text

from neonize.exc import GetProfilePictureError, NeonizeError  # noqa: E402
from neonize.utils.enum import ParticipantChange  # noqa: E402

from neonize.proto import Neonize_pb2 as ev  # noqa: E402  (after the mapping: its checks run first)
# whatsmeow's errors when a picture is not there to see: no picture is an answer, not a failure.
NO_PICTURE = ("does not have a profile picture", "hidden their profile picture")
REFUSAL_CODES = {400: "invalid", 401: "forbidden", 403: "forbidden", 404: "not_found"}
# A participant's `Error` in whatsmeow's answer to a change (0: done). 403 (privacy: only an invitation
# can add them), 408 (left recently) and 401 are WhatsApp refusing it.
OUTCOMES = {0: "done", 404: "not_found", 409: "unchanged"}


def error_text(exc: Exception) -> str:
    """neonize raises some errors with its whole answer (`GetProfilePictureError`), most with the text."""
    detail = exc.args[0] if exc.args else ""
    return getattr(detail, "Error", None) or str(detail)


def refused(exc: Exception) -> QueryRefused:
    text = error_text(exc)
    status = re.search(r"status (\d{3})", text)  # whatsmeow's "info query returned status 404: item-not-found"
    code = REFUSAL_CODES.get(int(status.group(1)), "failed") if status else "failed"
    return QueryRefused(code, f"WhatsApp refused it: {text}"[:500])


@contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except NeonizeError as exc:
        raise refused(exc) from None


def person(participant: ev.GroupParticipant) -> str:
    """A member by phone number when whatsmeow knows it (groups now name members by `@lid`), as the
    platform names people elsewhere; otherwise by the id WhatsApp gave."""
    if participant.JID.Server == "lid" and participant.PhoneNumber.User:
        return jid_text(participant.PhoneNumber)
    return jid_text(participant.JID)


def role(participant: ev.GroupParticipant) -> str:
    return "superadmin" if participant.IsSuperAdmin else "admin" if participant.IsAdmin else "member"


def group_from(info: ev.GroupInfo) -> Group:
    """Members WhatsApp refused (`Error` set, as in a new group's answer) are not members."""
    return Group(jid_text(info.JID), info.GroupName.Name,
                 tuple(Member(person(p), role(p)) for p in info.Participants if not p.Error))


def outcomes_from(changed: list[ev.GroupParticipant]) -> dict[str, str]:
    """Each participant's outcome under every id WhatsApp names them by (phone, `@lid`)."""
    found: dict[str, str] = {}
    for participant in changed:
        outcome = OUTCOMES.get(participant.Error, "forbidden")
        for jid in (participant.JID, participant.PhoneNumber, participant.LID):
            if jid.User:
                found[jid_text(jid)] = outcome
    return found


def profile_from(jid: str, info: ev.UserInfo | None, contact: ev.ContactInfo | None, picture_url: str | None,
                 own_name: str | None = None) -> Profile:
    """The name: the session's own push name; for a contact the name the phone saved, else the one they
    chose (push name), else a business's; else a verified business name; else none."""
    names = [own_name] + ([contact.FullName, contact.PushName, contact.BusinessName] if contact else [])
    if info is not None:
        names.append(info.VerifiedName.Details.verifiedName)
    return Profile(jid, next((name for name in names if name), None), (info.Status if info else "") or None,
                   picture_url)


class NeonizeDirectory:
    """Mixed into `NeonizeClient`, whose `client` is neonize's."""

    client: Any

    async def on_whatsapp(self, phone: str) -> str | None:
        with refusals():
            answers = await self.client.is_on_whatsapp(f"+{phone}")  # whatsmeow wants the + of an international number
        return next((jid_text(a.JID) for a in answers if a.IsIn), None)

    async def contact_profile(self, jid: str) -> Profile:
        if jid.endswith("@s.whatsapp.net"):
            found = await self.on_whatsapp(jid.split("@")[0])
            if found is None:
                raise QueryRefused("not_found", "this number does not use WhatsApp")
            jid = found
        target = mapping.jid_of(jid)
        if not await self.client.is_logged_in:  # neonize 0.5.2: its contact store crashes the process without a device
            raise QueryRefused("failed", "the session is not logged in to WhatsApp")
        try:
            contact = await self.client.contact.get_contact(target)
        except NeonizeError:
            contact = None  # the store knows no name for them: the profile says so
        return profile_from(jid, await self._user_info(target), contact, await self._picture(target))

    async def own_profile(self) -> Profile:
        with refusals():
            me = await self.client.get_me()
        jid = jid_text(me.JID)  # the account, not this linked device
        own = mapping.jid_of(jid)
        return profile_from(jid, await self._user_info(own), None, await self._picture(own),
                            own_name=me.PushName or me.BussinessName or None)

    async def _user_info(self, jid: ev.JID) -> ev.UserInfo | None:
        with refusals():
            answers = await self.client.get_user_info(jid)
        return next((a.UserInfo for a in answers if a.JID.User == jid.User), None)

    async def _picture(self, jid: ev.JID) -> str | None:
        try:
            return (await self.client.get_profile_picture(jid)).URL or None
        except GetProfilePictureError as exc:
            if any(reason in error_text(exc) for reason in NO_PICTURE):
                return None
            raise refused(exc) from None

    async def groups(self) -> list[Group]:
        with refusals():
            return [group_from(info) for info in await self.client.get_joined_groups()]

    async def create_group(self, subject: str, participants: list[str]) -> Group:
        with refusals():
            return group_from(await self.client.create_group(subject, [mapping.jid_of(p) for p in participants]))

    async def change_participants(self, group: str, action: str, participants: list[str]) -> dict[str, str]:
        with refusals():
            changed = await self.client.update_group_participants(
                mapping.jid_of(group), [mapping.jid_of(p) for p in participants], ParticipantChange(action))
        return outcomes_from(changed)

    async def invite_link(self, group: str) -> str:
        with refusals():
            return await self.client.get_group_invite_link(mapping.jid_of(group))

    async def leave_group(self, group: str) -> None:
        with refusals():
            await self.client.leave_group(mapping.jid_of(group))
