"""What the adapter asks of neonize's client to send: the messages it must build itself (media are
fetched from their URL and uploaded first; a poll carries a secret whatsmeow makes, which its votes are
encrypted with), and the presences. Plain messages are `neonize_mapping.OUTBOUND`'s."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from . import neonize_mapping as mapping  # first: it runs the no-download checks of `library`
from .client import Outbound

# After `mapping`: importing any of neonize may load its Go library, which the checks come before.
from neonize.utils.enum import ChatPresence, ChatPresenceMedia, Presence, VoteType  # noqa: E402

# Each uploaded type: the client's builder and how it is called.
MEDIA_BUILDERS: dict[str, Callable[[Any, Outbound], Awaitable[Any]]] = {
    "image": lambda c, m: c.build_image_message(m.media_part["url"], caption=m.text or None),
    "video": lambda c, m: c.build_video_message(m.media_part["url"], caption=m.text or None),
    "audio": lambda c, m: c.build_audio_message(m.media_part["url"], ptt=bool(m.media_part.get("ptt"))),
    "document": lambda c, m: c.build_document_message(
        m.media_part["url"], caption=m.text or None, filename=m.media_part.get("filename"),
        mimetype=m.media_part.get("mimetype")),
    "sticker": lambda c, m: c.build_sticker_message(m.media_part["url"]),
}
# whatsmeow knows one choice or any number of them; a poll allowing 2..n-1 is sent as "any number".
VOTE_TYPES = {1: VoteType.SINGLE}
CHAT_PRESENCES = {
    "typing": (ChatPresence.CHAT_PRESENCE_COMPOSING, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT),
    "recording": (ChatPresence.CHAT_PRESENCE_COMPOSING, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_AUDIO),
    "paused": (ChatPresence.CHAT_PRESENCE_PAUSED, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT),
}
SESSION_PRESENCES = {"available": Presence.AVAILABLE, "unavailable": Presence.UNAVAILABLE}


class NotBuilt(RuntimeError):
    """The message could not be made (the media's URL unreachable, not a file WhatsApp takes)."""


async def build(client: Any, message: Outbound, to: str, *, ours: bool) -> Any:
    """`message` as a WhatsApp message, a reply's quote included; `ours`: a reaction's target is one of
    this session's sent messages."""
    if message.type == "reaction":
        return mapping.reaction_for(message, to, ours=ours)
    try:
        if message.type in MEDIA_BUILDERS:  # neonize fetches the media from its URL, then uploads it to WhatsApp
            built = await MEDIA_BUILDERS[message.type](client, message)
        elif message.type == "poll":
            poll = message.poll_part
            built = await client.build_poll_vote_creation(
                poll["name"], list(poll["options"]), VOTE_TYPES.get(poll.get("selectable_count", 1), VoteType.MULTIPLE))
        else:
            built = mapping.OUTBOUND[message.type](message)
    except Exception as exc:
        raise NotBuilt(f"{message.type} not sent: {exc}") from None
    return mapping.quote(built, message.quoted_wa_message_id)


def edited_text(text: str) -> Any:
    return mapping.wa.Message(conversation=text)


async def send_presence(client: Any, presence: str, chat: Any | None) -> None:
    if presence in SESSION_PRESENCES:
        await client.send_presence(SESSION_PRESENCES[presence])
        return
    state, media = CHAT_PRESENCES[presence]
    await client.send_chat_presence(chat, state, media)
