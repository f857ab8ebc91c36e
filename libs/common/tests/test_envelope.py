import json

import pytest

from wagw_common.envelope import Envelope, MalformedMessage, parse_envelope

pytestmark = pytest.mark.unit


def test_round_trip_keeps_every_cloudevents_attribute():
    original = Envelope(type="session.created", source="session-orchestrator", data={"a": 1}, subject="session/s_1",
                        correlation_id="c0ffee")
    parsed = parse_envelope(original.to_json())
    assert parsed == original
    wire = json.loads(original.to_json())
    assert wire["specversion"] == "1.0"
    assert wire["correlationid"] == "c0ffee"
    assert wire["time"].endswith("Z")


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b"\xff\xfe", b"{}",
                                  json.dumps({"specversion": "0.3", "id": "1", "source": "x", "type": "t",
                                              "time": "2026-01-01T00:00:00Z", "correlationid": "c",
                                              "data": {}}).encode(),
                                  json.dumps({"specversion": "1.0", "id": "1", "source": "x", "type": "t",
                                              "time": "2026-01-01T00:00:00", "correlationid": "c",
                                              "data": {}}).encode(),
                                  json.dumps({"specversion": "1.0", "id": "1", "source": "x", "type": "t", "extra": 1,
                                              "time": "2026-01-01T00:00:00Z", "correlationid": "c",
                                              "data": {}}).encode()])
def test_anything_but_a_valid_envelope_is_malformed(body):
    with pytest.raises(MalformedMessage):
        parse_envelope(body)


def test_correlation_id_is_taken_from_the_current_scope():
    from wagw_common.logging import correlation_scope

    with correlation_scope("abc123"):
        assert Envelope(type="t", source="s", data={}).correlation_id == "abc123"


_VALID = {"specversion": "1.0", "id": "1", "source": "x", "type": "t", "time": "2026-01-01T00:00:00Z",
          "correlationid": "c", "data": {}}


@pytest.mark.parametrize("change, attribute", [
    ({"id": ""}, "id"), ({"id": 7}, "id"), ({"source": "s" * 257}, "source"), ({"subject": None}, "subject"),
    ({"subject": "s" * 257}, "subject"), ({"datacontenttype": "text/plain"}, "datacontenttype"),
    ({"time": "yesterday"}, "time"), ({"time": 1}, "time"), ({"data": [1]}, "data"),
    ({"correlationid": None}, "correlationid"),
])
def test_each_broken_attribute_is_named(change, attribute):
    with pytest.raises(MalformedMessage) as caught:
        parse_envelope(json.dumps({**_VALID, **change}).encode())
    assert list(caught.value.details) == [attribute]


@pytest.mark.parametrize("missing", ["specversion", "id", "source", "type", "time", "correlationid", "data"])
def test_each_required_attribute_is_required(missing):
    body = {k: v for k, v in _VALID.items() if k != missing}
    with pytest.raises(MalformedMessage) as caught:
        parse_envelope(json.dumps(body).encode())
    assert caught.value.details == {missing: ["Missing data for required field."]}


def test_optional_attributes_and_offsets_are_kept():
    parsed = parse_envelope(json.dumps({**_VALID, "subject": "", "datacontenttype": "application/json",
                                        "time": "2026-01-01T02:00:00+02:00"}).encode())
    assert parsed.subject == "" and parsed.time.utcoffset() is not None
    assert parsed.time.isoformat() == "2026-01-01T02:00:00+02:00"
