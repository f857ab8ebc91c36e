"""WhatsApp message ids derived from the platform's message ids, and back.

A send repeated after a failover or a redelivery carries the same id, so WhatsApp (and the phone)
treat it as the same message; a reaction or a reply to one of our messages names its target without
asking anyone; and a receipt names the platform's message without a lookup table, whichever worker
holds the session when it arrives. The gateway's ids (`m_` and 16 hex digits) become `WAGW` and the
same digits in upper case, 20 characters like whatsmeow's own; any other id is carried whole (hex)."""

from __future__ import annotations

import re

_GATEWAY_ID = re.compile(r"^m_([0-9a-f]{16})$")
_COMPACT = re.compile(r"^WAGW([0-9A-F]{16})$")
_CARRIED = re.compile(r"^WAGX((?:[0-9A-F]{2})+)$")


def wa_message_id_for(message_id: str) -> str:
    match = _GATEWAY_ID.match(message_id)
    if match:
        return "WAGW" + match.group(1).upper()
    return "WAGX" + message_id.encode().hex().upper()


def message_id_for(wa_message_id: str) -> str | None:
    """The platform's message id a WhatsApp id was derived from; None for ids we did not derive."""
    match = _COMPACT.match(wa_message_id)
    if match:
        return "m_" + match.group(1).lower()
    match = _CARRIED.match(wa_message_id)
    if match:
        try:
            return bytes.fromhex(match.group(1)).decode()
        except UnicodeDecodeError:
            return None
    return None
