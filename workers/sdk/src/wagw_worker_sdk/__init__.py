"""A small SDK for workers of the WhatsApp Gateway: everything of the worker protocol except WhatsApp.

`Worker` registers, heartbeats, consumes its own command queue and dispatches each command to a
`WorkerHandler` (the part that talks to WhatsApp: Baileys, whatsmeow, or the simulator). `BrokerLink`
is the broker connection; one link can carry many workers (the load-test fleet). `MediaStorage` stores
a received file in the platform's object store and describes it for the inbound report."""

from .link import BrokerLink
from .media import MediaStorage
from .queries import QueryRefused
from .uplink import WorkerUplink
from .usage import ProcessUsage, ShareOfProcessUsage
from .worker import Worker, WorkerHandler, WorkerIdentity

__all__ = ["BrokerLink", "MediaStorage", "ProcessUsage", "QueryRefused", "ShareOfProcessUsage", "Worker",
           "WorkerHandler",
           "WorkerIdentity", "WorkerUplink"]
