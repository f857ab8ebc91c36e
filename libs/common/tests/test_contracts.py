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
        contract_for("worker.register").dump({"worker_id": "Not Normalised", "version": "1",
                                              "capacity": {"max_sessions": 1}})


def _send(**content):
    return contract_for("message.send").load({"tenant_id": "u_1", "session_id": "s_1", "message_id": "m_1",
                                              "to": "+628123456789", **content})


def test_voice_notes_stickers_and_hidden_lid_recipients():
    voice = _send(type="audio", media={"url": "https://example.com/v.ogg", "ptt": True})
    assert voice["media"]["ptt"] is True
    assert _send(to="123456789012345@lid", text="hi")["to"] == "123456789012345@lid"
    _send(type="sticker", media={"url": "https://example.com/s.webp"})
    for bad in ({"type": "sticker", "text": "caption", "media": {"url": "https://example.com/s.webp"}},
                {"type": "image", "media": {"url": "https://example.com/a.jpg", "ptt": True}},
                {"to": "12@lid", "text": "hi"}):
        with pytest.raises(MalformedMessage):
            _send(**bad)


def test_a_send_without_a_voice_note_says_nothing_of_one_to_the_worker():
    """A worker of an older version refuses a field it does not know: `ptt` goes only where it is used."""
    deliver = contract_for("worker.message.send")
    plain = deliver.dump({"session_id": "s_1", "message_id": "m_1", "to": "6281@s.whatsapp.net", "type": "audio",
                          "media": _send(type="audio", media={"url": "https://example.com/a.ogg"})["media"]})
    assert "ptt" not in plain["media"]


def test_a_presence_in_a_chat_names_the_chat_and_the_sessions_own_does_not():
    presence = contract_for("session.presence")
    ref = {"tenant_id": "u_1", "session_id": "s_1"}
    assert presence.load({**ref, "presence": "recording", "chat": "+628123456789"})["chat"] == "628123456789"
    assert presence.load({**ref, "presence": "available"})["chat"] is None
    for bad in ({"presence": "typing"}, {"presence": "unavailable", "chat": "+628123456789"}, {"presence": "dancing"}):
        with pytest.raises(MalformedMessage):
            presence.load({**ref, **bad})


def test_a_poll_has_distinct_options_and_no_more_choices_than_options():
    poll = _send(type="poll", poll={"name": "Lunch?", "options": ["Soto", "Rendang"]})["poll"]
    assert poll["selectable_count"] == 1
    for bad in ({"poll": {"name": "Lunch?", "options": ["Soto", "Soto"]}},
                {"poll": {"name": "Lunch?", "options": ["Soto", "Rendang"], "selectable_count": 3}},
                {"poll": {"name": "Lunch?", "options": ["Soto"]}},
                {"poll": {"name": "Lunch?", "options": ["Soto", "Rendang"]}, "text": "vote!"}):
        with pytest.raises(MalformedMessage):
            _send(type="poll", **bad)


def test_phone_numbers_normalise_the_same_when_cached_and_refusals_stay_refused():
    from marshmallow import ValidationError

    from wagw_common.contracts.sessions import normalise_phone

    assert normalise_phone("+62 812-3456-789") == normalise_phone("+62 812-3456-789") == "628123456789"
    for _ in range(2):  # a refusal is never remembered as an answer
        with pytest.raises(ValidationError):
            normalise_phone("+999 123456")
