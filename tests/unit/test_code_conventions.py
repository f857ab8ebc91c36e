"""Rules about the code itself that a reviewer would otherwise have to remember."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = ("libs", "services", "workers", "tests", "bench", "tools")
SKIPPED_PARTS = {"node_modules", ".venv", "__pycache__"}
ON_PURPOSE = "# wait_for on purpose"
WAIT_FOR = re.compile(r"\basyncio\.wait_for\(|from asyncio import .*\bwait_for\b")


def python_files():
    for folder in SOURCE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if not SKIPPED_PARTS & set(path.relative_to(ROOT).parts):
                yield path


def test_the_source_tree_is_where_this_test_looks():
    files = {p.relative_to(ROOT).as_posix() for p in python_files()}
    assert "libs/common/src/wagw_common/tasks.py" in files
    assert "workers/sdk/src/wagw_worker_sdk/worker.py" in files


def test_awaits_are_bounded_with_asyncio_timeout_not_wait_for():
    """Python 3.11's asyncio.wait_for loses a cancellation that arrives as its inner await completes
    (see wagw_common.tasks): a loop using it may never stop. asyncio.timeout does not."""
    uses = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in python_files()
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if WAIT_FOR.search(line) and ON_PURPOSE not in line]
    assert uses == []
