"""docker-compose.yml brought up with podman (scripts/compose.sh over the images of scripts/images.sh)
on free ports of its own, so the development servers on the usual ports are left alone: services
started in waves as Docker would, each wave once what it `depends_on` is healthy."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field

import yaml

from harness.infra import REPO
from harness.processes import free_port

PORTS = ("GATEWAY", "SESSION_ORCHESTRATOR", "WORKER_REGISTRY", "WEBHOOK_DISPATCHER", "REALTIME", "SIMULATOR",
         "MONGODB", "RABBITMQ", "RABBITMQ_MANAGEMENT", "RABBITMQ_DIST", "RABBITMQ_EPMD", "REDIS", "OBJECT_STORE",
         "PROMETHEUS", "WHATSAPP", "WHATSAPP_STORE")
# Every service the file declares, with the profile `whatsapp` on (the real worker, its store and its
# broker user); `down` is always given the profile, so whatever was started goes.
PROFILE = "whatsapp"
# Run once to completion (a worker's own broker user) instead of staying up and healthy.
ONE_SHOT = {"worker-simulator-credentials", "worker-whatsapp-credentials"}
HEALTHY_WITHIN = 300
CANNOT_RUN_CONTAINERS = 3  # scripts/images.sh's exit code when podman cannot run a container here
ARTIFACTS = REPO / "test-artifacts" / "compose"


def script(*args: str, env: dict[str, str] | None = None, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "scripts" / args[0]), *args[1:]], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def podman(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONTAINERS_CONF": str(REPO / "deploy" / "podman" / "containers.conf")}
    return subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@dataclass
class ComposeStack:
    project: str
    env: dict[str, str]
    ports: dict[str, int]
    started: set[str] = field(default_factory=set)

    @classmethod
    def on_free_ports(cls, **env: str) -> "ComposeStack":
        ports = {name: free_port() for name in PORTS}
        project = f"wagw-test-{secrets.token_hex(3)}"
        return cls(project, {**os.environ, "COMPOSE_PROJECT_NAME": project, "JWT_SECRET": secrets.token_hex(32),
                             **{f"WAGW_{name}_PORT": str(port) for name, port in ports.items()}, **env}, ports)

    def __getitem__(self, port: str) -> int:
        return self.ports[port]

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return script("compose.sh", "--profile", PROFILE, *args, env=self.env, timeout=timeout)

    def services(self) -> dict[str, dict]:
        config = self.compose("config", timeout=60)
        assert config.returncode == 0, config.stderr
        return yaml.safe_load(config.stdout)["services"]

    def start(self, names: set[str]) -> None:
        """Start `names` in waves, each after the ones it `depends_on` (podman before 4.6 cannot wait for
        a healthcheck, so podman-compose starts everything at once; this waits as Docker would)."""
        depends = {name: set(service.get("depends_on") or ()) for name, service in self.services().items()}
        assert names <= set(depends), sorted(names - set(depends))
        healthy = set(self.started)
        while not names <= healthy:
            wave = sorted(n for n in names - healthy if depends[n] <= healthy)
            assert wave, f"{sorted(names - healthy)} wait for what is not started"
            up = self.compose("up", "-d", "--no-deps", *wave)
            self.started |= set(wave)  # so its logs are kept and it is taken down, healthy or not
            assert up.returncode == 0, up.stdout + up.stderr
            self.wait_until_healthy(wave)
            healthy |= set(wave)

    def container(self, name: str) -> str:
        return f"{self.project}_{name}_1"

    def wait_until_healthy(self, names: list[str]) -> None:
        """Podman without systemd runs no healthcheck by itself: run each one until it passes. A one-shot
        service must have exited with 0 (compose's service_completed_successfully)."""
        waiting = set(names)
        deadline = time.monotonic() + HEALTHY_WITHIN
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                if self.finished(name) if name in ONE_SHOT else \
                        podman("healthcheck", "run", self.container(name), timeout=30).returncode == 0:
                    waiting.discard(name)
            time.sleep(2)
        assert not waiting, f"not healthy after {HEALTHY_WITHIN} s: {sorted(waiting)}"

    def finished(self, name: str) -> bool:
        state = podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}",
                       self.container(name)).stdout.split()
        if state and state[0] == "exited":
            assert state[1] == "0", f"{name} failed (exit {state[1]}): {podman('logs', self.container(name)).stderr}"
            return True
        return False

    def logs(self, name: str) -> str:
        logs = podman("logs", self.container(name))
        return logs.stdout + logs.stderr

    def save_logs(self) -> None:
        """The last lines of every container started, kept in test-artifacts/compose/ for a post-mortem."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name in self.started:
            logs = podman("logs", "--tail", "300", self.container(name))
            (ARTIFACTS / f"{name}.log").write_text(logs.stdout + logs.stderr)

    def down(self) -> None:
        down = self.compose("down", "-v", "-t", "20")
        shutil.rmtree(REPO / ".local" / "compose" / self.project, ignore_errors=True)
        assert down.returncode == 0, down.stdout + down.stderr


def build_images() -> str | None:
    """Build every image; the reason podman cannot run a container here, or None."""
    build = script("images.sh", "build", timeout=3000)
    if build.returncode == CANNOT_RUN_CONTAINERS:
        return build.stderr.strip().splitlines()[-1]
    assert build.returncode == 0, build.stdout + build.stderr
    return None
