"""The parts of the bench, in the order a full run takes them."""

from __future__ import annotations

from . import accepted, completed, failover, heartbeats, realtime, scaling, webhooks

RUNNERS = {
    "sends": accepted.run,
    "completed": completed.run,
    "heartbeats": heartbeats.run,
    "webhooks": webhooks.run,
    "realtime": realtime.run,
    "failover": failover.run,
    "scaling": scaling.run,
}
ORDER = list(RUNNERS)
