"""Identity questions other services ask the gateway over the broker (queue `gateway.queries`).

The gateway owns API keys, stored only as SHA-256 hashes; a service that accepts a key (realtime,
for a Socket.IO connection limited to the key's session) sends the key's hash and gets back whom
the key speaks for. The key itself never crosses the broker. It owns accounts too: a service that
accepts access tokens (realtime) asks `account.standing` and applies the gateway's own rule
(wagw_common.token_standing), so a token the gateway refuses is refused there too."""

from __future__ import annotations

from wagw_common.contracts.identity import ALL_SCOPES
from wagw_common.envelope import Envelope
from wagw_common.errors import NotFound

from .deps import Deps


async def when_api_key_resolve_requested_answer_its_owner(envelope: Envelope, deps: Deps) -> dict:
    # The same live-key rule as ApiKeyStore.lookup (by hash, not revoked), on the same unique index.
    doc = await deps.api_keys.collection.find_one({"hash": envelope.data["key_hash"], "revoked": False})
    if doc is None:
        raise NotFound("unknown or revoked API key")
    # ...and as the HTTP edge: a deactivated account's keys speak for nobody.
    state = await deps.accounts.get(doc["tenant_id"])
    if state is None or not state.active:
        raise NotFound("unknown or revoked API key")
    # A session API key holds every right on its own session; user-level keys list their scopes.
    return {"key_id": doc["_id"], "tenant_id": doc["tenant_id"], "session_id": doc.get("session_id"),
            "scopes": list(doc.get("scopes") or [ALL_SCOPES])}


async def when_account_standing_requested_answer_it(envelope: Envelope, deps: Deps) -> dict:
    state = await deps.accounts.get(envelope.data["user_id"])
    if state is None:
        raise NotFound("no such account")
    return {"user_id": state.user_id, "active": state.active, "token_generation": state.token_generation}
