"""Media files in the store: retention by a periodic delete, and a store that is away, against real endpoints."""

import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from harness.infra import OBJECT_STORE_URL

from wagw_common.object_store import Credentials, ObjectStore
from wagw_gateway.media_files import delete_expired_media

pytestmark = pytest.mark.integration


async def test_files_older_than_the_retention_go_and_newer_ones_stay():
    async with aiohttp.ClientSession() as http:
        store = ObjectStore(OBJECT_STORE_URL, f"t-{uuid.uuid4().hex[:12]}", Credentials("k", "s"), http)
        await store.ensure_bucket()
        for key in ("inbound/s_1/" + "a" * 64, "outbound/u_1/" + "b" * 64, "elsewhere/kept"):
            await store.put(key, b"bytes", "image/png")
        # Just written: a 30-day retention keeps them.
        assert await delete_expired_media(store, 30) == 0
        # Seen from 31 days on, both kinds of file are past it; what the platform did not write stays.
        assert await delete_expired_media(store, 30, now=datetime.now(UTC) + timedelta(days=31)) == 2
        assert not await store.exists("inbound/s_1/" + "a" * 64)
        assert not await store.exists("outbound/u_1/" + "b" * 64)
        assert await store.exists("elsewhere/kept")


async def test_a_store_that_is_away_is_a_503_not_a_500():
    from wagw_gateway.errors import ApiError
    from wagw_gateway.media_files import read_received_file

    async with aiohttp.ClientSession() as http:
        away = ObjectStore("http://127.0.0.1:9", "media", Credentials("k", "s"), http)  # discard port: nothing listens
        message = {"direction": "inbound", "session_id": "s_1", "media": {"sha256": "a" * 64}}
        with pytest.raises(ApiError) as refused:
            await read_received_file(away, message)
        assert refused.value.status == 503
