"""The media object store client against the local S3-API server (scripts/infra.sh starts it)."""

import uuid

import aiohttp
import pytest

from harness.infra import OBJECT_STORE_URL
from wagw_common.object_store import Credentials, ObjectNotFound, ObjectStore

pytestmark = pytest.mark.integration


@pytest.fixture
async def store():
    async with aiohttp.ClientSession() as http:
        bucket = f"test-{uuid.uuid4().hex[:12]}"
        store = ObjectStore(OBJECT_STORE_URL, bucket, Credentials("wagw-local", "wagw-local-secret"), http)
        await store.ensure_bucket()
        await store.ensure_bucket()  # twice: a restarted service finds its bucket
        yield store


async def test_put_get_delete(store):
    await store.put("t/1", b"\x89PNG bytes", "image/png")
    assert await store.get("t/1") == (b"\x89PNG bytes", "image/png")
    await store.delete("t/1")
    with pytest.raises(ObjectNotFound):
        await store.get("t/1")
    await store.delete("t/1")  # deleting twice is no error: retention may race a second sweep


async def test_a_presigned_put_stores_bytes_without_the_keys(store):
    url = store.presigned_put("t/2", "image/jpeg", 60)
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.put(url, data=b"jpeg bytes", headers={"Content-Type": "image/jpeg"}) as resp:
            assert resp.status == 200
    assert await store.exists("t/2")
    assert (await store.get("t/2"))[0] == b"jpeg bytes"


async def test_keys_written_before_a_time_are_listed_for_retention(store):
    from datetime import datetime, timedelta, timezone

    for n in range(3):
        await store.put(f"inbound/s/{n}", b"x", "text/plain")
    await store.put("outbound/u/0", b"x", "text/plain")
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert sorted(await store.keys_modified_before("inbound/", later)) == ["inbound/s/0", "inbound/s/1", "inbound/s/2"]
    earlier = datetime.now(timezone.utc) - timedelta(minutes=1)
    assert await store.keys_modified_before("inbound/", earlier) == []
