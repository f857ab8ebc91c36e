"""The dispatcher's own events (webhook.*), written with the state change that causes them (outbox),
then published to wagw.events. Nobody is bound to them yet: they are there for realtime, an audit
log or an operator's alerting to subscribe to."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from wagw_common.broker import Broker
from wagw_common.logging import get_logger
from wagw_common.outbox import OutboxRelay, outbox_entry
from wagw_common.storage import utc_now

log = get_logger(__name__)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


class WebhookEvents:
    def __init__(self, broker: Broker, endpoints_collection, deliveries_collection):
        self.broker = broker
        self.relays = {"endpoint": OutboxRelay(endpoints_collection, broker),
                       "delivery": OutboxRelay(deliveries_collection, broker)}

    def endpoint_disabled(self, endpoint: dict[str, Any], *, reason: str, message: str) -> dict[str, Any]:
        return outbox_entry(self.broker, "webhook.endpoint_disabled", {
            "tenant_id": endpoint["tenant_id"], "endpoint_id": endpoint["_id"], "reason": reason, "message": message,
            "failing_since": endpoint.get("failing_since"), "at": utc_now()}, subject=endpoint["_id"])

    def endpoint_enabled(self, endpoint: dict[str, Any]) -> dict[str, Any]:
        return outbox_entry(self.broker, "webhook.endpoint_enabled", {
            "tenant_id": endpoint["tenant_id"], "endpoint_id": endpoint["_id"], "at": utc_now()},
            subject=endpoint["_id"])

    def delivery_exhausted(self, delivery: dict[str, Any], *, attempts: int, status_code: int | None,
                           error: str | None) -> dict[str, Any]:
        return outbox_entry(self.broker, "webhook.delivery_exhausted", {
            "tenant_id": delivery["tenant_id"], "endpoint_id": delivery["endpoint_id"], "delivery_id": delivery["_id"],
            "event_id": delivery["event_id"], "event_type": delivery["event_type"], "attempts": attempts,
            "last_status_code": status_code, "last_error": error, "at": utc_now()}, subject=delivery["endpoint_id"])

    async def publish(self, kind: str, document_id: str, entries: list[dict[str, Any]]) -> None:
        """Publish what was just written; on failure the relay publishes it later, so this never raises."""
        try:
            await self.relays[kind].flush(document_id, entries)
        except Exception as exc:
            log.warning("webhook.event_publish_deferred", document_id=document_id, error=repr(exc))

    async def relay_stale(self, older_than: timedelta) -> int:
        return sum([await relay.relay_stale(older_than) for relay in self.relays.values()])


failing_message = "failing continuously since {since} (last error: {error})"


def failing_reason(failing_since: datetime, error: str | None) -> str:
    return failing_message.format(since=_iso(failing_since), error=error or "unknown")
