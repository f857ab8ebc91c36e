"""Received files, stored by the worker itself in the platform's object store before it reports the
message: the broker carries only the description (type, size, SHA-256, name), never the bytes.

The file goes to a content-addressed key under its session (`wagw_common.object_store.media`), so a
message reported twice stores it once, and the orchestrator finds it from the description alone."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import aiohttp
from wagw_common.logging import get_logger
from wagw_common.object_store import TIMEOUT, AccessDenied, ObjectStore, ObjectStoreError
from wagw_common.object_store.media import StoredFile, inbound_key
from wagw_common.object_store.settings import ObjectStoreSettings

log = get_logger(__name__)


class MediaStorage:
    def __init__(self, store: ObjectStore, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes

    @classmethod
    @asynccontextmanager
    async def opened(cls, settings: ObjectStoreSettings) -> AsyncIterator["MediaStorage"]:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            store = settings.media_store(http)
            try:
                await store.ensure_bucket()  # whoever starts first makes it; both may try
            except (ObjectStoreError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                # Only received files need the store: a worker without it still connects and reports text.
                log.warning("media.store_unavailable", endpoint=settings.object_store_url, error=repr(exc))
            yield cls(store, settings.media_max_bytes)

    async def store_media(self, session_id: str, data: bytes, *, mimetype: str | None = None,
                          filename: str | None = None, ptt: bool = False) -> dict[str, Any]:
        """Store a received file; return its description for `Uplink.inbound(..., media=...)`.

        `mimetype`: what WhatsApp said the file is (with its parameters, e.g. `audio/ogg; codecs=opus`);
        when omitted, the type sniffed from the bytes. Raises MediaTooLarge above MEDIA_MAX_BYTES."""
        file = StoredFile.of(data, self.max_bytes)
        key = inbound_key(session_id, file.sha256)
        if not await self._stored_already(key):
            await self.store.put(key, data, file.mimetype)
        return {"mimetype": mimetype or file.mimetype, "size": file.size, "sha256": file.sha256,
                "filename": filename, "ptt": ptt}

    async def _stored_already(self, key: str) -> bool:
        """A key that may only write under `inbound/` (what production gives workers) is refused the
        look (S3 answers 403 for a missing object to a key without s3:ListBucket): store the file
        again, which its content-addressed key makes harmless."""
        try:
            return await self.store.exists(key)
        except AccessDenied:
            return False
