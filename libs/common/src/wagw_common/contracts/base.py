"""How a contract is declared: a message type, who sends it, and the marshmallow schema of its data."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from marshmallow import RAISE, Schema, ValidationError

from ..envelope import MalformedMessage

# Spelled out here: inside `Contract`, `type` is the message type's field.
SchemaClass = type[Schema]


class Kind(enum.Enum):
    COMMAND = "command"  # gateway -> a service, fire and forget (durably queued)
    QUERY = "query"  # gateway or service -> a service, request/reply
    EVENT = "event"  # a service -> anyone: something happened
    WORKER_UPLINK = "worker-uplink"  # a worker -> the platform
    WORKER_COMMAND = "worker-command"  # the platform -> one worker


class StrictSchema(Schema):
    """Unknown fields are an error: a typo must not pass silently."""

    class Meta:
        unknown = RAISE


@dataclass(frozen=True)
class Contract:
    type: str
    kind: Kind
    schema: SchemaClass
    summary: str
    example: dict[str, Any]
    reply: SchemaClass | None = None
    reply_example: dict[str, Any] | None = None
    tags: tuple[str, ...] = field(default=())

    @cached_property
    def _schema(self) -> Schema:
        # One instance per contract, reused: building a schema (and its nested ones) for every message
        # cost more than the validation itself on the send path (docs/performance.md).
        return self.schema()

    @cached_property
    def _reply_schema(self) -> Schema | None:
        return self.reply() if self.reply else None

    def reply_json_ready(self, result: Any) -> Any:
        """A request's result as its reply contract serialises it (as it is, without one)."""
        return self._reply_schema.dump(result) if self._reply_schema is not None else result

    def load(self, data: Any) -> dict[str, Any]:
        """Validate `data` against this contract; raises MalformedMessage with field details."""
        try:
            loaded: dict[str, Any] = self._schema.load(data)
            return loaded
        except ValidationError as exc:
            raise MalformedMessage(f"data does not match {self.type}", exc.messages) from exc

    def serialise(self, data: dict[str, Any]) -> dict[str, Any]:
        """JSON-ready values of data that was validated already (as `load` returned it): no second check."""
        dumped: dict[str, Any] = self._schema.dump(data)
        return dumped

    def dump(self, data: dict[str, Any], *, loaded: bool = False) -> dict[str, Any]:
        """Serialise outgoing data to JSON-ready values, and validate that the same way as incoming.
        `loaded`: the data came out of a `load` of this contract's schema (a request body at the edge,
        plus the ids its producer mints), which validated it already: it is only serialised."""
        dumped = self.serialise(data)
        if loaded:
            return dumped
        errors = self._schema.validate(dumped)
        if errors:
            raise MalformedMessage(f"refusing to send invalid {self.type}", errors)
        return dumped
