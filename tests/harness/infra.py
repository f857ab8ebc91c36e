"""The local servers as the tests see them: a private RabbitMQ vhost per run, its own databases."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import subprocess
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import aiohttp

REPO = Path(__file__).resolve().parents[2]
RABBIT_HOST = os.environ.get("TEST_RABBITMQ_HOST", "127.0.0.1")
RABBIT_PORT = int(os.environ.get("RABBITMQ_PORT", "5672"))
MANAGEMENT = os.environ.get("TEST_RABBITMQ_MANAGEMENT", "http://127.0.0.1:15672")
MONGO_URI = os.environ.get("TEST_MONGODB_URI", f"mongodb://127.0.0.1:{os.environ.get('MONGO_PORT', '27017')}/")
REDIS_BASE = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:{os.environ.get('REDIS_PORT', '6379')}")
# The WhatsApp worker's credential store (scripts/lib/postgres.sh); tests make databases of their own on it.
POSTGRES_SERVER = os.environ.get("TEST_POSTGRES_URL",
                                 f"postgresql://wagw:wagw@127.0.0.1:{os.environ.get('POSTGRES_PORT', '5433')}")

# The S3-API media store (scripts/lib/objectstore.sh); tests use buckets of their own on it.
OBJECT_STORE_URL = os.environ.get("TEST_OBJECT_STORE_URL",
                                  f"http://127.0.0.1:{os.environ.get('OBJECT_STORE_PORT', '9000')}")


_REDIS_DATABASES = range(1, 16)  # 0 is the local platform's
_redis_reserved: set[str] = set()


def private_redis_url() -> str:
    """A Redis database no other live run of this process holds, until `release_redis_url`: leases and
    caches of runs going on at the same time must not meet. (The e2e suite's shared platform lives
    through every module-scoped one; drawn at random, one run in 15 met it and waited on its leases.)"""
    free = [f"{REDIS_BASE}/{n}" for n in _REDIS_DATABASES if f"{REDIS_BASE}/{n}" not in _redis_reserved]
    if not free:
        raise RuntimeError(f"all {len(_REDIS_DATABASES)} test Redis databases are held by live runs")
    url = random.choice(free)  # not always the lowest: a stopped run's stragglers may still be writing
    _redis_reserved.add(url)
    return url


def release_redis_url(url: str) -> None:
    _redis_reserved.discard(url)


@contextmanager
def redis_database() -> Iterator[str]:
    """`private_redis_url()` for the length of a `with` block."""
    url = private_redis_url()
    try:
        yield url
    finally:
        release_redis_url(url)


AUTH_HEADERS = {"Authorization": aiohttp.encode_basic_auth("guest", "guest")}


@dataclass
class Vhost:
    name: str

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{urllib.parse.quote(self.name, safe='')}"

    def api(self, path: str) -> str:
        return f"{MANAGEMENT}/api/{path}".replace("{vhost}", urllib.parse.quote(self.name, safe=""))


async def create_vhost(prefix: str = "wagw-test") -> Vhost:
    vhost = Vhost(f"{prefix}-{uuid.uuid4().hex[:8]}")
    async with aiohttp.ClientSession(headers=AUTH_HEADERS) as http:
        (await http.put(vhost.api("vhosts/{vhost}"))).raise_for_status()
        perms = {"configure": ".*", "write": ".*", "read": ".*"}
        (await http.put(vhost.api("permissions/{vhost}/guest"), json=perms)).raise_for_status()
    return vhost


async def delete_vhost(vhost: Vhost) -> None:
    async with aiohttp.ClientSession(headers=AUTH_HEADERS) as http:
        await http.delete(vhost.api("vhosts/{vhost}"))


async def queue_info(vhost: Vhost, queue: str) -> dict:
    """Queue statistics from the management API (message counts lag by a few seconds)."""
    async with aiohttp.ClientSession(headers=AUTH_HEADERS) as http:
        response = await http.get(vhost.api(f"queues/{{vhost}}/{urllib.parse.quote(queue, safe='')}"))
        response.raise_for_status()
        return await response.json()


async def consumed_queue(vhost: Vhost, spec) -> str:
    """The queue a service consumes for `spec`: the spec's own, or for a per-replica spec the queue of
    the one replica consuming (`<name>.replica.<id>`; a stopped replica's lingers until it expires)."""
    if not spec.per_replica:
        return spec.name
    live: list[str] = []
    async with aiohttp.ClientSession(headers=AUTH_HEADERS) as http:
        for _ in range(30):  # a new queue's consumer count shows with the next statistics (5 s)
            response = await http.get(vhost.api("queues/{vhost}"), params={"columns": "name,consumers"})
            response.raise_for_status()
            live = [q["name"] for q in await response.json()
                    if q["name"].startswith(f"{spec.name}.replica.") and q.get("consumers")]
            if live:
                break
            await asyncio.sleep(0.5)
    assert len(live) == 1, f"one replica of {spec.name} expected to consume, found {live}"
    return live[0]


def rabbitmqctl(*args: str) -> str:
    """Run rabbitmqctl against the project's node, through the same script that started it."""
    result = subprocess.run([str(REPO / "scripts" / "infra.sh"), "rabbitmqctl", *args], capture_output=True,
                            text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


def management(method: str, path: str, body: dict | None = None, *, base: str = MANAGEMENT):
    """The RabbitMQ management API (of the node at `base`), synchronously (for fixtures): `path` below
    /api, JSON in and out."""
    request = urllib.request.Request(f"{base}/api{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json",
                                              "authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None
