"""The gateway's media store: open for the app's lifetime (uploads write to it); a received file,
found from the description that the orchestrator's answer gives (`message.get`) and checked against
it before it is served; the periodic delete that stands in for retention rules."""

from __future__ import annotations

import asyncio
import hashlib
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, AsyncIterator, Iterator

import aiohttp
from wagw_common.logging import get_logger
from wagw_common.object_store import TIMEOUT, ObjectNotFound, ObjectStore, ObjectStoreError
from wagw_common.object_store.media import inbound_key, sniff
from wagw_common.object_store.settings import ObjectStoreSettings

from .errors import unavailable


log = get_logger(__name__)
# What a store that is away or failing raises: the media routes turn it into a 503.
STORE_ERRORS = (ObjectStoreError, aiohttp.ClientError, asyncio.TimeoutError)
# Everything the platform writes to the store lives under these (wagw_common.object_store.media).
_PREFIXES = ("inbound/", "outbound/")


@contextmanager
def store_errors_as_503() -> Iterator[None]:
    try:
        yield
    except ObjectNotFound:
        raise
    except STORE_ERRORS as exc:
        log.warning("media.store_failed", error=repr(exc))
        raise unavailable("the media store is unavailable; retry later") from exc


class MediaStore:
    """The media bucket, made with the gateway's dependencies and reachable for the app's lifetime:
    `context` (an aiohttp cleanup context) opens one HTTP client for it and makes the bucket if it is
    not there yet (uploads write to it). A store that is away does not stop the gateway: only the
    media routes need it, and they answer 503 until it is back."""

    def __init__(self, settings: ObjectStoreSettings):
        self._settings = settings
        self._store: ObjectStore | None = None

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            raise ObjectStoreError("the media store is not open")
        return self._store

    async def context(self, _app: object) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            store = self._settings.media_store(http)
            try:
                await store.ensure_bucket()
            except STORE_ERRORS as exc:
                log.warning("media.store_unavailable", endpoint=self._settings.object_store_url, error=repr(exc))
            self._store = store
            try:
                yield
            finally:
                self._store = None


def stored_description(message: dict[str, Any]) -> dict[str, Any] | None:
    """The description of a received file in a history entry; None when it holds none."""
    media = message.get("media") or {}
    if message.get("direction") != "inbound" or not media.get("sha256"):
        return None
    return media


async def read_received_file(store: ObjectStore, message: dict[str, Any]) -> tuple[bytes, str] | None:
    """The file's bytes and the type they show; None when the worker did not store it (too large, or
    a worker that only describes) or the bytes are not the ones described."""
    media = stored_description(message)
    if media is None:
        return None
    try:
        with store_errors_as_503():
            data, _ = await store.get(inbound_key(message["session_id"], media["sha256"]))
    except ObjectNotFound:
        return None
    if hashlib.sha256(data).hexdigest() != media["sha256"]:
        return None
    return data, sniff(data)


async def delete_expired_media(store: ObjectStore, retention_days: float, *, now: datetime | None = None) -> int:
    """Retention by a periodic delete, as the store may have no lifecycle rules (the local one has
    none): files written more than `retention_days` ago go. A link to one then answers 404."""
    before = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    deleted = 0
    for prefix in _PREFIXES:
        for key in await store.keys_modified_before(prefix, before):
            await store.delete(key)
            deleted += 1
    if deleted:
        log.info("media.expired_deleted", count=deleted, retention_days=retention_days)
    return deleted
