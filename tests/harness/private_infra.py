"""Servers of a test's own: a RabbitMQ node, a Redis and a MongoDB-compatible server (FerretDB) on free
ports, with their data in a temporary folder, that the test may stop, SIGKILL and start again without
touching the shared servers other suites run against. Used by the chaos tests (tests/chaos/)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pymongo
import redis

from .infra import REPO, Vhost, management
from .processes import free_port

RMQ_SBIN = Path("/usr/lib/rabbitmq/bin")  # the real scripts (Debian's /usr/sbin wrappers su to rabbitmq)
FERRETDB_BIN = REPO / ".local" / "bin" / "ferretdb"  # built by scripts/infra.sh start


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(probe, timeout: float, what: str, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up in {timeout}s\n{tail}")


@dataclass
class ServerProcess:
    """One server process in a session of its own: `stop()` (SIGTERM, then SIGKILL), `kill()` (SIGKILL to
    its whole process group, no goodbye), `start()` again on the same ports and data."""

    name: str
    root: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.root / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = 60.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), env=self.environment(), stdout=log,
                                            stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self.root, start_new_session=True)
        _wait(self.ready, timeout, self.name, self.process, self.log_path)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _signal_group(self, sig: int) -> None:
        try:
            if self.process is not None:
                os.killpg(self.process.pid, sig)  # its own session: the server and its helpers, nothing else
        except ProcessLookupError:
            pass

    def stop(self, grace: float = 20.0) -> None:
        if not self.alive:
            return
        self._signal_group(signal.SIGTERM)
        try:
            if self.process is not None:
                self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
        self._signal_group(signal.SIGKILL)  # helpers left behind (erl_child_setup) go too

    def kill(self) -> None:
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(10)


@dataclass
class PrivateRabbit(ServerProcess):
    amqp_port: int = field(default_factory=free_port)
    management_port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    node: str = field(default_factory=lambda: f"chaos-{uuid.uuid4().hex[:6]}@localhost")

    def __post_init__(self) -> None:
        home = self.root / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(uuid.uuid4().hex.upper())
            cookie.chmod(0o400)
        (self.root / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n"
            "loopback_users.guest = true\ncollect_statistics_interval = 1000\n")

    def environment(self) -> dict[str, str]:
        # The same variables scripts/infra.sh sets for the project's node, pointed at this folder.
        return {**os.environ, "HOME": str(self.root / "home"), "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(self.amqp_port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"), "RABBITMQ_LOG_BASE": str(self.root / "log"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
                "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),
                "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
                "RABBITMQ_PID_FILE": str(self.root / "rabbitmq.pid"),
                "ERL_EPMD_ADDRESS": "127.0.0.1",
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
                "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
                "ERL_CRASH_DUMP": str(self.root / "erl_crash.dump")}

    def command(self) -> list[str]:
        return [str(RMQ_SBIN / "rabbitmq-server")]

    def ready(self) -> bool:
        if not _port_open(self.amqp_port):
            return False
        try:  # quorum queues and the management API are there once the node answers over HTTP
            self.management("GET", "/overview")
            return True
        except Exception:
            return False

    def start(self, timeout: float = 120.0) -> None:
        super().start(timeout)

    def stop(self, grace: float = 30.0) -> None:
        """A clean shutdown, as an operator's restart would do."""
        if not self.alive:
            return
        subprocess.run([str(RMQ_SBIN / "rabbitmqctl"), "-n", self.node, "shutdown"], env=self.environment(),
                       capture_output=True, timeout=60)
        super().stop(grace)

    def amqp_url(self, vhost: str = "/", port: int | None = None) -> str:
        return f"amqp://guest:guest@127.0.0.1:{port or self.amqp_port}/{urllib.parse.quote(vhost, safe='')}"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def management(self, method: str, path: str, body: dict | None = None):
        return management(method, path, body, base=self.management_url)

    def queues(self) -> list[dict]:
        return self.management("GET", "/queues/%2F?columns=name,messages,messages_ready,messages_unacknowledged")


@dataclass
class PrivateVhost(Vhost):
    """The default vhost of a private node, shaped like the shared harness's Vhost."""

    rabbit: PrivateRabbit | None = None
    port: int | None = None  # where the platform connects (a fault-injecting proxy in front, maybe)

    def _rabbit(self) -> PrivateRabbit:
        if self.rabbit is None:
            raise RuntimeError(f"vhost {self.name} is not on a server yet")
        return self.rabbit

    @property
    def amqp_url(self) -> str:
        return self._rabbit().amqp_url(self.name, self.port)

    def api(self, path: str) -> str:
        return f"{self._rabbit().management_url}/api/{path}".replace("{vhost}", urllib.parse.quote(self.name, safe=""))


@dataclass
class PrivateRedis(ServerProcess):
    port: int = field(default_factory=free_port)

    def command(self) -> list[str]:
        # No persistence, like the local platform's: a restart empties it (Redis is never the only copy).
        return [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.root)]

    def ready(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@dataclass
class PrivateFerret(ServerProcess):
    port: int = field(default_factory=free_port)

    def command(self) -> list[str]:
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        return [str(FERRETDB_BIN), "--listen-addr", f"127.0.0.1:{self.port}", "--data-dir", str(data),
                "--log-level", "warn"]

    def ready(self) -> bool:
        try:
            client: pymongo.MongoClient = pymongo.MongoClient("127.0.0.1", self.port, serverSelectionTimeoutMS=500,
                                                              connectTimeoutMS=500)
            try:
                client.admin.command("ping")
            finally:
                client.close()
            return True
        except pymongo.errors.PyMongoError:
            return False

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"


@dataclass
class PrivateInfra:
    """All three, under one temporary folder (removed by `close()`)."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="wagw-chaos-")))
    rabbit: PrivateRabbit = field(init=False)
    redis: PrivateRedis = field(init=False)
    mongo: PrivateFerret = field(init=False)

    def __post_init__(self) -> None:
        if not FERRETDB_BIN.exists():
            raise RuntimeError("the FerretDB binary is missing: run scripts/infra.sh start first")
        self.rabbit = PrivateRabbit("rabbitmq", self.root / "rabbitmq")
        self.redis = PrivateRedis("redis", self.root / "redis")
        self.mongo = PrivateFerret("ferretdb", self.root / "ferretdb")

    def start(self) -> None:
        self.redis.start()
        self.mongo.start()
        self.rabbit.start()

    def close(self) -> None:
        for server in (self.rabbit, self.redis, self.mongo):
            try:
                server.stop()
            except Exception:
                server.kill()
        shutil.rmtree(self.root, ignore_errors=True)
