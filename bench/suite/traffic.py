"""Work per completed message that CPU time does not show: the MongoDB commands every platform process
issued (counted inside each process by bench/probes/sitecustomize.py) and the deliveries the broker
made to consumers on the run's vhost (the management API's `deliver_get`, which includes Socket.IO's
own relay between realtime replicas)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from pathlib import Path

import aiohttp
from harness.infra import AUTH_HEADERS, Vhost

PROBES = Path(__file__).resolve().parents[1] / "probes"
STATS_INTERVAL = 5.5  # the management API refreshes its message rates every 5 s


class DbCommandCounts:
    """The environment that loads the counter into a process, and the sum over every process."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="wagw-bench-db-"))

    def env(self) -> dict[str, str]:
        pythonpath = os.pathsep.join(filter(None, [str(PROBES), os.environ.get("PYTHONPATH")]))
        return {"PYTHONPATH": pythonpath, "WAGW_BENCH_DB_COUNTS": str(self.folder)}

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def total(self) -> int:
        total = 0
        for path in self.folder.iterdir():
            if path.suffix not in (".tmp", ".json"):
                try:
                    total += int(path.read_text() or 0)
                except (OSError, ValueError):
                    continue
        return total

    def by_kind(self) -> dict[str, int]:
        """Commands per `<program>: <database>.<collection>.<command>`, over every process."""
        counted: dict[str, int] = {}
        for path in self.folder.glob("*.json"):
            try:
                written = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            program = _program(written.get("program") or "?")
            for kind, n in written.get("by_kind", {}).items():
                counted[f"{program}: {kind}"] = counted.get(f"{program}: {kind}", 0) + n
        return counted


def _program(argv0: str) -> str:
    """`.../wagw_session_orchestrator/__main__.py` -> `wagw_session_orchestrator`."""
    path = Path(argv0)
    return path.parent.name if path.name == "__main__.py" else path.stem


async def broker_deliveries(vhost: Vhost) -> int:
    async with aiohttp.ClientSession(headers=AUTH_HEADERS) as http:
        response = await http.get(vhost.api("vhosts/{vhost}"))
        response.raise_for_status()
        stats = (await response.json()).get("message_stats") or {}
    return int(stats.get("deliver_get", 0))


class TrafficWindow:
    """`start()` before the first message, `stop(completed)` once they all completed: commands and
    deliveries per completed message (everything the platform did meanwhile, heartbeats included)."""

    def __init__(self, counts: DbCommandCounts, vhost: Vhost) -> None:
        self.counts, self.vhost = counts, vhost

    async def start(self) -> None:
        await asyncio.sleep(1)  # every process has written its count at least once
        self._db, self._kinds = self.counts.total(), self.counts.by_kind()
        await asyncio.sleep(STATS_INTERVAL)
        self._deliveries = await broker_deliveries(self.vhost)

    async def stop(self, completed: int) -> dict:
        await asyncio.sleep(STATS_INTERVAL)
        db, deliveries = self.counts.total() - self._db, await broker_deliveries(self.vhost) - self._deliveries
        kinds = {kind: n - self._kinds.get(kind, 0) for kind, n in self.counts.by_kind().items()}

        def per(n: int, digits: int = 1) -> float | None:
            return round(n / completed, digits) if completed else None

        return {"db_commands": db, "db_commands_per_message": per(db),
                "db_commands_by_kind_per_message": {kind: per(n, 3) for kind, n in
                                                    sorted(kinds.items(), key=lambda item: -item[1]) if n},
                "broker_deliveries": deliveries, "broker_deliveries_per_message": per(deliveries)}
