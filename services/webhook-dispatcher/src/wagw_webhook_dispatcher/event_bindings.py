"""Which event types reach the events queue: the ones some enabled endpoint subscribes to, over all
tenants. An event nobody wants then costs no broker delivery and no matching (most endpoints take a
few types: one that wants `message.sent` only spares three deliveries of every message sent).

Bindings are broker state every replica shares. Adding one is always safe; removing one is safe only
if no replica is adding it for an endpoint it is about to acknowledge. So both happen under one Redis
lock: a write that makes an endpoint want more (create, enable, a new filter) binds its types and then
writes, inside the lock, before its command is answered; a reconciliation reads what the enabled
endpoints want, inside the lock, binds that and unbinds the rest. Either the write came first and the
reconciliation reads it, or the reconciliation came first and the binding is made after it. A lock
that expired during a slow write is made up for by binding again, under the lock, after the write.
Without Redis a write binds anyway (adding is safe) and no reconciliation runs: the queue then gets
more than it needs, never less."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Iterable

from redis.exceptions import LockError, RedisError

from wagw_common.logging import get_logger
from wagw_common.queue_bindings import BindingBroker, Bindings, QueueBindings
from wagw_common.topology import QueueSpec

from .fanout import types_selected

log = get_logger(__name__)
LOCK_NAME = "webhook-dispatcher:event-bindings"
LOCK_SECONDS = 30  # far above what a binding and one write take: only a stalled holder loses it
LOCK_WAIT_SECONDS = 10


class EventBindings:
    def __init__(self, broker: BindingBroker, redis: Any, endpoints_collection: Any, queue: QueueSpec,
                 bindable: Bindings):
        """`bindable`: (exchange, event type) of every type the queue's handler takes."""
        self.redis, self.endpoints = redis, endpoints_collection
        self.queue = QueueBindings(broker, queue, bindable)

    def _lock(self) -> Any:
        return self.redis.lock(LOCK_NAME, timeout=LOCK_SECONDS, blocking_timeout=LOCK_WAIT_SECONDS)

    @asynccontextmanager
    async def wanting(self, filters: Iterable[str]) -> AsyncIterator[None]:
        """Around the write that makes an endpoint want `filters`: their types are bound before it."""
        types = types_selected(filters)
        lock = self._lock()
        try:
            held = await lock.acquire()
        except RedisError as exc:
            log.warning("webhook.bindings_unlocked", error=repr(exc))
            held = False
        try:
            await self.queue.bind(types)
            yield
        finally:
            if held and not await self._released(lock):
                # Expired during the write: a reconciliation may have unbound these meanwhile.
                async with self.wanting(types):
                    pass

    async def tidy(self) -> None:
        """After a change that may leave a type unwanted (delete, disable, a narrower filter): reconcile
        now, or leave it to the next maintenance tick if that fails, since the change itself is made."""
        try:
            await self.reconcile()
        except Exception as exc:
            log.warning("webhook.bindings_left_for_later", error=repr(exc))

    async def reconcile(self, *, again_if_stalled: bool = True) -> bool:
        """Bind what the enabled endpoints want and unbind the rest; False when it could not run now
        (the lock busy or Redis away: nothing is unbound then, which is never urgent)."""
        lock = self._lock()
        try:
            if not await lock.acquire():
                return False
        except RedisError as exc:
            log.warning("webhook.bindings_not_reconciled", error=repr(exc))
            return False
        try:
            filters = await self.endpoints.distinct("events", {"enabled": True})
            wanted = await self.queue.bind_only(types_selected(filters))
            log.info("webhook.bindings_reconciled", bound=[key for _, key in wanted])
        finally:
            stalled = not await self._released(lock)
        if stalled and again_if_stalled:
            # The lock expired while this ran: a write may have bound a type this then unbound.
            return await self.reconcile(again_if_stalled=False)
        return True

    @staticmethod
    async def _released(lock: Any) -> bool:
        """False if the lock had expired (someone else may have held it meanwhile)."""
        try:
            await lock.release()
        except LockError:
            return False
        except RedisError as exc:
            log.warning("webhook.bindings_unlock_failed", error=repr(exc))
        return True
