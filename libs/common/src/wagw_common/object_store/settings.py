"""Where media live: the object store's endpoint and keys, the bucket, and the media policy."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from ..settings import env_field
from .client import ObjectStore
from .sigv4 import Credentials


@dataclass(frozen=True)
class ObjectStoreSettings:
    object_store_url: str = env_field("OBJECT_STORE_URL", "http://127.0.0.1:9000",
                                      "S3-API endpoint of the media store (S3, MinIO, or the local one)")
    object_store_access_key: str = env_field("OBJECT_STORE_ACCESS_KEY", "wagw-local", "Access key of the media store")
    object_store_secret_key: str = env_field("OBJECT_STORE_SECRET_KEY", "wagw-local-secret",
                                             "Secret key of the media store")
    object_store_region: str = env_field("OBJECT_STORE_REGION", "us-east-1", "Region the media store signs for")
    media_bucket: str = env_field("MEDIA_BUCKET", "wagw-media", "Bucket holding media files")
    media_max_bytes: int = env_field("MEDIA_MAX_BYTES", "16777216",
                                     "Largest media file stored or accepted for upload (bytes; 413 above it)", int)
    media_retention_days: float = env_field(
        "MEDIA_RETENTION_DAYS", "30", "Age after which stored media files (received and uploaded) are deleted", float)

    def media_store(self, http: aiohttp.ClientSession) -> ObjectStore:
        """The media bucket of the store these settings name, reached through `http`."""
        creds = Credentials(self.object_store_access_key, self.object_store_secret_key, self.object_store_region)
        return ObjectStore(self.object_store_url, self.media_bucket, creds, http)
