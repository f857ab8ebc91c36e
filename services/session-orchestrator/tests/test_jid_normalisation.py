import pytest

from wagw_session_orchestrator.jid import to_jid

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("given, expected", [
    ("628123456789", "628123456789@s.whatsapp.net"),
    ("+628123456789", "628123456789@s.whatsapp.net"),
    (" +628123456789 ", "628123456789@s.whatsapp.net"),
    ("628123456789@s.whatsapp.net", "628123456789@s.whatsapp.net"),
    ("120363025246125486@g.us", "120363025246125486@g.us"),
])
def test_to_jid(given, expected):
    assert to_jid(given) == expected
