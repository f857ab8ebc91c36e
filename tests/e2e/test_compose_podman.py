"""docker-compose.yml run for real with podman (scripts/compose.sh over the images of
scripts/images.sh): every container healthy, the README's walkthrough through the stack, Prometheus
scraping every service. The stack gets free ports of its own, so the development servers on the
usual ports are left alone; it is taken down, volumes included, at the end."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request

import pytest
import yaml

from harness.infra import REPO
from harness.processes import free_port
from harness.walkthrough import run_walkthrough

# A cold image build (debootstrap, Debian's packages, the project's wheels) takes minutes on two cores.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

PORTS = ("GATEWAY", "SESSION_ORCHESTRATOR", "WORKER_REGISTRY", "WEBHOOK_DISPATCHER", "REALTIME", "SIMULATOR",
         "MONGODB", "RABBITMQ", "RABBITMQ_MANAGEMENT", "RABBITMQ_DIST", "RABBITMQ_EPMD", "REDIS", "PROMETHEUS")
CONTAINERS = ("mongodb", "rabbitmq", "redis", "gateway", "session-orchestrator", "worker-registry",
              "webhook-dispatcher", "realtime", "worker-simulator-credentials", "worker-simulator", "prometheus")
# Run once to completion (the simulator's own broker user) instead of staying up and healthy.
ONE_SHOT = {"worker-simulator-credentials"}
SCRAPED = {"gateway", "session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime"}
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


def start_order(env: dict[str, str]) -> list[list[str]]:
    """The services in waves, each after the ones it `depends_on` (podman before 4.6 cannot wait for
    a healthcheck, so podman-compose starts everything at once; the test waits as Docker would)."""
    config = script("compose.sh", "config", env=env, timeout=60)
    assert config.returncode == 0, config.stderr
    services = yaml.safe_load(config.stdout)["services"]
    depends = {name: set(service.get("depends_on") or ()) for name, service in services.items()}
    assert set(depends) == set(CONTAINERS), sorted(depends)
    waves, started = [], set()
    while len(started) < len(depends):
        wave = sorted(name for name, needs in depends.items() if name not in started and needs <= started)
        assert wave, f"a dependency cycle among {sorted(set(depends) - started)}"
        waves.append(wave)
        started |= set(wave)
    return waves


def wait_until_healthy(project: str, names: list[str]) -> None:
    """Podman without systemd runs no healthcheck by itself: run each one until it passes. A one-shot
    service must have exited with 0 (compose's service_completed_successfully)."""
    waiting = set(names)
    deadline = time.monotonic() + HEALTHY_WITHIN
    while waiting and time.monotonic() < deadline:
        for name in sorted(waiting):
            if finished(f"{project}_{name}_1") if name in ONE_SHOT else \
                    podman("healthcheck", "run", f"{project}_{name}_1", timeout=30).returncode == 0:
                waiting.discard(name)
        time.sleep(2)
    assert not waiting, f"not healthy after {HEALTHY_WITHIN} s: {sorted(waiting)}"


def finished(container: str) -> bool:
    state = podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container).stdout.split()
    if state and state[0] == "exited":
        assert state[1] == "0", f"{container} failed (exit {state[1]}): {podman('logs', container).stderr}"
        return True
    return False


def save_logs(project: str) -> None:
    """The last lines of every container, kept in test-artifacts/compose/ for a failure's post-mortem."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in CONTAINERS:
        logs = podman("logs", "--tail", "300", f"{project}_{name}_1")
        (ARTIFACTS / f"{name}.log").write_text(logs.stdout + logs.stderr)


@pytest.fixture(scope="module")
def stack():
    build = script("images.sh", "build", timeout=3000)
    if build.returncode == CANNOT_RUN_CONTAINERS:
        pytest.skip(build.stderr.strip().splitlines()[-1])
    assert build.returncode == 0, build.stdout + build.stderr

    ports = {name: free_port() for name in PORTS}
    project = f"wagw-test-{secrets.token_hex(3)}"
    env = {**os.environ, "COMPOSE_PROJECT_NAME": project, "JWT_SECRET": secrets.token_hex(32),
           **{f"WAGW_{name}_PORT": str(port) for name, port in ports.items()}}
    try:
        for wave in start_order(env):
            up = script("compose.sh", "up", "-d", "--no-deps", *wave, env=env, timeout=600)
            assert up.returncode == 0, up.stdout + up.stderr
            wait_until_healthy(project, wave)
        yield ports
    finally:
        save_logs(project)
        down = script("compose.sh", "down", "-v", "-t", "20", env=env, timeout=600)
        shutil.rmtree(REPO / ".local" / "compose" / project, ignore_errors=True)
        assert down.returncode == 0, down.stdout + down.stderr


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_every_process_answers_ready(stack):
    for name in SCRAPED:
        answer = get_json(f"http://127.0.0.1:{stack[name.upper().replace('-', '_')]}/readyz")
        assert answer["ready"] is True, (name, answer)


def test_the_readme_walkthrough_works_against_the_compose_stack(stack):
    run_walkthrough(f"http://127.0.0.1:{stack['GATEWAY']}/api/v1", f"http://127.0.0.1:{stack['SIMULATOR']}")


def test_prometheus_scrapes_every_service(stack):
    deadline = time.monotonic() + 60
    while True:
        targets = get_json(f"http://127.0.0.1:{stack['PROMETHEUS']}/api/v1/targets")["data"]["activeTargets"]
        up = {t["labels"].get("service") for t in targets if t["labels"].get("job") == "wagw" and t["health"] == "up"}
        if up >= SCRAPED or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert up == SCRAPED, json.dumps(targets, indent=1)
