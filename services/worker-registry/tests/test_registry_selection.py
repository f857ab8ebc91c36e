import pytest

from wagw_worker_registry.selection import Candidate, choose, rank

pytestmark = pytest.mark.unit


def c(worker_id: str, free: int, session_count: int = 0, max_sessions: int = 50) -> Candidate:
    return Candidate(worker_id=worker_id, free=free, session_count=session_count, max_sessions=max_sessions)


def test_the_worker_with_most_free_slots_comes_first():
    assert rank([c("a", 3), c("b", 10), c("c", 7)]) == ["b", "c", "a"]


def test_workers_without_free_slots_are_never_chosen():
    assert rank([c("full", 0, 50), c("a", 1, 49)]) == ["a"]
    assert choose([c("full", 0, 50)]) is None
    assert choose([]) is None


def test_equal_free_slots_prefer_the_less_loaded_worker_then_the_id():
    # 5 free of 10 (half full) vs 5 free of 100 (95% full): the smaller, emptier one wins.
    assert rank([c("big", 5, 95, 100), c("small", 5, 5, 10)]) == ["small", "big"]
    assert rank([c("b", 5, 5, 10), c("a", 5, 5, 10)]) == ["a", "b"]


def test_choose_returns_the_best():
    assert choose([c("a", 1), c("b", 2)]) == "b"
