import base64
from datetime import datetime, timezone

import pytest
from wagw_common.contracts import contract_for
from wagw_common.settings import SettingsError, load

from wagw_worker_simulator.fakes import fake_phone, new_pairing_code, new_qr, new_wa_message_id
from wagw_worker_simulator.settings import Settings

pytestmark = pytest.mark.unit


def test_a_qr_is_shaped_like_whatsapps_and_fresh_each_time():
    qr = new_qr()
    ref, *keys = qr.removeprefix("2@").split(",")
    assert qr.startswith("2@") and len(keys) == 3
    assert [len(base64.b64decode(part)) for part in (ref, *keys)] == [24, 32, 32, 16]
    assert len({new_qr() for _ in range(100)}) == 100


def test_a_qr_passes_the_worker_qr_contract():
    data = {"worker_id": "sim-worker-1", "session_id": "s_1", "qr": new_qr(),
            "expires_at": datetime(2026, 1, 1, tzinfo=timezone.utc)}
    assert contract_for("worker.session.qr").dump(data)["qr"] == data["qr"]


def test_a_session_keeps_its_fake_phone_number_and_it_fits_the_contract():
    assert fake_phone("s_1") == fake_phone("s_1") != fake_phone("s_2")
    assert fake_phone("s_1").isdigit() and len(fake_phone("s_1")) == 12
    status = {"worker_id": "w", "session_id": "s_1", "status": "CONNECTED", "reason": None, "phone": fake_phone("s_1")}
    contract_for("worker.session.status").dump(status)


def test_a_pairing_code_is_two_groups_of_four_and_passes_its_contract():
    code = new_pairing_code()
    assert len(code) == 9 and code[4] == "-" and code.replace("-", "").isalnum() and code == code.upper()
    data = {"worker_id": "w", "session_id": "s_1", "code": code, "expires_at": datetime(2026, 1, 1,
                                                                                        tzinfo=timezone.utc)}
    assert contract_for("worker.session.pairing_code").dump(data)["code"] == code


def test_wa_message_ids_look_like_whatsapps():
    wa_id = new_wa_message_id()
    assert wa_id.startswith("3EB0") and len(wa_id) == 20 and wa_id == wa_id.upper()


def test_settings_normalise_the_worker_id_and_have_the_documented_defaults():
    settings = load(Settings, {"WORKER_ID": "  Sim Worker_7 "})
    assert settings.worker_id == "sim-worker-7"
    defaults = load(Settings, {})
    assert (defaults.worker_id, defaults.capacity, defaults.heartbeat_interval, defaults.control_port,
            defaults.auto_scan, defaults.status_delay) == ("sim-worker-1", 50, 10.0, 8090, 0.0, 0.2)


@pytest.mark.parametrize("variable, value", [("WORKER_ID", "__"), ("WORKER_CAPACITY", "0"),
                                             ("HEARTBEAT_INTERVAL_SECONDS", "-1"), ("SIMULATOR_CONTROL_PORT", "x")])
def test_unusable_settings_are_refused_at_start(variable, value):
    with pytest.raises(SettingsError, match=variable):
        load(Settings, {variable: value})
