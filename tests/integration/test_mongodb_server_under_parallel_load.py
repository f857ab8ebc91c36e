"""The local MongoDB-compatible server keeps answering writes when more work arrives than its storage pool
has connections (FerretDB's SQLite backend holds at most 100 per database, tools/ferretdb/build.sh).

Each test runs a server of its own: one that stops answering must not stall everyone else's runs. The
timeouts are hang detectors, not speed limits: the work takes well under a second when the server
is sound, and on a wedged one it would wait forever."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient, ReturnDocument, UpdateOne

from harness.private_infra import PrivateFerret

pytestmark = pytest.mark.integration

POOL = 100  # the SQLite backend's connections per database
WORKERS = POOL + 50
DOCS = 20
HANG = 90.0  # seconds: far beyond any honest answer, so only a wedged server reaches it


@pytest.fixture
async def items() -> AsyncIterator:
    server = PrivateFerret("ferretdb", Path(tempfile.mkdtemp(prefix="wagw-mongo-load-")) / "ferretdb")
    server.start()
    client: AsyncMongoClient = AsyncMongoClient(server.uri, maxPoolSize=WORKERS * 2)
    try:
        collection = client.load.items
        await collection.insert_many([{"_id": f"i_{n:02d}", "n": 0} for n in range(DOCS)])
        yield collection
    finally:
        server.kill()  # a wedged server would not answer a goodbye either
        await client.close()
        shutil.rmtree(server.root.parent, ignore_errors=True)


async def _within_hang_limit(work, what: str):
    try:
        async with asyncio.timeout(HANG):
            return await work
    except TimeoutError:
        pytest.fail(f"the server stopped answering: {what} did not finish in {HANG:.0f}s")


async def test_writes_go_on_while_more_cursors_are_open_than_the_pool_has_connections(items):
    """Readers that write as they go (`async for doc in find(...): update(doc)`), more of them than the
    pool has connections: each leaves a cursor open between batches while it waits for its writes. The
    writes start once as many cursors are open as the pool has connections, the state a busy server
    reaches by chance."""
    opened = 0
    pool_taken = asyncio.Event()

    async def reader_that_writes(worker: int) -> int:
        nonlocal opened
        seen = 0
        async for doc in items.find({"_id": {"$lt": "j"}}).batch_size(2):
            seen += 1
            if seen == 1:
                opened += 1
                if opened >= POOL:
                    pool_taken.set()
                await pool_taken.wait()
                await items.update_one({"_id": doc["_id"]}, {"$inc": {"n": 1}})
                await items.find_one_and_update({"_id": doc["_id"]}, {"$inc": {"n": 1}},
                                                return_document=ReturnDocument.AFTER)
                await items.insert_one({"_id": f"w_{worker:03d}", "by": worker})
        return seen

    seen = await _within_hang_limit(asyncio.gather(*(reader_that_writes(w) for w in range(WORKERS))),
                                    f"{WORKERS} readers writing as they go")
    assert seen == [DOCS] * WORKERS
    assert sum([doc["n"] async for doc in items.find({"n": {"$exists": True}})]) == 2 * WORKERS
    assert await items.count_documents({"by": {"$exists": True}}) == WORKERS


async def test_one_update_command_with_more_statements_than_the_pool_has_connections(items):
    """The platform's grouped outbox clears send hundreds of single-document updates as one command."""
    updates = [UpdateOne({"_id": f"i_{n % DOCS:02d}"}, {"$inc": {"n": 1}}) for n in range(POOL * 3)]
    result = await _within_hang_limit(items.bulk_write(updates, ordered=False), f"one update of {len(updates)}")
    assert result.modified_count == len(updates)
    assert sum([doc["n"] async for doc in items.find({})]) == len(updates)
