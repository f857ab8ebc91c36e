"""Every message realtime consumes: the domain events it pushes, and the one that ends a user's logins."""

from __future__ import annotations

from wagw_common import topology
from wagw_common.router import Router

from . import handlers
from .catalog import PUSHES
from .connections import Edge
from .settings import SERVICE

LOGINS_ENDED = "user.logins_ended"  # not pushed: it closes the user's connections

router: Router[Edge] = Router(SERVICE)

# Deliveries held at once. A burst with the service's default (32) stalled on every acknowledgement's
# round trip through a busy broker. A push is cheap to hold, and pushes were handled side by side before
# too (clients order a session's events by their `sequence`).
PUSH_PREFETCH = 256

# A queue per replica (topology.REALTIME_EVENTS): every replica gets every event and pushes it to its
# own clients only, instead of one replica relaying it to the others through the broker. Bound to
# each type the push catalogue lists (catalog.PUSHES), by name. No inbox (realtime keeps nothing
# durable): a redelivered event is pushed again, which the frontend guide tells clients to expect.
events = router.queue(topology.REALTIME_EVENTS, inbox=False, prefetch=PUSH_PREFETCH)
for event_type in PUSHES:
    events.on(event_type, handlers.when_domain_event_occurred_push_to_clients)
events.on(LOGINS_ENDED, handlers.when_logins_ended_close_the_user_room)
