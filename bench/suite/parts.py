"""The parts of the bench, in the order a full run takes them."""

from __future__ import annotations

from . import accepted, completed, failover, heartbeats, realtime, webhooks

RUNNERS = {
    "sends": accepted.run,
    "completed": completed.run,
    "heartbeats": heartbeats.run,
    "webhooks": webhooks.run,
    "realtime": realtime.run,
    "failover": failover.run,
}
ORDER = list(RUNNERS)
