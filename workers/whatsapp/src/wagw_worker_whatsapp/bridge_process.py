"""The whatsmeow bridge program (`workers/whatsapp/bridge`), one per worker process, and its line protocol:
JSON requests with an id and a session, replies matched to them by id, events handed to each session's
sink in the order they came (a queue per session, so a sink that asks the program something, a file's
download, never blocks the reading). A program that ends fails every pending request (`BridgeGone`) and
tells every session's sink that its connection is over (`ended`): no caller waits forever."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from pathlib import Path
from typing import Any, Awaitable, Callable

from wagw_common.logging import get_logger

log = get_logger(__name__)
READY_TIMEOUT_SECONDS = 30.0  # opening the credential store (PostgreSQL, or creating the SQLite file)
# The longest an op may take: a file fetched (up to 2 min) and uploaded, or a connect whatsmeow keeps dialling.
REQUEST_TIMEOUT_SECONDS = 300.0
LINE_LIMIT = 256 * 1024 * 1024  # a received file's bytes come back as one line (base64)
Sink = Callable[[str, dict[str, Any]], Awaitable[None]]  # (event name, data)


class BridgeError(RuntimeError):
    """The program answered with a typed error (`type`: bad_request, unknown_session, send_refused, ...)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class BridgeGone(ConnectionError):
    """The program is not running (it ended, or never started): the request was not answered."""


class BridgeTimeout(TimeoutError):
    """The program did not answer in time. Not a refusal: a send asked again carries the same id, so
    WhatsApp keeps one message whichever attempt got through."""


class BridgeProcess:
    def __init__(self, program: Path, store: str):
        self.program = program
        self.store = store
        self.process: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._queues: dict[str, asyncio.Queue] = {}
        self._tasks: set[asyncio.Task] = set()
        self._reader: asyncio.Task | None = None
        self._ready: asyncio.Future | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None and self._reader is not None \
            and not self._reader.done()

    async def start(self) -> None:
        """Spawn the program (its logs go to the worker's stderr) and wait for its `ready`."""
        env = {**os.environ, "WHATSAPP_STORE": self.store}  # not an argument: a password in argv is public
        self.process = await asyncio.create_subprocess_exec(
            str(self.program), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            limit=LINE_LIMIT)
        self._ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(self.process))
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await asyncio.shield(self._ready)
        except (asyncio.TimeoutError, BridgeGone):
            if self.process.returncode is None:  # silent: nothing to wait for
                self.process.kill()
            await self.stop()
            raise BridgeGone(f"{self.program.name} did not start (see its log above)") from None
        log.info("whatsapp.bridge_started", pid=self.process.pid)

    async def request(self, op: str, session: str, **args: Any) -> dict[str, Any]:
        if not self.running or self.process is None or self.process.stdin is None:
            raise BridgeGone(f"{self.program.name} is not running")
        request_id = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        line = json.dumps({"id": request_id, "op": op, "session": session, "args": args}) + "\n"
        try:
            self.process.stdin.write(line.encode())
            await self.process.stdin.drain()
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                return await answer
        except asyncio.TimeoutError:
            raise BridgeTimeout(f"{self.program.name} did not answer {op} in {REQUEST_TIMEOUT_SECONDS:g} s") from None
        except (BrokenPipeError, ConnectionResetError):
            raise BridgeGone(f"{self.program.name} ended") from None
        finally:
            self._pending.pop(request_id, None)

    def subscribe(self, session: str, sink: Sink) -> None:
        """`sink` hears the session's events, in order, until `unsubscribe`."""
        self.unsubscribe(session)
        queue: asyncio.Queue = asyncio.Queue()
        self._queues[session] = queue
        task = asyncio.create_task(self._deliver(session, queue, sink))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def unsubscribe(self, session: str) -> None:
        queue = self._queues.pop(session, None)
        if queue is not None:
            queue.put_nowait(None)

    async def stop(self) -> None:
        """Close its stdin (it disconnects every session, credentials kept, and exits), then wait."""
        process = self.process
        if process is None:
            return
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
        if self._reader is not None:
            await self._reader

    # ---- inside -------------------------------------------------------------------------------

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while line := await process.stdout.readline():
                self._take(line)
        except (ValueError, asyncio.LimitOverrunError) as exc:  # a line past the limit: the stream is lost
            log.error("whatsapp.bridge_unreadable", error=repr(exc))
            process.kill()
        code = await process.wait()
        self._ended(f"the whatsmeow bridge ended (exit code {code})")

    def _take(self, line: bytes) -> None:
        try:
            message = json.loads(line)
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError:
            log.warning("whatsapp.bridge_bad_line", size=len(line))
            return
        if "event" in message:
            self._event(message)
        elif message.get("id") in self._pending:
            answer = self._pending[message["id"]]
            error = message.get("error")
            if answer.done():
                return
            if isinstance(error, dict):
                answer.set_exception(BridgeError(str(error.get("type")), str(error.get("message"))))
            else:
                answer.set_result(message.get("result") or {})
        else:  # a request it could not read (a bug of ours), or an answer nobody waits for any more
            log.warning("whatsapp.bridge_unmatched_reply", id=message.get("id"), error=message.get("error"))

    def _event(self, message: dict) -> None:
        if message["event"] == "ready":
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(message.get("data"))
            return
        queue = self._queues.get(message.get("session") or "")
        if queue is None:
            log.info("whatsapp.bridge_event_of_unheld_session", session_id=message.get("session"),
                     bridge_event=message["event"])
            return
        queue.put_nowait((message["event"], message.get("data") or {}))

    def _ended(self, reason: str) -> None:
        log.warning("whatsapp.bridge_ended", reason=reason, sessions=len(self._queues))
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(BridgeGone(reason))
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(BridgeGone(reason))
        for session in list(self._queues):
            self._queues[session].put_nowait(("ended", {"reason": reason}))
            self.unsubscribe(session)

    @staticmethod
    async def _deliver(session: str, queue: asyncio.Queue, sink: Sink) -> None:
        while (item := await queue.get()) is not None:
            try:
                await sink(*item)
            except Exception as exc:  # one event's failure must not stop the session's later ones
                log.warning("whatsapp.bridge_event_failed", session_id=session, bridge_event=item[0], error=repr(exc))
