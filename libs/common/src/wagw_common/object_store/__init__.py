"""The media object store: an S3-API server reached by one endpoint URL and a key pair (a local
server from scripts/infra.sh, MinIO or S3 in production)."""

from .client import TIMEOUT, AccessDenied, ObjectNotFound, ObjectStore, ObjectStoreError
from .sigv4 import Credentials

__all__ = ["TIMEOUT", "AccessDenied", "Credentials", "ObjectNotFound", "ObjectStore", "ObjectStoreError"]
