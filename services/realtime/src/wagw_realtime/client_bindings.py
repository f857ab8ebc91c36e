"""Which events reach this replica's queue: only the types some client connected here can receive. With
no one connected (or no administrator), an event costs the replica no broker delivery at all.

Types are bound before the connection that needs them is acknowledged (or before a `reauth` that makes
a connection an administrator's is answered), so a client never misses an event it is entitled to once
it is told it is connected; a type is unbound when the last connection here that receives it leaves.
The queue is this replica's own, so one lock in the process is enough: a connect waits while the last
disconnect's unbinding runs, and binds again after it. Routing keys are event types (the tenant is
not in them), so the queue is bound by type, not by tenant."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Iterable

from wagw_common.logging import get_logger
from wagw_common.queue_bindings import QueueBindings
from wagw_common.tokens import ADMIN_ROLE

from .auth import API_KEY, Identity
from .catalog import ADMINS, LOGINS_ENDED, PUSHES, TENANT

log = get_logger(__name__)

TENANT_TYPES = frozenset(t for t, push in PUSHES.items() if push.audience == TENANT)
ADMIN_TYPES = frozenset(t for t, push in PUSHES.items() if push.audience == ADMINS)


def receivable(identity: Identity) -> frozenset[str]:
    """The event types a connection of this identity can be pushed (or ended by)."""
    if identity.kind == API_KEY:  # its session's room only
        return TENANT_TYPES
    # A user's own room gets every tenant event, and their logins' end closes it.
    return TENANT_TYPES | {LOGINS_ENDED} | (ADMIN_TYPES if identity.role == ADMIN_ROLE else frozenset())


class ClientBindings:
    def __init__(self, queue: QueueBindings):
        self.queue = queue
        self._receivers: Counter[str] = Counter()  # event type -> connections here that receive it
        self._bound: set[str] = set()
        self._lock = asyncio.Lock()

    @property
    def bound(self) -> frozenset[str]:
        return frozenset(self._bound)

    async def admit(self, types: Iterable[str]) -> None:
        """Before a connection is acknowledged: its types bound. If the broker refuses, it raises and
        nothing is counted (the connection is refused)."""
        types = set(types)
        async with self._lock:
            missing = types - self._bound
            if missing:
                await self.queue.bind(missing)
                self._bound |= missing
            self._receivers.update(types)

    async def release(self, types: Iterable[str]) -> None:
        """When a connection leaves: the types no other connection here receives are unbound. An
        unbinding that fails leaves them bound (more deliveries than needed, never fewer)."""
        types = set(types)
        async with self._lock:
            self._receivers.subtract(types)
            gone = {t for t in types if self._receivers[t] <= 0}
            for t in gone:
                del self._receivers[t]
            unwanted = gone & self._bound
            if not unwanted:
                return
            try:
                await self.queue.unbind(unwanted)
                self._bound -= unwanted
            except Exception as exc:
                log.warning("realtime.unbind_failed", types=sorted(unwanted), error=repr(exc))

    async def restore(self) -> None:
        """Bind exactly what the connections here receive, and unbind the rest: at start-up (no one
        connected yet) and after a broker reconnect (a queue the broker lost comes back bare)."""
        async with self._lock:
            wanted = {t for t, n in self._receivers.items() if n > 0}
            await self.queue.bind_only(wanted)
            self._bound = wanted
        log.info("realtime.bindings_restored", bound=sorted(wanted))
