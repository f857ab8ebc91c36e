"""API keys: user-level keys with scopes (optionally for one session), and sessions' own keys.
Managed only by a logged-in user; a key never manages keys. Another tenant's key id is a 404."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from wagw_common.logging import get_logger

from ..apidoc import api_doc
from ..auth import user_required
from ..callers import CALLER
from ..deps import gateway_of
from ..errors import not_found
from ..idempotent import idempotent
from ..schemas import ApiKeyIssued, ApiKeyView, CreateApiKey
from ..validation import load_body
from .paths import API, param
from .sessions import SESSION, fetch_session

log = get_logger(__name__)
routes = web.RouteTableDef()
_CREATE, _VIEW, _ISSUED = CreateApiKey(), ApiKeyView(), ApiKeyIssued()
KEY = f"{API}/api-keys/{param('key_id')}"
TAGS = ("api keys",)


def _fields(doc: dict[str, Any]) -> dict[str, Any]:
    return {"key_id": doc["_id"], "kind": doc.get("kind", "session"), "name": doc.get("name", "session key"),
            "prefix": doc["prefix"], "scopes": doc.get("scopes") or ["*"], "session_id": doc.get("session_id"),
            "created_at": doc["created_at"], "last_used_at": doc.get("last_used_at"),
            "rotated_at": doc.get("rotated_at")}


def key_view(doc: dict[str, Any]) -> dict[str, Any]:
    return _VIEW.dump(_fields(doc))


def issued(key: str, doc: dict[str, Any]) -> dict[str, Any]:
    return _ISSUED.dump({"key": _fields(doc), "api_key": key})


@routes.post(f"{API}/api-keys")
@api_doc(tags=TAGS, body=CreateApiKey, responses={201: ApiKeyIssued})
@user_required
@idempotent(secret_fields=("api_key",))
async def create_api_key(request: web.Request) -> web.Response:
    """Create a user-level API key with the given scopes, optionally for one session; the key is shown only here."""
    gw, tenant_id = gateway_of(request), request[CALLER].tenant_id
    body = await load_body(request, _CREATE)
    if body["session_id"] is not None:
        await fetch_session(request, body["session_id"])  # one of the caller's own, or 404
    key, doc = await gw.api_keys.create_user_key(tenant_id=tenant_id, name=body["name"], scopes=body["scopes"],
                                                 session_id=body["session_id"])
    log.info("api_key.created", key_id=doc["_id"], scopes=doc["scopes"], session_id=doc["session_id"])
    return web.json_response(issued(key, doc), status=201)


@routes.get(f"{API}/api-keys")
@api_doc(tags=TAGS, responses={200: {"keys": [ApiKeyView]}})
@user_required
async def list_api_keys(request: web.Request) -> web.Response:
    """The caller's live API keys (session keys included), with their prefix and when each was last used."""
    docs = await gateway_of(request).api_keys.list(request[CALLER].tenant_id)
    return web.json_response({"keys": [key_view(doc) for doc in docs]})


@routes.get(KEY)
@api_doc(tags=TAGS, responses={200: {"key": ApiKeyView}})
@user_required
async def get_api_key(request: web.Request) -> web.Response:
    """One of the caller's API keys."""
    doc = await gateway_of(request).api_keys.get(request[CALLER].tenant_id, request.match_info["key_id"])
    if doc is None:
        raise not_found("API key")
    return web.json_response({"key": key_view(doc)})


@routes.delete(KEY)
@api_doc(tags=TAGS, responses={204: None})
@user_required
async def revoke_api_key(request: web.Request) -> web.Response:
    """Revoke an API key: it stops working at once, on every replica."""
    key_id = request.match_info["key_id"]
    if not await gateway_of(request).api_keys.revoke(request[CALLER].tenant_id, key_id):
        raise not_found("API key")
    log.info("api_key.revoked", key_id=key_id)
    return web.Response(status=204)


@routes.post(f"{KEY}/rotate")
@api_doc(tags=TAGS, responses={200: ApiKeyIssued})
@user_required
@idempotent(secret_fields=("api_key",))
async def rotate_api_key(request: web.Request) -> web.Response:
    """Replace a key's secret (same id, name, scopes and session); the old secret stops working at once."""
    key_id = request.match_info["key_id"]
    rotated = await gateway_of(request).api_keys.rotate(request[CALLER].tenant_id, key_id)
    if rotated is None:
        raise not_found("API key")
    log.info("api_key.rotated", key_id=key_id)
    return web.json_response(issued(*rotated))


@routes.post(f"{SESSION}/api-key")
@api_doc(tags=TAGS, responses={200: ApiKeyIssued})
@user_required
@idempotent(secret_fields=("api_key",))
async def rotate_session_key(request: web.Request) -> web.Response:
    """A new API key for a session, replacing its current one (which stops working at once)."""
    gw, tenant_id, session_id = gateway_of(request), request[CALLER].tenant_id, request.match_info["session_id"]
    await fetch_session(request, session_id)  # one of the caller's own, or 404
    current = await gw.api_keys.session_key(tenant_id, session_id)
    rotated = await gw.api_keys.rotate(tenant_id, current["_id"]) if current is not None else None
    if rotated is None:  # none yet (or revoked meanwhile): issue one
        key, _ = await gw.api_keys.create(session_id=session_id, tenant_id=tenant_id)
        created = await gw.api_keys.session_key(tenant_id, session_id)
        if created is None:
            raise RuntimeError(f"the key just issued for session {session_id} is gone (revoked at once?)")
        rotated = key, created
    log.info("api_key.session_key_rotated", session_id=session_id)
    return web.json_response(issued(*rotated))
