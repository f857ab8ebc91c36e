"""A send a worker hands back unsent (`worker.message.bounced`), taken back and routed again."""

from __future__ import annotations

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

from .deps import Deps
from .lifecycle import QUEUED
from .message_routing import release_held
from .metrics import SENDS_BOUNCED
from .reporters import handed_to

log = get_logger(__name__)


async def when_worker_bounces_message_route_it_again(envelope: Envelope, deps: Deps, *, speaker: str) -> None:
    """A worker handed a send back unsent: it was unsure the session was still its own (see
    `worker.message.bounced`). Taken back from it, the message goes to the session's worker now:
    back to the same worker (nothing moved) it is marked rerouted, which that worker sends even
    while still unsure, so a bounce never loops; another worker gets an ordinary send (one of an
    older version would refuse the field). Held if the session is not CONNECTED anywhere, until it
    is (or the held expiry fails it). A message handed to another worker since, or past queued, has
    moved on: the bounce changes nothing."""
    messages, sessions = deps.messages, deps.sessions
    data = envelope.data
    message = await messages.get(data["message_id"])
    if message is None or message["session_id"] != data["session_id"] or message["direction"] != "outbound":
        log.warning("worker.bounce_for_unknown_message", message_id=data["message_id"], session_id=data["session_id"])
        return
    routed_to = message.get("routed_to")
    # Held already (routed_to None): a redelivered bounce whose first delivery took it back; released below.
    moved_on = message["status"] != QUEUED or not await handed_to(envelope, message, speaker, sessions)
    if moved_on or (routed_to is not None and not await messages.unroute(message["_id"], speaker)):
        log.info("worker.bounce_ignored", message_id=message["_id"], worker_id=speaker,
                 status=message["status"], routed_to=routed_to)
        SENDS_BOUNCED.labels("ignored").inc()
        return
    log.info("message.bounced", message_id=message["_id"], worker_id=speaker, reason=data["reason"])
    session = await sessions.get(data["session_id"])
    if session is None or session["status"] != SessionStatus.CONNECTED or not session.get("worker_id"):
        SENDS_BOUNCED.labels("held").inc()
        return
    await release_held(session["_id"], session["worker_id"], messages=messages, relay=deps.message_relay,
                       broker=deps.broker, rerouted=session["worker_id"] == speaker)
    SENDS_BOUNCED.labels("routed").inc()
