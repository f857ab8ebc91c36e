"""The worker's own narrow view of a WhatsApp library: one client per session, what it can be asked
to do, and the events it reports. Two adapters implement it for real, on neonize (`neonize_client`) and
on whatsmeow itself through the bridge program (`whatsmeow_client`), the fake (`fake`) for tests; the
sessions logic (`sessions`) knows only this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol


class SendRefused(RuntimeError):
    """WhatsApp (or the library) refused the message; the reason is worth telling the customer."""


class PairingRefused(RuntimeError):
    """No pairing code for that phone (not a WhatsApp number, too many attempts): said, not retried."""


@dataclass(frozen=True)
class Outbound:
    """A message to send, in the contract's terms: `type` with its part (`media` (with `ptt` for a voice
    note), `location`, `contact`, `poll`, or for a reaction `emoji` and `target_wa_message_id`);
    `quoted_wa_message_id` for a reply."""

    type: str
    text: str = ""
    media: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    poll: dict[str, Any] | None = None
    emoji: str | None = None
    target_wa_message_id: str | None = None
    quoted_wa_message_id: str | None = None

    # The part its `type` calls for: a message of that type without it is a bug of whoever built it.
    @property
    def media_part(self) -> dict[str, Any]:
        return _part(self.media, "media", self.type)

    @property
    def location_part(self) -> dict[str, Any]:
        return _part(self.location, "location", self.type)

    @property
    def contact_part(self) -> dict[str, Any]:
        return _part(self.contact, "contact", self.type)

    @property
    def poll_part(self) -> dict[str, Any]:
        return _part(self.poll, "poll", self.type)


def _part(part: dict[str, Any] | None, name: str, message_type: str) -> dict[str, Any]:
    if part is None:
        raise ValueError(f"a {message_type} message without its {name}")
    return part


# ---- what a client reports (whatsmeow's events, reduced to what the protocol needs) ----------------

@dataclass(frozen=True)
class QrShown:
    code: str
    ttl_seconds: float  # whatsmeow's first code lasts 60 s, the following ones 20 s


@dataclass(frozen=True)
class PairSucceeded:
    phone: str


@dataclass(frozen=True)
class Connected:
    phone: str | None


@dataclass(frozen=True)
class LoggedOut:
    reason: str


@dataclass(frozen=True)
class StreamReplaced:
    """Another client connected with the same credentials: this one must give up the session."""


@dataclass(frozen=True)
class TemporarilyDisconnected:
    """The connection dropped; the library reconnects by itself."""


@dataclass(frozen=True)
class ConnectionFailed:
    """The connection ended for good (WhatsApp unreachable, the store unusable): the session is down."""

    reason: str


@dataclass(frozen=True)
class Receipt:
    wa_message_ids: tuple[str, ...]
    status: str  # "delivered" or "read"


@dataclass(frozen=True)
class InboundMessage:
    wa_message_id: str
    chat: str
    sender: str
    type: str
    text: str
    # The rest of `worker.message.inbound` in its terms: the part the type needs (`media` described,
    # `location`, `contact`, `reaction`, `poll`, `poll_vote`), `reply_to_wa_message_id`, `sender_phone`.
    parts: dict[str, Any] = field(default_factory=dict)
    # For a received file (`parts["media"]`): fetches its bytes from WhatsApp, to be stored before the report.
    fetch: Callable[[], Awaitable[bytes]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ReceivedEdited:
    """The sender of a received message changed its text (or caption)."""

    wa_message_id: str
    text: str


@dataclass(frozen=True)
class ReceivedDeleted:
    """The sender of a received message deleted it for everyone."""

    wa_message_id: str


# ---- what a client answers (the worker questions, in the contract's shapes) ----------------------------

@dataclass(frozen=True)
class Profile:
    jid: str
    name: str | None
    about: str | None
    picture_url: str | None


@dataclass(frozen=True)
class Member:
    jid: str
    role: str  # member, admin, superadmin


@dataclass(frozen=True)
class Group:
    jid: str
    subject: str
    participants: tuple[Member, ...]


ClientEvent = (QrShown | PairSucceeded | Connected | LoggedOut | StreamReplaced | TemporarilyDisconnected
               | ConnectionFailed | Receipt | InboundMessage | ReceivedEdited | ReceivedDeleted)
EventSink = Callable[[ClientEvent], Awaitable[None]]


class WhatsAppClient(Protocol):
    """One session's connection to WhatsApp, its device credentials in the shared store."""

    async def has_credentials(self) -> bool:
        """A linked device is stored for this session (a restore can connect without a QR)."""

    async def connect(self) -> None:
        """Connect; without credentials, QR codes follow as events until one is scanned."""

    async def pair_phone(self, phone: str) -> str:
        """Link by pairing code instead of a QR: the code the phone's owner types in WhatsApp."""

    async def send(self, to: str, message: Outbound, wa_message_id: str) -> str:
        """Send with this WhatsApp message id (or, if the library cannot choose ids, as if with it: the
        neonize adapter translates); returns the id its receipts will name. Refusals: `SendRefused`."""

    async def edit(self, chat: str, wa_message_id: str, text: str) -> None:
        """Change the text (or caption) of a message this session sent. Refusals: `SendRefused`."""

    async def revoke(self, chat: str, wa_message_id: str) -> None:
        """Delete a message this session sent, for everyone. Refusals: `SendRefused`."""

    async def mark_read(self, chat: str) -> None:
        """Mark what the chat's contact sent (since the last time) read: the contact sees blue ticks."""

    async def send_presence(self, presence: str, chat: str | None) -> None:
        """`typing`, `recording`, `paused` in `chat`; `available`, `unavailable` for the session (chat None)."""

    # The questions (addresses are WhatsApp ids, `…@s.whatsapp.net`, `…@lid`, `…@g.us`). Each refuses with
    # the SDK's `QueryRefused` (`not_found`, `forbidden`, `invalid`, `failed`) and a reason a person can act on.

    async def on_whatsapp(self, phone: str) -> str | None:
        """The WhatsApp id of the number (its digits), None when it does not use WhatsApp."""

    async def contact_profile(self, jid: str) -> Profile:
        """A contact's name, about and picture as this session sees them."""

    async def own_profile(self) -> Profile:
        """The session's own profile."""

    async def groups(self) -> list[Group]:
        """The groups the session is in."""

    async def create_group(self, subject: str, participants: list[str]) -> Group:
        """A new group with the session as its creator; participants WhatsApp refused are not in it."""

    async def change_participants(self, group: str, action: str, participants: list[str]) -> dict[str, str]:
        """`add`, `remove`, `promote` or `demote`: each participant's outcome (`done`, `not_found`,
        `forbidden`, `unchanged`), by the WhatsApp id asked for."""

    async def invite_link(self, group: str) -> str:
        """The group's invite link (https://chat.whatsapp.com/...)."""

    async def leave_group(self, group: str) -> None:
        """Leave the group."""

    async def disconnect(self) -> None:
        """Close the connection and keep the credentials (another worker may restore the session)."""

    async def logout(self) -> None:
        """Unlink the device from the phone and delete its credentials."""


class ClientFactory(Protocol):
    def open(self, session_id: str, on_event: EventSink) -> WhatsAppClient: ...
