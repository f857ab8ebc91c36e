"""Fake WhatsApp data: QR payloads, phone numbers and message ids shaped like the real ones."""

from __future__ import annotations

import base64
import hashlib
import secrets

DEFAULT_CONTACT = "628000000001@s.whatsapp.net"


def new_qr() -> str:
    """Shaped like WhatsApp's pairing QR payload: `2@<ref>,<noise key>,<identity key>,<adv secret>`."""
    def part(size: int) -> str:
        return base64.b64encode(secrets.token_bytes(size)).decode()

    return f"2@{part(24)},{part(32)},{part(32)},{part(16)}"


def fake_phone(session_id: str) -> str:
    """A stable fake number per session, so a restored session comes back as the same phone."""
    digits = str(int(hashlib.sha256(session_id.encode()).hexdigest(), 16))[:9]
    return f"628{digits}"


def new_pairing_code() -> str:
    """Shaped like WhatsApp's: eight letters and digits, shown as two groups of four."""
    alphabet = "ABCDEFGHJKLMNPQRSTVWXYZ23456789"
    code = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def new_wa_message_id() -> str:
    return "3EB0" + secrets.token_hex(8).upper()
