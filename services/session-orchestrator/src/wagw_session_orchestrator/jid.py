"""WhatsApp chat ids (JIDs) from what customers type."""

from __future__ import annotations

USER_SUFFIX = "@s.whatsapp.net"


def to_jid(to: str) -> str:
    """`+628123456789` or `628123456789` -> `628123456789@s.whatsapp.net`; an id that already names
    its server (`…@s.whatsapp.net`, a group's `…@g.us`) is left as it is."""
    to = to.strip()
    if "@" in to:
        return to
    return f"{to.removeprefix('+')}{USER_SUFFIX}"
