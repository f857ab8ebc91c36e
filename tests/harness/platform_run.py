"""The whole platform for one test run: five services and its workers (simulated, or the WhatsApp worker
with its fake client), as processes."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pymongo
import redis
from wagw_common.services import SERVICES

from .infra import MONGO_URI, OBJECT_STORE_URL, REPO, Vhost, private_redis_url, release_redis_url
from .processes import ServiceProcess, free_port

JWT_SECRET = "test-secret-" + "x" * 32


@dataclass
class PlatformRun:
    vhost: Vhost
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    workers: dict[str, ServiceProcess] = field(default_factory=dict)
    redis_url: str = field(default_factory=private_redis_url)
    # Every service started this many times (keys `name`, `name-1`, ...); `url(name)` takes them in turn.
    replicas: int = 1
    _turns: dict[str, int] = field(default_factory=dict, repr=False)
    mongo_uri: str = MONGO_URI  # a test's private server (tests/harness/private_infra.py) may take its place
    more_redis_urls: list[str] = field(default_factory=list, repr=False)

    @property
    def log_dir(self) -> Path:
        return REPO / "test-artifacts" / "logs" / self.run_id

    def common_env(self) -> dict[str, str]:
        return {
            "AMQP_URL": self.vhost.amqp_url,
            "MONGODB_URI": self.mongo_uri,
            "REDIS_URL": self.redis_url,
            "JWT_SECRET": JWT_SECRET,
            # The local media store, a bucket of this run's own.
            "OBJECT_STORE_URL": OBJECT_STORE_URL,
            "MEDIA_BUCKET": f"wagw-t{self.run_id}".lower().replace("_", "-")[:63],
            "MEDIA_MAX_BYTES": "1048576",  # small enough for a test to go over it
            "LOG_LEVEL": "info",
            "STARTUP_TIMEOUT_SECONDS": "30",
            # Two cores run every process of the platform and the tests: give replies room under load.
            "RPC_TIMEOUT_SECONDS": "10",
            "WEBHOOK_ALLOWED_DESTINATIONS": "127.0.0.1/32",  # the tests' local sinks
            # Every test signs up and sends from 127.0.0.1, faster than a customer may: the gateway's
            # limits are lifted here, and tested with their real values by tests/e2e/test_gateway_limits.py.
            "RATE_LIMIT_AUTH_PER_MINUTE": "100000",
            "TIER_SEND_RATES_PER_MINUTE": "BASIC=100000,PRO=100000,MAX=100000",
        }

    def add_service(self, name: str, replica: int = 0, **env: str) -> ServiceProcess:
        key = name if replica == 0 else f"{name}-{replica}"
        process = ServiceProcess(
            name=key, module=SERVICES[name], port=free_port(), log_dir=self.log_dir,
            env={**self.common_env(), "HTTP_PORT": "0", **env,
                 "MONGODB_DATABASE": f"wagw_t{self.run_id}_{name.replace('-', '_')}"},
        )
        process.env["HTTP_PORT"] = str(process.port)
        self.services[key] = process
        if replica == 0:
            for more in range(1, self.replicas):
                self.add_service(name, replica=more, **env)
        return process

    def add_worker(self, worker_id: str | None = None, **env: str) -> ServiceProcess:
        worker_id = worker_id or f"sim-{self.run_id}-{len(self.workers) + 1}"
        return self._add_worker_process(worker_id, "wagw_worker_simulator", "SIMULATOR_CONTROL_PORT", env)

    def add_whatsapp_worker(self, worker_id: str, store: Path, **env: str) -> ServiceProcess:
        """The real WhatsApp worker with its fake client (no phone): `store` is the credential store
        (a directory for the fake), shared by the workers a session may fail over between."""
        env = {"WHATSAPP_CLIENT": "fake", "WHATSAPP_STORE": str(store), **env}
        return self._add_worker_process(worker_id, "wagw_worker_whatsapp", "WHATSAPP_HTTP_PORT", env)

    def _add_worker_process(self, worker_id: str, module: str, port_variable: str, env: dict) -> ServiceProcess:
        port = free_port()
        process = ServiceProcess(
            name=f"worker-{worker_id}", module=module, port=port, log_dir=self.log_dir,
            ready_path="/readyz",  # ready once its registration was routed to the registry
            # Room for every session the tests of one run create on a shared platform.
            env={**self.common_env(), "WORKER_ID": worker_id, port_variable: str(port),
                 "HEARTBEAT_INTERVAL_SECONDS": "2", "WORKER_CAPACITY": "1000", **env},
        )
        self.workers[worker_id] = process
        return process

    async def start(self) -> None:
        # Services first: a worker's registration needs the registry's queue to exist.
        for process in self.services.values():
            process.start()
        await asyncio.gather(*(p.wait_ready() for p in self.services.values()))
        for process in self.workers.values():
            process.start()
        await asyncio.gather(*(p.wait_ready() for p in self.workers.values()))

    def stop(self) -> None:
        for process in [*self.workers.values(), *self.services.values()]:
            process.stop()
        for url in [self.redis_url, *self.more_redis_urls]:
            release_redis_url(url)

    def private_redis(self) -> str:
        """Another emptied Redis database of the run's own (a process that must not share the run's
        windows and leases), given back when the run stops."""
        url = private_redis_url()
        redis.Redis.from_url(url).flushdb()
        self.more_redis_urls.append(url)
        return url

    def drop_databases(self) -> None:
        """The run's databases go with it, so the local server does not pile up one set per run."""
        client: pymongo.MongoClient = pymongo.MongoClient(self.mongo_uri, serverSelectionTimeoutMS=3000)
        try:
            for name in client.list_database_names():
                if name.startswith(f"wagw_t{self.run_id}_"):
                    client.drop_database(name)
        finally:
            client.close()

    def url(self, name: str) -> str:
        if self.replicas == 1:
            return self.services[name].url
        # Round robin over the replicas, so clients of one test land on different ones.
        turn = self._turns.get(name, 0)
        self._turns[name] = turn + 1
        replica = turn % self.replicas
        return self.services[name if replica == 0 else f"{name}-{replica}"].url

    def worker_url(self, worker_id: str) -> str:
        return self.workers[worker_id].url
