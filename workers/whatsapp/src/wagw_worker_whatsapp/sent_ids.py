"""Ids of messages the neonize adapter sent before it could choose ids (`devices.wagw_sent_messages`):
whatsmeow's own id recorded for each derived id. Both adapters translate through it, so receipts of
such messages, and replies, reactions, edits and revokes naming them, keep working whichever adapter
holds the session. An id we derived is never in it and needs no lookup."""

from __future__ import annotations

from .devices import StoreTables
from .ids import message_id_for


async def actual_id(tables: StoreTables, wa_message_id: str | None) -> str | None:
    """The id WhatsApp knows one of our messages by: whatsmeow's, for one the neonize adapter sent."""
    if wa_message_id is None:
        return None
    return await tables.sent_as(wa_message_id) or wa_message_id


async def derived_id(tables: StoreTables, wa_message_id: str) -> str:
    """The derived id the platform knows one of our messages by; any other id as it is."""
    if message_id_for(wa_message_id) is not None:
        return wa_message_id
    return await tables.derived_from(wa_message_id) or wa_message_id

