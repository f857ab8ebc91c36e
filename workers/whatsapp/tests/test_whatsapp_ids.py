import pytest

from wagw_worker_whatsapp.ids import message_id_for, wa_message_id_for

pytestmark = pytest.mark.unit


def test_a_gateway_message_id_becomes_a_whatsapp_id_of_whatsmeows_shape_and_back():
    wa_id = wa_message_id_for("m_45c48cce2e2d7fbd")
    assert wa_id == "WAGW45C48CCE2E2D7FBD" and len(wa_id) == 20
    assert message_id_for(wa_id) == "m_45c48cce2e2d7fbd"


def test_any_other_platform_id_is_carried_whole():
    wa_id = wa_message_id_for("m_in_Some-Id_1")
    assert wa_id.startswith("WAGX") and message_id_for(wa_id) == "m_in_Some-Id_1"


def test_the_same_message_id_gives_the_same_whatsapp_id_on_every_worker():
    assert wa_message_id_for("m_0123456789abcdef") == wa_message_id_for("m_0123456789abcdef")


@pytest.mark.parametrize("foreign", ["3EB0C767D26A1D0B8E3F", "3A1B2C", "WAGXZZ", "WAGW123", ""])
def test_ids_we_did_not_derive_map_to_nothing(foreign):
    assert message_id_for(foreign) is None
