"""A worker's own broker credentials, for operators:

    python -m wagw_worker_registry.credentials create <worker-id>   # prints its AMQP URL, password once
    python -m wagw_worker_registry.credentials revoke <worker-id>   # deletes the user (and its queues)

With WORKER_AMQP_URL set (the worker's own URL, `amqp://worker.<id>:<password>@host/vhost`, as kept
in the worker's Secret), `create` gives the user that URL's password instead of a random one and
prints nothing secret: a deployment provisions the user from the Secret the worker reads (the compose
file and the Kubernetes dev overlay do so for the simulator), and running it again changes nothing.

It uses RabbitMQ's management API with the platform's credentials (AMQP_URL names the user, host and
vhost; RABBITMQ_MANAGEMENT_URL the API, default http://<host>:15672). It creates the user
`worker.<id>` with a random password and permissions for nothing but: reading its own command queue,
and publishing `worker.*` messages to the uplink exchange. It also declares that queue, its
dead-letter queue and their bindings (and the platform's exchanges), since the worker itself may not.
RabbitMQ then refuses any message of it whose `user_id` is not its own, and the registry refuses any
that names another worker."""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from wagw_common import topology
from wagw_common.contracts.fields import normalize_worker_id
from wagw_common.contracts.workers import broker_user_for


def permissions_for(worker_id: str) -> dict[str, str]:
    """Regular expressions over resource names (configure, write, read), as RabbitMQ takes them."""
    return {"configure": "^$", "write": f"^{re.escape(topology.WORKER_UPLINK)}$",
            "read": f"^{re.escape(topology.worker_command_queue(worker_id).name)}$"}


def topic_permissions() -> dict[str, str]:
    """On the uplink (topic) exchange: publish worker protocol routing keys only."""
    return {"exchange": topology.WORKER_UPLINK, "write": r"^worker\.", "read": "^$"}


@dataclass
class Management:
    url: str  # e.g. http://127.0.0.1:15672
    user: str
    password: str
    vhost: str

    @classmethod
    def from_amqp_url(cls, amqp_url: str, management_url: str | None = None) -> "Management":
        parts = urlsplit(amqp_url)
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        api = management_url or f"http://{parts.hostname or '127.0.0.1'}:15672"
        return cls(api.rstrip("/"), unquote(parts.username or "guest"), unquote(parts.password or "guest"), vhost)

    def call(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"{self.url}/api{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"content-type": "application/json",
                     "authorization": "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()})
        with urllib.request.urlopen(request, timeout=15) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def v(self) -> str:
        return quote(self.vhost, safe="")


def create(api: Management, worker_id: str, password: str | None = None) -> tuple[str, str]:
    """Create (or reset) the worker's user, permissions and queues; returns (user, password)."""
    user, password = broker_user_for(worker_id), password or secrets.token_urlsafe(24)
    u = quote(user, safe="")
    api.call("PUT", f"/users/{u}", {"password": password, "tags": ""})
    api.call("PUT", f"/permissions/{api.v()}/{u}", permissions_for(worker_id))
    api.call("PUT", f"/topic-permissions/{api.v()}/{u}", topic_permissions())
    spec = topology.worker_command_queue(worker_id)
    for exchange, kind in topology.EXCHANGES.items():  # as the services declare them (idempotent)
        api.call("PUT", f"/exchanges/{api.v()}/{quote(exchange, safe='')}", {"type": kind.value, "durable": True})
    api.call("PUT", f"/queues/{api.v()}/{quote(spec.dead_letter_name, safe='')}",
             {"durable": True, "arguments": topology.dead_letter_arguments()})
    api.call("PUT", f"/queues/{api.v()}/{quote(spec.name, safe='')}", {"durable": True, "arguments": spec.arguments()})
    for exchange, queue, key in [(topology.DEAD_LETTER, spec.dead_letter_name, spec.name),
                                 *((e, spec.name, k) for e, k in spec.bindings)]:
        api.call("POST", f"/bindings/{api.v()}/e/{quote(exchange, safe='')}/q/{quote(queue, safe='')}",
                 {"routing_key": key})
    return user, password


def revoke(api: Management, worker_id: str, *, keep_queues: bool = False) -> None:
    """Delete the worker's user (its open connections close) and, unless kept, its queues."""
    targets = [f"/users/{quote(broker_user_for(worker_id), safe='')}"]
    if not keep_queues:
        spec = topology.worker_command_queue(worker_id)
        targets += [f"/queues/{api.v()}/{quote(name, safe='')}" for name in (spec.name, spec.dead_letter_name)]
    for path in targets:
        try:
            api.call("DELETE", path)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise


def worker_amqp_url(amqp_url: str, user: str, password: str) -> str:
    parts = urlsplit(amqp_url)
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wagw_worker_registry.credentials",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("create", "revoke"))
    parser.add_argument("worker_id", help="normalised as the platform does (lower case, hyphens)")
    parser.add_argument("--keep-queues", action="store_true", help="revoke: keep its command queue")
    args = parser.parse_args(argv)
    amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    api = Management.from_amqp_url(amqp_url, os.environ.get("RABBITMQ_MANAGEMENT_URL"))
    worker_id = normalize_worker_id(args.worker_id)
    if not worker_id or len(worker_id) > 64:
        parser.error(f"not a usable worker id: {args.worker_id!r}")
    if args.action == "revoke":
        revoke(api, worker_id, keep_queues=args.keep_queues)
        print(json.dumps({"worker_id": worker_id, "revoked": broker_user_for(worker_id)}))
        return 0
    given = os.environ.get("WORKER_AMQP_URL")
    if given:
        parts = urlsplit(given)
        if unquote(parts.username or "") != broker_user_for(worker_id) or not parts.password:
            parser.error(f"WORKER_AMQP_URL must carry the user {broker_user_for(worker_id)} and its password")
        user, _ = create(api, worker_id, unquote(parts.password))
        print(json.dumps({"worker_id": worker_id, "user": user}))
        return 0
    user, password = create(api, worker_id)
    # The password is shown this once: give the URL to the worker (e.g. as its AMQP_URL secret).
    print(json.dumps({"worker_id": worker_id, "user": user, "amqp_url": worker_amqp_url(amqp_url, user, password)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
