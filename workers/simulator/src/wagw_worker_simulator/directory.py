"""The simulated phone book and groups: what the worker queries answer (see
`contracts.worker_queries`). Deterministic, so tests can rely on it:

- a number uses WhatsApp unless it ends in 0; its profile name is "Contact <last four digits>";
- a session's own profile is its phone's, named "Simulated <last four digits>";
- groups live in memory per session; the session is the creator and a superadmin of those it
  creates; a participant whose number does not use WhatsApp is `not_found`."""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from wagw_worker_sdk import QueryRefused

PICTURES = "https://pps.whatsapp.net/v/simulated"


def jid_of(address: str) -> str:
    address = address.lstrip("+")
    return address if "@" in address else f"{address}@s.whatsapp.net"


def number_of(jid: str) -> str:
    return jid.split("@", 1)[0].split("-", 1)[0]


def uses_whatsapp(jid: str) -> bool:
    return jid.endswith("@lid") or jid.endswith("@g.us") or not number_of(jid).endswith("0")


class SimulatedDirectory:
    """Mixed into the simulated WhatsApp, whose `_connected(session_id)` gives a connected session."""

    _connected: Callable[[str], Any]

    def _groups_of(self, session_id: str) -> dict[str, dict]:
        return self.__dict__.setdefault("_groups", {}).setdefault(session_id, {})

    def _group(self, session_id: str, group: str) -> dict:
        found = self._groups_of(session_id).get(group)
        if found is None:
            raise QueryRefused("not_found", "this session is not in that group")
        return found

    @staticmethod
    def _view(jid: str, group: dict) -> dict:
        return {"jid": jid, "subject": group["subject"],
                "participants": [{"jid": p, "role": r} for p, r in group["participants"].items()]}

    async def check_number(self, session_id: str, phone: str) -> dict:
        self._connected(session_id)
        jid = jid_of(phone)
        exists = uses_whatsapp(jid)
        return {"phone": phone, "exists": exists, "jid": jid if exists else None}

    async def contact_profile(self, session_id: str, contact: str) -> dict:
        self._connected(session_id)
        jid = jid_of(contact)
        if not uses_whatsapp(jid):
            raise QueryRefused("not_found", "this number does not use WhatsApp")
        return {"jid": jid, "name": f"Contact {number_of(jid)[-4:]}", "about": "Hey there! I am using WhatsApp.",
                "picture_url": f"{PICTURES}/{hashlib.sha256(jid.encode()).hexdigest()[:16]}.jpg"}

    async def own_profile(self, session_id: str) -> dict:
        session = self._connected(session_id)
        jid = jid_of(session.phone)
        return {"jid": jid, "name": f"Simulated {session.phone[-4:]}", "about": "Available",
                "picture_url": f"{PICTURES}/{hashlib.sha256(jid.encode()).hexdigest()[:16]}.jpg"}

    async def list_groups(self, session_id: str) -> dict:
        self._connected(session_id)
        return {"groups": [self._view(jid, g) for jid, g in self._groups_of(session_id).items()]}

    async def create_group(self, session_id: str, subject: str, participants: list[str]) -> dict:
        session = self._connected(session_id)
        groups = self._groups_of(session_id)
        jid = f"1203630{int(hashlib.sha256(f'{session_id}{len(groups)}'.encode()).hexdigest(), 16) % 10**11:011d}@g.us"
        members = {jid_of(session.phone): "superadmin"}
        members.update({p: "member" for p in map(jid_of, participants) if uses_whatsapp(p)})
        groups[jid] = {"subject": subject, "participants": members, "invite": None}
        return self._view(jid, groups[jid])

    async def change_group_participants(self, session_id: str, group: str, action: str,
                                        participants: list[str]) -> dict:
        self._connected(session_id)
        members = self._group(session_id, group)["participants"]
        outcomes = []
        for jid in map(jid_of, participants):
            outcomes.append({"jid": jid, "outcome": self._change(members, jid, action)})
        return {"group": group, "action": action, "participants": outcomes}

    @staticmethod
    def _change(members: dict[str, str], jid: str, action: str) -> str:
        if not uses_whatsapp(jid):
            return "not_found"
        if action == "add":
            if jid in members:
                return "unchanged"
            members[jid] = "member"
            return "done"
        if jid not in members:
            return "not_found"
        if members[jid] == "superadmin":
            return "forbidden"
        if action == "remove":
            del members[jid]
            return "done"
        role = "admin" if action == "promote" else "member"
        changed, members[jid] = members[jid] != role, role
        return "done" if changed else "unchanged"

    async def group_invite_link(self, session_id: str, group: str) -> dict:
        self._connected(session_id)
        found = self._group(session_id, group)
        found["invite"] = found["invite"] or hashlib.sha256(f"{session_id}{group}".encode()).hexdigest()[:22]
        return {"group": group, "invite_link": f"https://chat.whatsapp.com/{found['invite']}"}

    async def leave_group(self, session_id: str, group: str) -> dict:
        self._connected(session_id)
        self._group(session_id, group)
        del self._groups_of(session_id)[group]
        return {"group": group, "left": True}
