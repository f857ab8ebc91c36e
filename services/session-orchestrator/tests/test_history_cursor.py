from datetime import datetime, timezone

import pytest

from wagw_session_orchestrator.pagination import InvalidCursor, before_filter, decode_cursor, encode_cursor

pytestmark = pytest.mark.unit


def test_round_trip_keeps_the_millisecond_and_the_id():
    at = datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
    assert decode_cursor(encode_cursor(at, "m_abc")) == (at, "m_abc")


def test_cursor_is_opaque_and_url_safe():
    cursor = encode_cursor(datetime(2026, 1, 1, tzinfo=timezone.utc), "m_45c48cce2e2d7fbd")
    assert "m_45c" not in cursor
    assert all(c.isalnum() or c in "-_" for c in cursor)


@pytest.mark.parametrize("bad", ["", "!!!", "bm90LWEtY3Vyc29y", "MTIzOg", "YWJjOm1fMQ", "MTIzOm0ge30"])
def test_garbage_is_refused_as_invalid_input(bad):
    with pytest.raises(InvalidCursor) as caught:
        decode_cursor(bad)
    assert caught.value.code == "invalid"


def test_before_filter_orders_by_time_then_id():
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert before_filter(encode_cursor(at, "m_b")) == {"$or": [
        {"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": "m_b"}},
    ]}
    assert before_filter(None) == {}
