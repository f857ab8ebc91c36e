"""Broker.restored: connected, and not in the middle of coming back from a break."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from wagw_common.broker import Broker

pytestmark = pytest.mark.unit


def connected_broker() -> Broker:
    broker = Broker("amqp://guest:guest@127.0.0.1/", source="test")
    up = asyncio.Event()
    up.set()
    broker.connection = SimpleNamespace(is_closed=False, connected=up)
    broker._channel = SimpleNamespace(is_closed=False)
    return broker


async def test_restored_only_once_a_reconnect_has_finished_after_the_last_break():
    broker = connected_broker()
    assert broker.restored and broker.reconnected_at is None  # never broken
    broker._lost(broker.connection, ConnectionError("broker gone"))
    # The transport is back (is_connected) before the channels and consumers are: not restored yet.
    assert broker.is_connected and not broker.restored
    broker._reconnected(broker.connection)
    assert broker.restored and broker.reconnected_at >= broker.lost_at
    broker.connection.connected.clear()
    assert not broker.restored
