"""The worker questions (`contracts.worker_queries.QUERIES`), answered by the session's client: the
SDK calls these methods of the handler by the names the contract gives, with the arguments its schema
checked, and checks each result against the declared one before it leaves. Addresses arrive as numbers
or WhatsApp ids and reach the client as WhatsApp ids; a session this worker does not hold connected is
refused (`failed`), as the platform asks only a connected session's worker (a race, at most)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from wagw_common.contracts.session_statuses import SessionStatus

from wagw_worker_sdk import QueryRefused

from .client import Group, WhatsAppClient

if TYPE_CHECKING:
    from .sessions import HeldSession


def whatsapp_id(address: str) -> str:
    """A number (`+62 812...` digits, as the contract lets them in) as its WhatsApp id; an id as it is."""
    return address if "@" in address else f"{address.lstrip('+')}@s.whatsapp.net"


def _group(group: Group) -> dict[str, Any]:
    return asdict(group) | {"participants": [asdict(member) for member in group.participants]}


class WhatsAppQueries:
    """Mixed into `WhatsAppSessions`, which holds the sessions."""

    sessions: dict[str, HeldSession]

    def _asked(self, session_id: str) -> WhatsAppClient:
        held = self.sessions.get(session_id)
        if held is None or held.status != SessionStatus.CONNECTED:
            raise QueryRefused("failed", "the session is not connected on this worker")
        return held.client

    async def check_number(self, session_id: str, phone: str) -> dict:
        jid = await self._asked(session_id).on_whatsapp(phone.lstrip("+"))
        return {"phone": phone, "exists": jid is not None, "jid": jid}

    async def contact_profile(self, session_id: str, contact: str) -> dict:
        return asdict(await self._asked(session_id).contact_profile(whatsapp_id(contact)))

    async def own_profile(self, session_id: str) -> dict:
        return asdict(await self._asked(session_id).own_profile())

    async def list_groups(self, session_id: str) -> dict:
        return {"groups": [_group(group) for group in await self._asked(session_id).groups()]}

    async def create_group(self, session_id: str, subject: str, participants: list[str]) -> dict:
        return _group(await self._asked(session_id).create_group(subject, [whatsapp_id(p) for p in participants]))

    async def change_group_participants(self, session_id: str, group: str, action: str,
                                        participants: list[str]) -> dict:
        asked = [whatsapp_id(p) for p in participants]
        outcomes = await self._asked(session_id).change_participants(group, action, asked)
        # Every participant asked about has an outcome: one WhatsApp said nothing of was not found.
        return {"group": group, "action": action,
                "participants": [{"jid": jid, "outcome": outcomes.get(jid, "not_found")} for jid in asked]}

    async def group_invite_link(self, session_id: str, group: str) -> dict:
        return {"group": group, "invite_link": await self._asked(session_id).invite_link(group)}

    async def leave_group(self, session_id: str, group: str) -> dict:
        await self._asked(session_id).leave_group(group)
        return {"group": group, "left": True}
