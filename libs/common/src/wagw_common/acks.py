"""Acknowledgements grouped per channel: one `basic.ack(multiple=True)` for the deliveries that finish
together, instead of a frame (and a socket write) each.

AMQP numbers the deliveries of a channel 1, 2, 3, ... and `multiple=True` acknowledges every delivery
of the channel still outstanding up to the tag given, whoever consumed it. So a group goes only up to
the highest tag below which every delivery of the channel is settled here: acknowledged (held for the
group, or sent), or requeued, rejected or dead-lettered (sent on its own, before the group's frame).
A tag this module never saw settled (another consumer's delivery on the same channel, a delivery whose
requeue failed) is never covered.
- a delivery alone in hand on its channel is acknowledged at once, on its own, as before;
- the others are held until the end of the event loop's turn, then go as one frame;
- an acknowledgement held behind an earlier delivery still in hand goes on its own after `HOLD_SECONDS`;
- requeues and rejections are never grouped: the consumer sends them itself, then calls `settled`;
- a group belongs to the channel object its deliveries came on: a channel reopened after a reconnect is
  another object with groups of its own, so an old tag never reaches it (its held acknowledgements fail
  with the old channel, and the broker redelivers those messages, as for any unacknowledged one).
A held acknowledgement is not waited for: `ack` returns once it is held, and a group that cannot be sent
is logged (its messages come back, like any message unacknowledged when a channel closes).
`flush_held` sends everything held at once (a consumer's graceful stop)."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import aio_pika

from .logging import get_logger

log = get_logger(__name__)

# How long an acknowledgement may wait behind an earlier delivery still in hand before it goes alone.
HOLD_SECONDS = 0.02
# Settled tags kept above a gap that never closes (a delivery nobody settles here): past this many, the
# channel's acknowledgements go one by one, as before.
MOST_SETTLED_ABOVE_A_GAP = 4096


class ChannelAcks:
    """The held acknowledgements of one AMQP channel, and how far its deliveries are settled."""

    def __init__(self, channel: Any):
        # Weakly: the registry below is keyed by the channel, which a strong reference here would keep.
        self._channel = weakref.ref(channel)
        self.through = 0  # every delivery up to this tag is settled (its frame sent)
        self.settled_above: set[int] = set()  # settled tags above `through`
        self.in_hand: set[int] = set()  # received, not yet acknowledged nor settled
        self.held: dict[int, float] = {}  # acknowledgements not sent yet: tag -> since (loop time)
        self.grouping = True
        self._flush: asyncio.Handle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    @property
    def channel(self) -> Any:
        channel = self._channel()
        if channel is None:
            raise aio_pika.exceptions.ChannelInvalidStateError("the channel is gone")
        return channel

    def received(self, tag: int) -> None:
        self.in_hand.add(tag)

    async def ack(self, tag: int) -> None:
        self.in_hand.discard(tag)
        if not self.grouping or (not self.in_hand and not self.held):
            await self.channel.basic_ack(tag)  # raises as `message.ack()` would
            self.settled(tag)
            return
        self.held[tag] = asyncio.get_running_loop().time()
        self._schedule(0.0)

    def settled(self, tag: int) -> None:
        """The delivery's frame (an acknowledgement, a requeue, a rejection) is on its way."""
        self.in_hand.discard(tag)
        if tag == self.through + 1:
            self.through = tag
            while self.through + 1 in self.settled_above:
                self.settled_above.remove(self.through + 1)
                self.through += 1
        else:
            self.settled_above.add(tag)
            if len(self.settled_above) > MOST_SETTLED_ABOVE_A_GAP:
                self.grouping = False
                self.settled_above.clear()
        if self.held and self._flush is None:
            self._schedule(0.0)

    def _schedule(self, delay: float) -> None:
        if self._flush is not None:
            return
        loop = asyncio.get_running_loop()
        self._flush = (loop.call_later(delay, self._start_flush) if delay
                       else loop.call_soon(self._start_flush))

    def _start_flush(self) -> None:
        self._flush = None
        task = asyncio.get_running_loop().create_task(self.flush())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def _group(self, force: bool) -> tuple[int | None, list[int]]:
        """The tag to acknowledge with `multiple=True` (the highest held one below which everything is
        settled or held), and the held tags above it that have waited long enough to go alone."""
        top, tag = None, self.through
        while tag + 1 in self.settled_above or tag + 1 in self.held:
            tag += 1
            if tag in self.held:
                top = tag
        now = asyncio.get_running_loop().time()
        alone = sorted(t for t, since in self.held.items()
                       if t > tag and (force or now - since >= HOLD_SECONDS))
        return top, alone

    async def flush(self, force: bool = False) -> None:
        top, alone = self._group(force)
        covered = [t for t in self.held if top is not None and t <= top]
        for t in covered + alone:
            del self.held[t]
        if self.held:  # still behind an earlier delivery: goes alone after its hold at the latest
            now = asyncio.get_running_loop().time()
            self._schedule(max(HOLD_SECONDS - (now - min(self.held.values())), 0.001))
        try:
            if top is not None:
                await self.channel.basic_ack(top, multiple=True)
            for tag in alone:
                await self.channel.basic_ack(tag)
        except Exception as exc:
            # The channel is gone: the broker puts its unacknowledged messages back by itself.
            log.warning("acks.not_sent", held=len(covered) + len(alone), error=repr(exc))
            return
        for tag in covered + alone:
            self.settled(tag)

    async def drain(self) -> None:
        """Send what is held now, and wait for every flush under way."""
        if self.held:
            if self._flush is not None:
                self._flush.cancel()
                self._flush = None
            await self.flush(force=True)
        if self._sending:
            await asyncio.wait(set(self._sending))


_GROUPS: weakref.WeakKeyDictionary[Any, ChannelAcks] = weakref.WeakKeyDictionary()


def _group_of(message: Any) -> tuple[ChannelAcks, int] | None:
    """The channel's group and the delivery's tag, for a delivery acknowledged by hand on a live channel
    (anything else, like the test doubles, acknowledges through the message itself)."""
    tag = message.delivery_tag if isinstance(message, aio_pika.IncomingMessage) else None
    if not tag or message.processed:
        return None
    try:
        channel = message.channel
    except aio_pika.exceptions.ChannelInvalidStateError:
        return None
    group = _GROUPS.get(channel)
    if group is None:
        group = _GROUPS[channel] = ChannelAcks(channel)
    return group, tag


def received(message: Any) -> None:
    """Call first thing for every delivery: it is in hand until acknowledged or settled."""
    found = _group_of(message)
    if found is not None:
        found[0].received(found[1])


async def ack(message: Any) -> None:
    found = _group_of(message)
    if found is None:
        await message.ack()
    else:
        await found[0].ack(found[1])


async def nack(message: Any, *, requeue: bool) -> None:
    """Never grouped: sent now, then settled (a later group may cover its tag only once it is sent)."""
    found = _group_of(message)
    await message.nack(requeue=requeue)
    if found is not None:
        found[0].settled(found[1])


async def reject(message: Any, *, requeue: bool) -> None:
    found = _group_of(message)
    await message.reject(requeue=requeue)
    if found is not None:
        found[0].settled(found[1])


async def flush_held() -> None:
    """Send every held acknowledgement of this process now (a graceful stop, before the channels close)."""
    await asyncio.gather(*(group.drain() for group in list(_GROUPS.values())), return_exceptions=True)
