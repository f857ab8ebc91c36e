import pytest

from wagw_session_orchestrator.known_messages import KnownMessages

pytestmark = pytest.mark.unit


def test_known_messages_keep_only_what_never_changes_and_forget_the_oldest():
    known = KnownMessages(capacity=2)
    base = {"tenant_id": "u_tenant", "session_id": "s_1", "chat": "62811@s.whatsapp.net", "status": "queued",
            "routed_to": "worker-1", "timeline": []}
    for message_id in ("m_1", "m_2", "m_3"):
        known.remember({**base, "_id": message_id, "direction": "outbound"})
    known.remember({**base, "_id": "m_in", "direction": "inbound"})
    assert known.facts("m_1") is None and len(known) == 2
    assert known.facts("m_3") == {"_id": "m_3", "tenant_id": "u_tenant", "session_id": "s_1",
                                  "chat": "62811@s.whatsapp.net"}
