"""The fast event loop and JSON codec keep the documents the standard library wrote."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import uvloop
from wagw_common import fast_runtime

pytestmark = pytest.mark.unit

SAMPLES = [
    {"a": 1, "b": [1, 2.5, None, True], "c": {"d": "é ☃"}},
    {"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "amount": Decimal("1.50")},  # default=str
    {1: "int keys become strings", "n": 2**70},  # past 64 bits: the standard library's path
]


@pytest.mark.parametrize("value", SAMPLES)
def test_dumps_writes_the_same_document_as_the_standard_library(value):
    standard = json.loads(json.dumps(value, separators=(",", ":"), default=str))
    assert json.loads(fast_runtime.dumps(value)) == standard
    assert json.loads(fast_runtime.dumps_text(value, separators=(",", ":"))) == standard


def test_loads_refuses_what_is_not_json_with_the_standard_error():
    with pytest.raises(json.JSONDecodeError):
        fast_runtime.loads(b"{not json")
    with pytest.raises(json.JSONDecodeError):
        fast_runtime.loads(b"\xff\xfe")
    assert fast_runtime.loads('{"a": [1]}') == {"a": [1]}


def test_run_uses_the_fast_loop():
    async def which():
        return type(asyncio.get_running_loop())

    assert fast_runtime.run(which) is uvloop.Loop
