import pytest

from wagw_common.contracts import CATALOG, Kind, contract_for
from wagw_common.envelope import MalformedMessage

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("contract", list(CATALOG.values()), ids=lambda c: c.type)
def test_every_example_satisfies_its_own_contract(contract):
    contract.load(contract.example)
    if contract.reply is not None:
        assert contract.reply_example is not None, "a query documents its reply"
        contract.reply().load(contract.reply_example)
    assert contract.summary


@pytest.mark.parametrize("contract", list(CATALOG.values()), ids=lambda c: c.type)
def test_unknown_fields_are_refused(contract):
    with pytest.raises(MalformedMessage):
        contract.load({**contract.example, "surprise": True})


def test_unknown_type_is_malformed():
    with pytest.raises(MalformedMessage):
        contract_for("no.such.type")


def test_field_errors_are_reported_by_name():
    with pytest.raises(MalformedMessage) as info:
        contract_for("message.send").load({"tenant_id": "u_1", "session_id": "s_1", "message_id": "m_1", "to": "abc"})
    assert set(info.value.details) == {"to", "text"}


def test_every_kind_is_used():
    assert {c.kind for c in CATALOG.values()} == set(Kind)


def test_dump_refuses_invalid_outgoing_data():
    with pytest.raises(MalformedMessage):
        contract_for("worker.register").dump({"worker_id": "Not Normalised", "version": "1", "capacity": {"max_sessions": 1}})
