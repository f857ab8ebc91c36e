"""Everything the handlers depend on: one frozen object, built once by app.py (tests build it with
their own stand-ins for what lies outside the service)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from .deliveries_store import DeliveriesStore
from .event_bindings import EventBindings
from .endpoints_store import EndpointsStore
from .events import WebhookEvents
from .fresh_deliveries import FreshDeliveries
from .gate import EndpointGate
from .retries import RetryPolicy
from .sender import Attempt


class Jobs(Protocol):
    async def now(self, delivery_id: str, *, cycle: int = 1, attempt: int = 1, subject: str | None = None,
                  ticket: str | None = None) -> None: ...

    async def later(self, delivery_id: str, *, cycle: int, attempt: int, delay: float, wait: float,
                    deferrals: int = 0, subject: str | None = None, ticket: str | None = None) -> None: ...

    async def put_off(self, job: dict[str, Any], *, turn: float | None = None,
                      subject: str | None = None) -> float: ...


Post = Callable[..., Awaitable[Attempt]]  # post(url=, secrets=, message_id=, body=, headers=): sender.WebhookClient
Screen = Callable[[str], Awaitable[str | None]]  # why a URL may not be registered, or None


@dataclass(frozen=True)
class Deps:
    endpoints: EndpointsStore
    deliveries: DeliveriesStore
    jobs: Jobs
    events: WebhookEvents
    bindings: EventBindings  # the events queue bound to what enabled endpoints want
    post: Post
    screen: Screen
    gate: EndpointGate
    policy: RetryPolicy
    attempt_timeout: float
    disable_after: float
    secret_overlap: float
    delivery_concurrency: int  # delivery attempts a replica runs at once (the deliveries queue's prefetch)
    fresh: FreshDeliveries = field(default_factory=FreshDeliveries)
