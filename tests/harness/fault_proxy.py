"""A small fault-injecting TCP proxy (asyncio), put between a service and the broker by the chaos tests.

It runs its own event loop in a thread, so the processes it serves keep their connections whatever the
test's loop does. Faults, each switchable while connections are open:
- `latency`: seconds added before each chunk is forwarded, both directions (order is kept);
- `reset_all()`: every open connection is cut with a TCP reset (RST), as a broken network does;
- `refuse`: new connections are accepted and reset at once (the far side unreachable);
- `pause()` / `resume()`: bytes stop flowing both ways, connections stay open (a stalled network)."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from dataclasses import dataclass, field

from .processes import free_port


@dataclass
class FaultProxy:
    target_port: int
    target_host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    latency: float = 0.0
    refuse: bool = False
    connections_total: int = 0
    resets_total: int = 0
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _server: asyncio.Server | None = field(default=None, repr=False)
    _writers: set = field(default_factory=set, repr=False)
    # Made again in the proxy's own loop when it starts.
    _flowing: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    # ---- control (from any thread) -------------------------------------------------------------

    def start(self) -> "FaultProxy":
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"fault-proxy-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the proxy did not start")
        return self

    def close(self) -> None:
        if self._loop is None or self._thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        except TimeoutError:
            pass  # the loop is stopped below either way; its connections die with it
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def reset_all(self) -> int:
        """Cut every open connection with a reset; returns how many were cut."""
        return asyncio.run_coroutine_threadsafe(self._reset_all(), self._started()).result(10)

    def pause(self) -> None:
        self._started().call_soon_threadsafe(self._flowing.clear)

    def resume(self) -> None:
        self._started().call_soon_threadsafe(self._flowing.set)

    def _started(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the proxy is not started")
        return self._loop

    @property
    def open_connections(self) -> int:
        return len(self._writers) // 2

    # ---- inside the proxy's loop ---------------------------------------------------------------

    async def _serve(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._reset_all()

    async def _reset_all(self) -> int:
        writers = list(self._writers)
        for writer in writers:
            _reset(writer)
        self.resets_total += len(writers) // 2
        return len(writers) // 2

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections_total += 1
        if self.refuse:
            _reset(client_writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _reset(client_writer)
            return
        pair = {client_writer, upstream_writer}
        self._writers |= pair
        try:
            await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))
        finally:
            self._writers -= pair
            for writer in pair:
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                await self._flowing.wait()
                if self.latency:
                    await asyncio.sleep(self.latency)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # One side is done: end the other one too (a half-open AMQP connection is of no use).
            _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN (SO_LINGER 0): what the peer sees when a network path breaks."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()
