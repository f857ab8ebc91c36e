"""A small async S3 client over aiohttp: the few calls the platform makes (make the bucket, put, get,
delete an object) and presigned URLs for a worker's upload."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from xml.etree import ElementTree

import aiohttp

from .sigv4 import Credentials, presign, sign_headers


_S3 = "{http://s3.amazonaws.com/doc/2006-03-01/}"
# For the HTTP session a store is used with: a store that is away must fail a call soon, not after
# aiohttp's default of five minutes (a service's start-up waits on its first call).
TIMEOUT = aiohttp.ClientTimeout(total=60, connect=5)


class ObjectStoreError(RuntimeError):
    pass


class ObjectNotFound(ObjectStoreError):
    pass


class AccessDenied(ObjectStoreError):
    """403: the key may not do this (a worker's key may only write under `inbound/`)."""


class ObjectStore:
    def __init__(self, endpoint: str, bucket: str, creds: Credentials, http: aiohttp.ClientSession) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._bucket = bucket
        self._creds = creds
        self._http = http

    def url_of(self, key: str) -> str:
        return f"{self._endpoint}/{self._bucket}/{key}"

    async def _call(self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None,
                    ok: tuple[int, ...] = (200,)) -> tuple[int, bytes, dict[str, str]]:
        signed = sign_headers(self._creds, method, url, body, headers=headers)
        async with self._http.request(method, url, data=body or None, headers=signed) as resp:
            data = await resp.read()
            if resp.status == 404 and 404 not in ok:
                raise ObjectNotFound(url)
            if resp.status == 403 and 403 not in ok:
                raise AccessDenied(f"{method} {url}: 403 {data[:200]!r}")
            if resp.status not in ok:
                raise ObjectStoreError(f"{method} {url}: {resp.status} {data[:200]!r}")
            return resp.status, data, dict(resp.headers)

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (S3 answers 409 when it is already ours)."""
        status, _, _ = await self._call("HEAD", f"{self._endpoint}/{self._bucket}", ok=(200, 404))
        if status == 404:
            await self._call("PUT", f"{self._endpoint}/{self._bucket}", ok=(200, 409))

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._call("PUT", self.url_of(key), data, headers={"content-type": content_type})

    async def get(self, key: str) -> tuple[bytes, str]:
        """The object's bytes and its stored content type; ObjectNotFound when it is gone."""
        _, data, headers = await self._call("GET", self.url_of(key))
        return data, headers.get("Content-Type", "application/octet-stream")

    async def exists(self, key: str) -> bool:
        status, _, _ = await self._call("HEAD", self.url_of(key), ok=(200, 404))
        return status == 200

    async def delete(self, key: str) -> None:
        await self._call("DELETE", self.url_of(key), ok=(200, 204, 404))

    async def keys_modified_before(self, prefix: str, before: datetime) -> list[str]:
        """Keys under `prefix` last written before `before` (ListObjectsV2, page after page)."""
        found, token = [], None
        while True:
            query = f"list-type=2&prefix={quote(prefix, safe='')}"
            if token:
                query += f"&continuation-token={quote(token, safe='')}"
            _, body, _ = await self._call("GET", f"{self._endpoint}/{self._bucket}?{query}")
            root = ElementTree.fromstring(body)
            for item in root.iter(_S3 + "Contents"):
                modified = datetime.fromisoformat(item.findtext(_S3 + "LastModified", "").replace("Z", "+00:00"))
                if modified < before:
                    found.append(item.findtext(_S3 + "Key", ""))
            token = root.findtext(_S3 + "NextContinuationToken")
            if root.findtext(_S3 + "IsTruncated") != "true" or not token:
                return found

    def presigned_get(self, key: str, expires_seconds: int) -> str:
        """A URL that reads the object without the platform's keys until it expires (S3 allows 7 days)."""
        return presign(self._creds, "GET", self.url_of(key), expires_seconds)

    def presigned_put(self, key: str, content_type: str, expires_seconds: int) -> str:
        """A URL a worker PUTs the bytes to (with this Content-Type), without the platform's keys."""
        return presign(self._creds, "PUT", self.url_of(key), expires_seconds,
                       signed_headers={"content-type": content_type})
