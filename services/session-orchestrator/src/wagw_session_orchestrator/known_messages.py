"""What this replica remembers of the outbound messages it stored or read lately: only the fields that
never change once a message is stored (its tenant, session and chat).

They let the report of a status step build its event and apply its guarded update in one round trip,
without reading the message first. Nothing that can go stale is kept: the status, the timeline and the
worker the message was handed to are checked by the update's own filter, and a report the filter
refuses (a duplicate, a step overtaken by a later one, a worker the message was taken from) takes the
full path: read the message, then decide."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

CAPACITY = 50_000  # about the messages of a few minutes at full speed; the oldest are forgotten first
_FACTS = ("_id", "tenant_id", "session_id", "chat")


class KnownMessages:
    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._facts: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def remember(self, message: dict[str, Any]) -> None:
        if message.get("direction") != "outbound":
            return  # inbound messages get no status reports
        self._facts[message["_id"]] = {name: message[name] for name in _FACTS}
        while len(self._facts) > self.capacity:
            self._facts.popitem(last=False)

    def facts(self, message_id: str) -> dict[str, Any] | None:
        return self._facts.get(message_id)

    def __len__(self) -> int:
        return len(self._facts)
