"""A received file, stored in the platform's object store before its message is reported (the SDK's
`MediaStorage`, as every worker does): the report then carries the stored file's description, whose
SHA-256 names where the platform finds the file. A file that cannot be fetched from WhatsApp or stored
(above MEDIA_MAX_BYTES, the store away) is reported described as WhatsApp told it, without the file:
the message is not lost for its file, and the log says why. A file WhatsApp says is larger than
MEDIA_MAX_BYTES is not downloaded at all."""

from __future__ import annotations

from typing import Any

from wagw_common.logging import get_logger
from wagw_worker_sdk import MediaStorage

from .client import InboundMessage

log = get_logger(__name__)


async def with_stored_media(media: MediaStorage | None, session_id: str, event: InboundMessage) -> dict[str, Any]:
    """`event.parts`, its `media` replaced by the stored file's description once the file is stored."""
    told = event.parts.get("media")
    if told is None or event.fetch is None or media is None:
        return event.parts
    if (told.get("size") or 0) > media.max_bytes:  # never downloaded (WhatsApp sends files of up to 2 GB)
        log.warning("whatsapp.media_not_stored", session_id=session_id, wa_message_id=event.wa_message_id,
                    error=f"{told['size']} bytes is more than MEDIA_MAX_BYTES ({media.max_bytes})")
        return event.parts
    try:
        data = await event.fetch()
        stored = await media.store_media(session_id, data, mimetype=told.get("mimetype"),
                                         filename=told.get("filename"), ptt=bool(told.get("ptt")))
    except Exception as exc:  # whatever kept the file (WhatsApp's media server, the store), the message stays
        log.warning("whatsapp.media_not_stored", session_id=session_id, wa_message_id=event.wa_message_id,
                    error=repr(exc))
        return event.parts
    return {**event.parts, "media": stored}
