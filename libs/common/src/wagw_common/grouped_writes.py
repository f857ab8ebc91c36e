"""Single-document updates that many handlers make at once, sent to MongoDB as one bulk write.

A group commit: the first caller's update goes at once; while that write is on its way, the updates of
the callers after it gather and go together as the next write, however many there are. Nothing waits
for a timer, so a lone update costs what it did, and under load a command carries many. Each caller
still waits for its own update to be applied and gets its own error, as with `update_one`; where the
server's answer does not say which update it refused (FerretDB 1.24's leaves out `nModified`, and may
not apply the updates after it), every caller of that group gets the error, so only idempotent updates
belong here (an outbox clear is one: a retried `$pullAll` removes nothing more)."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from .logging import get_logger

log = get_logger(__name__)
MAX_GROUP = 500  # updates in one command, well under any server's limit on a batch


class GroupedUpdates:
    def __init__(self, collection: AsyncCollection[Any]):
        self.collection = collection
        self._waiting: list[tuple[UpdateOne, asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[Any] | None = None

    def _queue(self, filter: dict[str, Any], update: dict[str, Any]) -> asyncio.Future[Any]:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((UpdateOne(filter, update), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_while_waiting())
        return done

    async def update_one(self, filter: dict[str, Any], update: dict[str, Any]) -> None:
        # A cancelled caller leaves its update to be written anyway: it was asked for.
        await asyncio.shield(self._queue(filter, update))

    async def drain(self) -> None:
        """Returns once every update asked for so far is written (or failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write_while_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            try:
                await self.collection.bulk_write([op for op, _ in group], ordered=False)
                failed: dict[int, Exception] = {}
            except asyncio.CancelledError:  # shutting down: no caller is left waiting forever
                for _, done in group + self._waiting:
                    done.cancel()
                raise
            except BulkWriteError as exc:
                failed = {e["index"]: BulkWriteError({**exc.details, "writeErrors": [e]})
                          for e in exc.details.get("writeErrors", [])}
            except Exception as exc:  # the whole command failed: every caller of the group is told
                failed = {i: exc for i in range(len(group))}
            for index, (_, done) in enumerate(group):
                if done.done():
                    continue
                if index in failed:
                    done.set_exception(failed[index])
                else:
                    done.set_result(None)

