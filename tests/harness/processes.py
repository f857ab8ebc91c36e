"""Start each service as its own process, wait for it to be ready, stop it with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from .infra import REPO


async def ask_each(processes: dict[str, "ServiceProcess"], path: str, *,
                   timeout: float = 5.0) -> dict[str, tuple[int, str]]:
    """GET `path` from every process: {name: (status, body)}; (0, "") for one that does not answer."""
    answers = {}
    async with aiohttp.ClientSession() as http:
        for name, process in processes.items():
            try:
                async with http.get(process.url + path, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                    answers[name] = (response.status, await response.text())
            except (aiohttp.ClientError, asyncio.TimeoutError):
                answers[name] = (0, "")
    return answers


# Ports this process has handed out: a platform run chooses every service's port before any of them
# listens, so a port chosen twice would pass the bind check twice, and the second server, unable to
# listen, would leave its clients talking to the first (seen: a gateway "answering" 404 to its own routes).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nothing listens on and not handed out before by this process, below the kernel's
    ephemeral range: a port the kernel hands out (bind to 0) may be taken by any outgoing connection
    before the server that is to listen on it starts (seen with the compose stack, whose servers start
    minutes after their ports are chosen)."""
    below = _ephemeral_range_start()
    if len(_HANDED_OUT) > (below - 20000) // 2:  # a long session of runs: the early ones are long gone
        _HANDED_OUT.clear()
    for _ in range(200):
        port = random.randint(20000, below - 1)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port between 20000 and {below}")


def _ephemeral_range_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


@dataclass
class ServiceProcess:
    name: str
    module: str
    port: int
    env: dict[str, str]
    log_dir: Path
    ready_path: str = "/readyz"
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen([sys.executable, "-m", self.module], env=env, stdout=log,
                                        stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)

    @property
    def alive(self) -> bool:
        return self._running() is not None

    def _running(self) -> subprocess.Popen | None:
        return self.process if self.process is not None and self.process.poll() is None else None

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if not self.alive:
                    code = self.process.returncode if self.process else None
                    raise RuntimeError(f"{self.name} exited with {code}:\n{self.tail()}")
                try:
                    async with http.get(self.url + self.ready_path, timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.tail()}")

    def stop(self, grace: float = 15.0) -> int | None:
        process = self.process
        if process is None or process.poll() is not None:
            return process.returncode if process else None
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGCONT)  # a paused process acts on the SIGTERM only once resumed
        try:
            return process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(5)

    def kill(self) -> None:
        if (process := self._running()) is not None:
            process.kill()
            process.wait(5)

    def pause(self) -> None:
        """SIGSTOP: the process hangs as a whole (a long GC, a frozen VM), its connections left open."""
        if (process := self._running()) is not None:
            process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if (process := self._running()) is not None:
            process.send_signal(signal.SIGCONT)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"
