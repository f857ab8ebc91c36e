"""Every message type of the platform, declared once. Producers and consumers both look here."""

from __future__ import annotations

from ..envelope import MalformedMessage
from . import chat_actions, fleet, identity, message_changes, messages, received, sessions, webhooks, workers
from . import worker_queries
from .base import Contract, Kind, StrictSchema

CATALOG: dict[str, Contract] = {}
for _contract in (*sessions.CONTRACTS, *messages.CONTRACTS, *received.CONTRACTS, *message_changes.CONTRACTS,
                  *chat_actions.CONTRACTS, *workers.CONTRACTS, *worker_queries.CONTRACTS, *fleet.CONTRACTS,
                  *webhooks.CONTRACTS,
                  *identity.CONTRACTS):
    if _contract.type in CATALOG:
        raise RuntimeError(f"message type declared twice: {_contract.type}")
    CATALOG[_contract.type] = _contract


def contract_for(message_type: str) -> Contract:
    try:
        return CATALOG[message_type]
    except KeyError:
        raise MalformedMessage(f"unknown message type {message_type!r}") from None


def of_kind(kind: Kind) -> list[Contract]:
    return [c for c in CATALOG.values() if c.kind is kind]


__all__ = ["CATALOG", "Contract", "Kind", "StrictSchema", "contract_for", "of_kind"]
