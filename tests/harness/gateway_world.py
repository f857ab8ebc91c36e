"""Tenants with one of everything (a connected session, a sent message, keys, a webhook endpoint and a
delivery), for the gateway's route-by-route tests; and extra gateway replicas with settings of their own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from pymongo import AsyncMongoClient

from .api import Customer, GatewayClient
from .flows import wait_until
from .infra import MONGO_URI
from .platform_run import PlatformRun
from .processes import ServiceProcess, free_port


@dataclass
class Tenant:
    customer: Customer
    user_id: str
    session_id: str
    session_key: str
    message_id: str
    key_id: str  # a user-level key (every scope, no session restriction)
    user_key: str
    endpoint_id: str
    delivery_id: str
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> this tenant's id

    @property
    def token(self) -> str:
        return self.customer.token


async def set_account(run: PlatformRun, email: str, **fields) -> None:
    """Change an account in the gateway's own database (to make the first administrator)."""
    client: AsyncMongoClient = AsyncMongoClient(MONGO_URI)
    try:
        db = client[run.services["gateway"].env["MONGODB_DATABASE"]]
        result = await db["users"].update_one({"email": email}, {"$set": fields})
        assert result.matched_count == 1, f"no account {email}"
    finally:
        await client.close()


async def connected_session(api: GatewayClient, http, run: PlatformRun, token: str, name: str) -> tuple[str, str]:
    """A session created, connected and scanned (CONNECTED); returns its id and API key."""
    _, created, _ = await api.request("POST", "/sessions", token=token, json={"name": name}, expect=201)
    session_id = created["session"]["session_id"]
    await api.request("POST", f"/sessions/{session_id}/connect", token=token, expect=202)

    async def qr_shown():
        status, _, _ = await api.request("GET", f"/sessions/{session_id}/qr", token=token)
        return status == 200

    await wait_until(qr_shown)
    worker_url = run.worker_url(next(iter(run.workers)))
    async with http.post(f"{worker_url}/sessions/{session_id}/scan") as scanned:
        assert scanned.status == 200, await scanned.text()

    async def connected():
        _, body, _ = await api.request("GET", f"/sessions/{session_id}", token=token)
        return body.get("session", {}).get("status") == "CONNECTED"

    await wait_until(connected)
    return session_id, created["api_key"]


async def build_tenant(run: PlatformRun, api: GatewayClient, http, sink_url: str) -> Tenant:
    customer = await api.sign_up()
    token = customer.token
    _, me, _ = await api.request("GET", "/users/me", token=token, expect=200)
    session_id, session_key = await connected_session(api, http, run, token, "world")
    _, accepted, _ = await api.request("POST", "/send", api_key=session_key,
                                       json={"to": "+628123456789", "text": "hello"}, expect=202)
    message_id = accepted["message_id"]

    async def stored():
        status, _, _ = await api.request("GET", f"/messages/{message_id}", token=token)
        return status == 200

    await wait_until(stored)
    _, issued, _ = await api.request("POST", "/api-keys", token=token, expect=201,
                                     json={"name": "everything", "scopes": ["sessions:read", "sessions:write",
                                                                            "messages:send", "messages:read",
                                                                            "webhooks:read", "webhooks:write"]})
    _, endpoint, _ = await api.request("POST", "/webhooks", token=token, json={"url": sink_url}, expect=201)
    endpoint_id = endpoint["endpoint"]["endpoint_id"]
    _, tested, _ = await api.request("POST", f"/webhooks/{endpoint_id}/test", token=token, json={}, expect=202)
    tenant = Tenant(customer=customer, user_id=me["user"]["user_id"], session_id=session_id, session_key=session_key,
                    message_id=message_id, key_id=issued["key"]["key_id"], user_key=issued["api_key"],
                    endpoint_id=endpoint_id, delivery_id=tested["delivery"]["delivery_id"])
    tenant.ids = {"session_id": session_id, "message_id": message_id, "key_id": tenant.key_id,
                  "endpoint_id": endpoint_id, "delivery_id": tenant.delivery_id, "user_id": tenant.user_id,
                  "worker_id": next(iter(run.workers))}
    return tenant


async def administrator(run: PlatformRun, api: GatewayClient) -> Customer:
    """A customer made administrator before their first authenticated request."""
    admin = await api.sign_up()
    await set_account(run, admin.email, role="admin")
    return admin


def gateway_replica(run: PlatformRun, *, own_redis: bool = False, **env: str) -> ServiceProcess:
    """Another gateway process on `run` (the same database and broker) with settings of its own; with
    `own_redis` its rate-limit windows start empty, untouched by the rest of the suite. Start it with
    `.start()` and `await .wait_ready()`, stop it with `.stop()`."""
    name = f"gateway-{uuid.uuid4().hex[:6]}"
    main = run.services["gateway"]
    redis_url = run.private_redis() if own_redis else run.redis_url
    process = ServiceProcess(name=name, module="wagw_gateway", port=free_port(), log_dir=run.log_dir,
                             env={**run.common_env(), "MONGODB_DATABASE": main.env["MONGODB_DATABASE"],
                                  "REDIS_URL": redis_url, **env})
    process.env["HTTP_PORT"] = str(process.port)
    return process
