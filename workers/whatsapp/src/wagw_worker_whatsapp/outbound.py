"""A `worker.message.send` command's content as an `Outbound` message: the platform ids a reaction or
a reply refers to become WhatsApp ids (the one the platform knows, else the one derived from it)."""

from __future__ import annotations

from typing import Any

from .client import Outbound
from .ids import wa_message_id_for


def outbound_from_command(text: str, content: dict[str, Any]) -> Outbound:
    known = content.get("quoted_wa_message_id")
    reaction = content.get("reaction")
    if reaction is not None:
        return Outbound(type="reaction", emoji=reaction["emoji"],
                        target_wa_message_id=known or wa_message_id_for(reaction["message_id"]))
    reply_to = content.get("reply_to")
    quoted = known or (wa_message_id_for(reply_to) if reply_to else None)
    return Outbound(type=content.get("type", "text"), text=text or "", media=content.get("media"),
                    location=content.get("location"), contact=content.get("contact"), poll=content.get("poll"),
                    quoted_wa_message_id=quoted)
