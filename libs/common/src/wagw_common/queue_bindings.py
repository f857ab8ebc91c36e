"""The broker side of a queue bound on demand (`Router.queue(bound_on_demand=...)`): declared with no
binding, its service binds each type it handles only while it wants that type. What "wanted" means,
and what keeps a binding in place while a concurrent change unbinds, is each service's own (the
dispatcher's endpoints under a Redis lock, realtime's connected clients under a replica's lock)."""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from .topology import QueueSpec

Bindings = tuple[tuple[str, str], ...]


class BindingBroker(Protocol):
    async def set_bindings(self, queue: QueueSpec, bind: Bindings = (), unbind: Bindings = ()) -> None: ...


class QueueBindings:
    def __init__(self, broker: BindingBroker, queue: QueueSpec, bindable: Bindings):
        """`queue` as consumed (a replica's own for a per-replica queue); `bindable`: (exchange, type) of
        every type its handlers take, i.e. `QueueRoutes.bindings()`."""
        self.broker, self.queue = broker, queue
        self.bindable = {key: (exchange, key) for exchange, key in bindable}

    @classmethod
    def of(cls, broker: BindingBroker, routes: Any, replica_id: str | None = None) -> "QueueBindings":
        """For a router's queue (`QueueRoutes`); a per-replica one needs the replica's id (its consumer's)."""
        spec = routes.declared()
        if spec.per_replica:
            if replica_id is None:
                raise ValueError(f"{spec.name} is a queue per replica: say which replica's")
            spec = spec.for_replica(replica_id)
        return cls(broker, spec, routes.bindings())

    def of_types(self, types: Iterable[str]) -> Bindings:
        return tuple(self.bindable[t] for t in sorted(set(types)) if t in self.bindable)

    async def bind(self, types: Iterable[str]) -> Bindings:
        wanted = self.of_types(types)
        await self.broker.set_bindings(self.queue, bind=wanted)
        return wanted

    async def unbind(self, types: Iterable[str]) -> None:
        await self.broker.set_bindings(self.queue, unbind=self.of_types(types))

    async def bind_only(self, types: Iterable[str]) -> Bindings:
        """Bind these and unbind every other type the queue could take."""
        wanted = self.of_types(types)
        unwanted = tuple(b for b in self.bindable.values() if b not in wanted)
        await self.broker.set_bindings(self.queue, bind=wanted, unbind=unwanted)
        return wanted
