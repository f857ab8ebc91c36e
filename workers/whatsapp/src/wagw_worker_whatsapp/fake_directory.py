"""The fake's answers to the worker questions, deterministic so tests can rely on them, in the world
(`FakeWhatsApp`) every fake client shares:

- a number uses WhatsApp unless it ends in 0 (a group or a `@lid` id always does); a contact is named
  "Contact <last four digits>", the session itself "Fake <last four digits>";
- groups are kept per session; the session is the superadmin of those it creates; adding someone not
  on WhatsApp is `not_found`, changing the superadmin `forbidden`, a change that changes nothing
  `unchanged`; a group the session is not in is refused `not_found`, as WhatsApp's 404 is."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from wagw_worker_sdk import QueryRefused

from .client import Group, Member, Profile

if TYPE_CHECKING:
    from .fake import FakeWhatsApp

PICTURES = "https://pps.whatsapp.net/v/fake"
# What a change makes of a member's role (None: no longer a member).
ROLE_AFTER = {"remove": None, "promote": "admin", "demote": "member"}


def fake_phone(session_id: str) -> str:
    return "62" + str(int.from_bytes(session_id.encode(), "big") % 10**10).zfill(10)


def on_whatsapp(jid: str) -> bool:
    user, _, server = jid.partition("@")
    return server in ("lid", "g.us") or not user.endswith("0")


def _picture(jid: str) -> str:
    return f"{PICTURES}/{hashlib.sha256(jid.encode()).hexdigest()[:16]}.jpg"


class FakeDirectory:
    """Mixed into `FakeClient`."""

    world: FakeWhatsApp
    session_id: str

    connected: bool

    def _me(self) -> str:
        if not self.connected:
            raise ConnectionError("not connected")
        return f"{fake_phone(self.session_id)}@s.whatsapp.net"

    def _groups(self) -> dict[str, dict]:
        """group id -> {"subject", "members": {member id -> role}}, this session's."""
        return self.world.groups.setdefault(self.session_id, {})

    def _members(self, group: str) -> dict[str, str]:
        found = self._groups().get(group)
        if found is None:
            raise QueryRefused("not_found", "this session is not in that group")
        return found["members"]

    def _view(self, group: str) -> Group:
        found = self._groups()[group]
        return Group(group, found["subject"], tuple(Member(jid, role) for jid, role in found["members"].items()))

    async def on_whatsapp(self, phone: str) -> str | None:
        self._me()
        jid = f"{phone}@s.whatsapp.net"
        return jid if on_whatsapp(jid) else None

    async def contact_profile(self, jid: str) -> Profile:
        self._me()
        if not on_whatsapp(jid):
            raise QueryRefused("not_found", "this number does not use WhatsApp")
        return Profile(jid, f"Contact {jid.split('@')[0][-4:]}", "Hey there! I am using WhatsApp.", _picture(jid))

    async def own_profile(self) -> Profile:
        me = self._me()
        return Profile(me, f"Fake {me.split('@')[0][-4:]}", "Available", _picture(me))

    async def groups(self) -> list[Group]:
        self._me()
        return [self._view(group) for group in self._groups()]

    async def create_group(self, subject: str, participants: list[str]) -> Group:
        me = self._me()
        number = int(hashlib.sha256(f"{self.session_id}/{len(self._groups())}".encode()).hexdigest(), 16)
        group = f"1203630{number % 10**11:011d}@g.us"
        members = {me: "superadmin", **{p: "member" for p in participants if on_whatsapp(p)}}
        self._groups()[group] = {"subject": subject, "members": members}
        return self._view(group)

    async def change_participants(self, group: str, action: str, participants: list[str]) -> dict[str, str]:
        self._me()
        members = self._members(group)
        return {jid: self._changed_member(members, jid, action) for jid in participants}

    @staticmethod
    def _changed_member(members: dict[str, str], jid: str, action: str) -> str:
        now = members.get(jid)
        if not on_whatsapp(jid) or (now is None and action != "add"):
            return "not_found"
        if action == "add":
            members.setdefault(jid, "member")
            return "unchanged" if now else "done"
        if now == "superadmin":
            return "forbidden"
        role = ROLE_AFTER[action]
        if now == role:
            return "unchanged"
        if role is None:
            del members[jid]
        else:
            members[jid] = role
        return "done"

    async def invite_link(self, group: str) -> str:
        self._me()
        self._members(group)
        return f"https://chat.whatsapp.com/{hashlib.sha256(f'{self.session_id}{group}'.encode()).hexdigest()[:22]}"

    async def leave_group(self, group: str) -> None:
        self._me()
        self._members(group)
        del self._groups()[group]
