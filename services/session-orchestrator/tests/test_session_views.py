from datetime import datetime, timedelta, timezone

import pytest

from wagw_common.contracts import contract_for
from wagw_session_orchestrator.views import message_view, session_view

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def _session(**overrides):
    return {"_id": "s_1", "tenant_id": "u_1", "name": "Support", "description": "", "status": "QR_REQUIRED",
            "worker_id": "worker-1", "qr": "2@abc", "qr_expires_at": NOW + timedelta(seconds=30), "phone": None,
            "sequence": 3, "created_at": NOW, "updated_at": NOW, **overrides}


def test_pending_qr_is_shown_until_it_expires():
    assert session_view(_session(), NOW)["qr"] == "2@abc"
    expired = session_view(_session(), NOW + timedelta(seconds=31))
    assert expired["qr"] is None and expired["qr_expires_at"] is None


def test_session_view_satisfies_the_reply_contract():
    reply = contract_for("session.get").reply()
    assert reply.validate(reply.dump(session_view(_session(), NOW))) == {}


def test_message_view_satisfies_the_reply_contract():
    message = {"_id": "m_1", "session_id": "s_1", "tenant_id": "u_1", "direction": "outbound",
               "chat": "628123456789@s.whatsapp.net", "type": "text", "text": "hi", "status": "sent",
               "timeline": [{"status": "queued", "at": NOW, "reason": None}, {"status": "sent", "at": NOW}],
               "created_at": NOW, "sender": "ignored"}
    reply = contract_for("message.get").reply()
    assert reply.validate(reply.dump(message_view(message))) == {}
