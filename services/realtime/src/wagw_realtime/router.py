"""Every message realtime consumes: the domain events it pushes, and the one that ends a user's logins."""

from __future__ import annotations

from wagw_common import topology
from wagw_common.router import Router

from . import handlers
from .catalog import LOGINS_ENDED, PUSHES
from .connections import Edge
from .settings import SERVICE

router: Router[Edge] = Router(SERVICE)

# Deliveries held at once. A burst with the service's default (32) stalled on every acknowledgement's
# round trip through a busy broker. A push is cheap to hold, and pushes were handled side by side before
# too (clients order a session's events by their `sequence`).
PUSH_PREFETCH = 256

# A queue per replica (topology.REALTIME_EVENTS): every replica gets the events its own clients can
# receive and pushes them to those clients only, instead of one replica relaying each event to the
# others through the broker. It may take each type the push catalogue lists (catalog.PUSHES), bound
# by name only while a client connected to the replica can receive it (client_bindings.py). No inbox
# (realtime keeps nothing durable): a redelivered event is pushed again, which the frontend guide
# tells clients to expect.
events = router.queue(topology.REALTIME_EVENTS, inbox=False, prefetch=PUSH_PREFETCH, bound_on_demand=(
    "while a client connected to the replica can receive the type (a tenant's events: any client; worker "
    "events: an administrator; `user.logins_ended`: a user's token): bound before the connection is "
    "acknowledged, unbound when the last such client of the replica leaves"))
for event_type in PUSHES:
    events.on(event_type, handlers.when_domain_event_occurred_push_to_clients)
events.on(LOGINS_ENDED, handlers.when_logins_ended_close_the_user_room)
