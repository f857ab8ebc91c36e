"""The test harness's port choice: a platform run chooses every service's port before any listens."""

from __future__ import annotations

import pytest

from harness import processes

pytestmark = pytest.mark.unit


def test_a_port_is_never_handed_out_twice_even_when_the_draw_repeats(monkeypatch):
    draws = iter([24001, 24001, 24001, 24002])
    monkeypatch.setattr(processes.random, "randint", lambda _low, _high: next(draws))
    monkeypatch.setattr(processes, "_HANDED_OUT", set())
    assert [processes.free_port(), processes.free_port()] == [24001, 24002]


def test_a_port_something_listens_on_is_skipped(monkeypatch):
    with processes.socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        draws = iter([busy, 24003])
        monkeypatch.setattr(processes.random, "randint", lambda _low, _high: next(draws))
        monkeypatch.setattr(processes, "_HANDED_OUT", set())
        assert processes.free_port() == 24003
