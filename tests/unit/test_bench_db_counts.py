"""The bench's database command counts (bench/probes, bench/suite/traffic.py): the total over every
process, and the breakdown per program, database, collection and command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from suite.traffic import DbCommandCounts  # noqa: E402

pytestmark = pytest.mark.unit


def _written(folder: Path, pid: int, program: str, by_kind: dict[str, int]) -> None:
    (folder / str(pid)).write_text(str(sum(by_kind.values())))
    (folder / f"{pid}.json").write_text(json.dumps({"program": program, "by_kind": by_kind}))


def test_the_total_ignores_the_breakdown_files_and_the_breakdown_sums_per_program():
    counts = DbCommandCounts()
    try:
        orchestrator = "/x/src/wagw_session_orchestrator/__main__.py"
        _written(counts.folder, 11, orchestrator, {"orch.messages.insert": 3, "orch.messages.findAndModify": 9})
        _written(counts.folder, 12, orchestrator, {"orch.messages.insert": 1})
        _written(counts.folder, 13, "/x/bin/worker_sim.py", {"reg.workers.update": 2})
        (counts.folder / "14.tmp").write_text("not a number")
        assert counts.total() == 15
        assert counts.by_kind() == {
            "wagw_session_orchestrator: orch.messages.insert": 4,
            "wagw_session_orchestrator: orch.messages.findAndModify": 9,
            "worker_sim: reg.workers.update": 2,
        }
    finally:
        counts.remove()
