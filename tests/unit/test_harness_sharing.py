"""What the test harness hands to the runs of one test process: ports (a platform run chooses every
service's port before any listens) and Redis databases (runs alive at the same time must not share one)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness import infra, platform_run, processes
from harness.platform_run import PlatformRun

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


def test_a_redis_database_held_by_a_live_run_is_never_handed_out_again(monkeypatch):
    monkeypatch.setattr(infra, "_redis_reserved", set())
    held = [infra.private_redis_url() for _ in infra._REDIS_DATABASES]
    assert len(set(held)) == len(held) and not any(url.endswith("/0") for url in held)
    with pytest.raises(RuntimeError, match="held by live runs"):
        infra.private_redis_url()
    infra.release_redis_url(held[3])
    assert infra.private_redis_url() == held[3]


def test_a_stopped_run_gives_its_redis_databases_back(monkeypatch):
    monkeypatch.setattr(infra, "_redis_reserved", set())
    flushed = []
    monkeypatch.setattr(platform_run.redis.Redis, "from_url",
                        lambda url: SimpleNamespace(flushdb=lambda: flushed.append(url)))
    run = PlatformRun(infra.Vhost("unused"))
    assert flushed == [run.private_redis()]
    assert infra._redis_reserved == {run.redis_url, *run.more_redis_urls} and len(infra._redis_reserved) == 2
    run.stop()
    assert infra._redis_reserved == set()


def test_a_redis_database_held_for_a_block_is_given_back_after_it_even_on_an_error(monkeypatch):
    monkeypatch.setattr(infra, "_redis_reserved", set())
    with pytest.raises(KeyError), infra.redis_database() as url:
        assert infra._redis_reserved == {url}
        raise KeyError(url)
    assert infra._redis_reserved == set()
