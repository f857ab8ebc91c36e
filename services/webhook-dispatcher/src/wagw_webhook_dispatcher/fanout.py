"""Which endpoints want an event, and the body they receive: pure functions, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from wagw_common.contracts.webhooks import SUBSCRIBABLE_FAMILIES, subscribable_events, webhook_body

# The event families a filter may name with a wildcard (`message.*`); the dispatcher's events queue
# is bound to each of their event types by name (router.py).
DELIVERED_FAMILIES = SUBSCRIBABLE_FAMILIES
DELIVERABLE_EVENTS: tuple[str, ...] = tuple(c.type for c in subscribable_events())
ALL_EVENTS = "*"


def _family_wildcard(event_filter: str) -> str | None:
    """`message.*` selects every message event; returns the family, or None for other filters."""
    family, dot, rest = event_filter.partition(".")
    return family if dot and rest == "*" else None


def invalid_filters(filters: Iterable[str]) -> list[str]:
    """Filters that can never match: refused at registration rather than silently never delivered."""
    known = set(DELIVERABLE_EVENTS)
    return [
        f for f in filters
        if f != ALL_EVENTS and f not in known and _family_wildcard(f) not in DELIVERED_FAMILIES
    ]


def types_selected(filters: Iterable[str]) -> set[str]:
    """The deliverable event types a filter list selects (what the events queue must be bound to)."""
    filters = list(filters)
    return {event_type for event_type in DELIVERABLE_EVENTS if filter_matches(filters, event_type)}


def filter_matches(filters: Iterable[str], event_type: str) -> bool:
    family = event_type.split(".", 1)[0]
    return any(f == ALL_EVENTS or f == event_type or _family_wildcard(f) == family for f in filters)


def endpoint_wants(endpoint: Mapping[str, Any], *, tenant_id: str, event_type: str, session_id: str | None) -> bool:
    if not endpoint.get("enabled") or endpoint.get("tenant_id") != tenant_id:
        return False
    restriction = endpoint.get("session_id")
    if restriction is not None and restriction != session_id:
        return False
    return filter_matches(endpoint.get("events") or (), event_type)


def matching_endpoints(endpoints: Iterable[Mapping[str, Any]], *, tenant_id: str, event_type: str,
                       session_id: str | None) -> list[Mapping[str, Any]]:
    return [e for e in endpoints
            if endpoint_wants(e, tenant_id=tenant_id, event_type=event_type, session_id=session_id)]


def webhook_payload(event_type: str, event_time: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    """The body Standard Webhooks recommends: the event type, when it happened, and its data."""
    return webhook_body(event_type, event_time.isoformat().replace("+00:00", "Z"), dict(data))
