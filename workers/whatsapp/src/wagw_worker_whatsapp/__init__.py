"""A real WhatsApp worker: whatsmeow (through neonize) behind the worker SDK. The library sits behind
the worker's own narrow interface (`client.WhatsAppClient`), so the sessions logic is tested against
a fake of it and the library is confined to one adapter."""

VERSION = "0.1.0"
