"""Test doubles shared by every service's tests, declared once.

`InMemoryBroker` routes by the real topology to queues consumed by the real `Consumer` (contract
validation, inbox, ordering, rejections, retries, dead letters), so a handler test runs what
production runs minus the network; `serve` starts a service's router on it. The other doubles stand
in for what lies outside a service: another service answering queries (`ScriptedRpc`) and Redis's
plain key/value commands (`MemoryRedis`), MongoDB collections for stores whose queries the
integration tests check against the real server (`MemoryDatabase`)."""

from .broker import DeliveredMessage, InMemoryBroker, Published, SlowBindingBroker
from .mongo import MemoryCollection, MemoryDatabase
from .redis import MemoryRedis
from .rpc import ScriptedRpc
from .serving import MemoryInbox, serve

__all__ = ["DeliveredMessage", "InMemoryBroker", "MemoryCollection", "MemoryDatabase", "MemoryInbox", "MemoryRedis",
           "Published", "ScriptedRpc", "SlowBindingBroker", "serve"]
