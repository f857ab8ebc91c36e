"""Media files as the platform stores them: where a received file's bytes go (content-addressed, under
its session, so a repeated report stores nothing twice), and what a file really is, sniffed from its
bytes (`filetype`, pure Python: signatures of pictures, video, sound, archives and
documents) rather than taken from the sender's word."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import filetype

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Signatures sit in a file's head; more than this never changes the answer.
_SNIFF_BYTES = 8192


class MediaTooLarge(ValueError):
    pass


def inbound_key(session_id: str, sha256: str) -> str:
    """The object key of a received file: the worker writes it, the orchestrator checks it is there."""
    if not _ID.match(session_id) or not _SHA256.match(sha256):
        raise ValueError("not a session id and a hex SHA-256")
    return f"inbound/{session_id}/{sha256}"


def outbound_key(tenant_id: str, sha256: str) -> str:
    """The object key of a file a tenant uploaded to send: the same file uploaded twice is kept once."""
    if not _ID.match(tenant_id) or not _SHA256.match(sha256):
        raise ValueError("not a tenant id and a hex SHA-256")
    return f"outbound/{tenant_id}/{sha256}"


def sendable(mimetype: str) -> bool:
    """Whether WhatsApp takes a file of this (sniffed) type: pictures, video, sound, and documents;
    never markup or programs, which a recipient's device might open as something else."""
    if mimetype == "image/svg+xml":  # markup with scripts, not a picture
        return False
    return mimetype.startswith(("image/", "video/", "audio/")) or mimetype in _DOCUMENTS or (
        mimetype.startswith("application/vnd.openxmlformats-officedocument."))


_DOCUMENTS = frozenset({"application/pdf", "application/msword", "application/vnd.ms-excel",
                        "application/vnd.ms-powerpoint", "application/zip", "application/epub+zip"})
# What `sendable` takes, as media type patterns (for the upload route's API reference).
SENDABLE_TYPES = ("image/*", "video/*", "audio/*", *sorted(_DOCUMENTS),
                  "application/vnd.openxmlformats-officedocument.*")


def sniff(data: bytes) -> str:
    """The MIME type the bytes themselves show (`application/octet-stream` when unknown: plain text and
    markup have no signature, so they are never taken for a picture)."""
    return filetype.guess_mime(data[:_SNIFF_BYTES]) or "application/octet-stream"


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    mimetype: str  # sniffed
    size: int
    sha256: str

    @classmethod
    def of(cls, data: bytes, max_bytes: int) -> "StoredFile":
        if len(data) > max_bytes:
            raise MediaTooLarge(f"{len(data)} bytes; at most {max_bytes} are accepted")
        return cls(data, sniff(data), len(data), hashlib.sha256(data).hexdigest())
