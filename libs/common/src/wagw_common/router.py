"""How a service declares what it consumes: one router per service, one line per handler.

Each handler is named once, beside the queue it is consumed from and that queue's options
(ordering, inbox, prefetch). The queue's bindings are generated from the handled types (a command's
or query's type on the commands exchange, an event's on the events exchange, a worker report's on the
uplink), so a type is bound only when something handles it (a queue bound on demand is declared
without them, and its service binds each one at run time while it wants that type). Every handler has the same shape,
`async def handler(envelope, deps)`, where `deps` is the service's one frozen dependency object.

    router = Router("worker-registry")
    commands = router.queue(topology.REGISTRY_COMMANDS)
    commands.on("worker.list", queries.when_fleet_requested_list_workers)
    ...
    subscriptions = router.subscriptions(deps)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Generic, Iterator, TypeVar

from . import topology
from .consumer import Subscription
from .contracts import CATALOG, Kind
from .envelope import Envelope
from .topology import QueueSpec

Deps = TypeVar("Deps")
# Called with the envelope and the deps; a queue with a guard also passes what the guard adds (e.g. `speaker=`).
DepsHandler = Callable[..., Awaitable[Any]]
# Wraps every handler of a queue once the dependencies are known (e.g. "only what a worker says of itself").
Guard = Callable[[Callable[[Envelope], Awaitable[Any]], Any], Callable[[Envelope], Awaitable[Any]]]

# Where a message of each kind is published, hence what a queue handling it is bound to.
EXCHANGE_OF_KIND: dict[Kind, str] = {
    Kind.COMMAND: topology.COMMANDS,
    Kind.QUERY: topology.COMMANDS,
    Kind.EVENT: topology.EVENTS,
    Kind.WORKER_UPLINK: topology.WORKER_UPLINK,
}


class RouterError(ValueError):
    """A router that cannot be right: raised when the service module is imported, not at run time."""


@dataclass(frozen=True)
class Route:
    message_type: str
    handler: DepsHandler
    # The binding's routing key when it is not the type itself (a sharded command: `message.send.3`).
    routing_key: str | None = None


@dataclass
class QueueRoutes(Generic[Deps]):
    """One queue of a service: its handlers and how they are consumed."""

    spec: QueueSpec
    # Messages with the same key (e.g. a session id) are handled one after another, in delivery order.
    ordered_by: Callable[[Envelope], str | None] | None = None
    # False: the handlers are idempotent by themselves, and the inbox write per message is saved.
    inbox: bool = True
    # A number, or a function of the service's dependencies (a setting: the dispatcher's concurrency).
    prefetch: int | Callable[[Any], int] | None = None
    # False: messages reach the queue by its name through the default exchange (nothing to bind).
    bound: bool = True
    # Set to when the service binds a type (said in the topology reference): the queue is declared with
    # no binding and the service binds each handled type at run time, only while it wants that type
    # (`bindings()` are the ones it may make), so a type nobody wants costs no delivery.
    bound_on_demand: str | None = None
    guard: Guard | None = None
    routes: dict[str, Route] = field(default_factory=dict)

    def on(self, message_type: str, handler: DepsHandler, *, routing_key: str | None = None) -> DepsHandler:
        contract = CATALOG.get(message_type)
        if contract is None:
            raise RouterError(f"{self.spec.name}: no contract declares {message_type!r}")
        if self.bound and contract.kind not in EXCHANGE_OF_KIND:
            raise RouterError(f"{self.spec.name}: a {contract.kind.value} ({message_type}) "
                              "is never published to a service")
        if message_type in self.routes:
            raise RouterError(f"{self.spec.name}: {message_type!r} has two handlers")
        self.routes[message_type] = Route(message_type, handler, routing_key)
        return handler

    def bindings(self) -> tuple[tuple[str, str], ...]:
        if not self.bound:
            return ()
        return tuple(sorted({(EXCHANGE_OF_KIND[CATALOG[r.message_type].kind], r.routing_key or r.message_type)
                             for r in self.routes.values()}))

    def declared(self) -> QueueSpec:
        """The queue as it is declared: its catalogue entry with the bindings its handlers need (none
        when they are made on demand)."""
        bindings = self.bindings()
        clash = set(bindings) & set(self.spec.retired_bindings)
        if clash:
            raise RouterError(f"{self.spec.name}: {sorted(clash)} both bound and retired "
                              "(the declaration would unbind it)")
        return replace(self.spec, bindings=() if self.bound_on_demand is not None else bindings)

    def subscription(self, deps: Any) -> Subscription:
        handlers: dict[str, Callable[[Envelope], Awaitable[Any]]] = {}
        for route in self.routes.values():
            bound_handler = _bind(route.handler, deps)
            handlers[route.message_type] = self.guard(bound_handler, deps) if self.guard else bound_handler
        prefetch = self.prefetch(deps) if callable(self.prefetch) else self.prefetch
        return Subscription(self.declared(), handlers, prefetch=prefetch, use_inbox=self.inbox,
                            serialize_by=self.ordered_by)


def _bind(handler: DepsHandler, deps: Any) -> Callable[[Envelope], Awaitable[Any]]:
    async def handle(envelope: Envelope, **context: Any) -> Any:
        return await handler(envelope, deps, **context)

    handle.__name__ = getattr(handler, "__name__", "handler")
    handle.__doc__ = handler.__doc__
    return handle


class Router(Generic[Deps]):
    def __init__(self, service: str):
        self.service = service
        self._queues: list[QueueRoutes[Deps]] = []

    def queue(self, spec: QueueSpec, *, ordered_by: Callable[[Envelope], str | None] | None = None,
              inbox: bool = True, prefetch: int | Callable[[Any], int] | None = None, bound: bool = True,
              bound_on_demand: str | None = None, guard: Guard | None = None) -> QueueRoutes[Deps]:
        if any(q.spec.name == spec.name for q in self._queues):
            raise RouterError(f"{self.service}: queue {spec.name} declared twice")
        if bound_on_demand is not None and not bound:
            raise RouterError(f"{self.service}: {spec.name} is bound on demand, so it must be a bound queue")
        queue = QueueRoutes[Deps](spec, ordered_by=ordered_by, inbox=inbox, prefetch=prefetch, bound=bound,
                                  bound_on_demand=bound_on_demand, guard=guard)
        self._queues.append(queue)
        return queue

    def __iter__(self) -> Iterator[QueueRoutes[Deps]]:
        return iter(self._queues)

    def handled_types(self) -> set[str]:
        return {t for q in self._queues for t in q.routes}

    def specs(self) -> list[QueueSpec]:
        """Every queue of the service as declared, bindings included (the topology reference)."""
        return [q.declared() for q in self._queues]

    def check(self) -> None:
        """What a test asserts of every router: each queue handles something, and the catalogue of
        queues (topology.SERVICE_QUEUES) lists exactly the queues this router consumes."""
        for queue in self._queues:
            if not queue.routes:
                raise RouterError(f"{self.service}: queue {queue.spec.name} has no handler")
        declared = {q.spec.name for q in self._queues}
        catalogued = {spec.name for spec in topology.SERVICE_QUEUES.get(self.service, ())}
        if declared != catalogued:
            raise RouterError(f"{self.service}: router consumes {sorted(declared)}, "
                              f"topology lists {sorted(catalogued)}")

    def subscriptions(self, deps: Deps) -> list[Subscription]:
        self.check()
        return [q.subscription(deps) for q in self._queues]
