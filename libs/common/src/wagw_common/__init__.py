"""Shared building blocks of the WhatsApp Gateway platform: contracts, broker, storage, service scaffolding."""
