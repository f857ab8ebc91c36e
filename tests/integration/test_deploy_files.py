"""The deployment files, checked without a Docker engine or a cluster: the Dockerfile, compose and
the Kubernetes manifests are parsed, compared with the settings every service declares in code, and
the manifests are validated offline against the Kubernetes JSON schemas."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import kubernetes_validate
import pytest
import yaml

from wagw_common.settings import CommonSettings, MongoSettings, variables_of

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
# Recent, and old enough that what validates here runs on clusters still in support.
KUBERNETES_VERSIONS = ("1.30", "1.35")
IMAGE = "wagw:latest"
SECRET = "wagw-secrets"
WORKER_SECRET = "wagw-worker-simulator"  # the dev simulator's own broker URL, as every worker has its Secret
CONFIG = "wagw-config"


@dataclass(frozen=True)
class Process:
    name: str
    module: str
    port: int
    port_variable: str = "HTTP_PORT"
    database: str | None = None
    redis: bool = True
    jwt: bool = False

    @property
    def command(self) -> list[str]:
        return ["python", "-m", self.module]

    def needs(self) -> set[str]:
        """What the process must be given to reach its dependencies and be reached."""
        needed = {"HTTP_HOST", self.port_variable, "AMQP_URL"}
        needed |= {"REDIS_URL"} if self.redis else set()
        needed |= {"MONGODB_URI", "MONGODB_DATABASE"} if self.database else set()
        return needed | ({"JWT_SECRET"} if self.jwt else set())


SERVICES = [
    Process("gateway", "wagw_gateway", 8080, database="wagw_gateway", jwt=True),
    Process("session-orchestrator", "wagw_session_orchestrator", 8081, database="wagw_session_orchestrator"),
    Process("worker-registry", "wagw_worker_registry", 8082, database="wagw_worker_registry"),
    Process("webhook-dispatcher", "wagw_webhook_dispatcher", 8083, database="wagw_webhook_dispatcher"),
    Process("realtime", "wagw_realtime", 8084, jwt=True),
]
SIMULATOR = Process("worker-simulator", "wagw_worker_simulator", 8090, port_variable="SIMULATOR_CONTROL_PORT",
                    redis=False)
PROCESSES = [*SERVICES, SIMULATOR]
BY_MODULE = {p.module: p for p in PROCESSES}
EDGE_PORTS = {"gateway": 8080, "realtime": 8084, "worker-simulator": 8090}


@cache
def declared(module: str) -> frozenset[str]:
    """The variables a process reads, from its own settings module (an import error fails the test)."""
    settings = importlib.import_module(f"{module}.settings").Settings
    return frozenset(v.name for v in variables_of(settings))


def by_process(test):
    return pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)(test)


# --- the image --------------------------------------------------------------------------------

def dockerfile_stages() -> list[list[str]]:
    """Instructions (continuation lines joined, comments dropped), split into build stages."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    stages: list[list[str]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def instructions(stage: list[str], keyword: str) -> list[str]:
    return [line[len(keyword):].strip() for line in stage if line.upper().startswith(keyword + " ")]


def test_image_is_multi_stage_on_python_slim_with_no_build_tools_at_the_end():
    preamble, *stages = dockerfile_stages()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in preamble
    assert len(stages) >= 2 and all(s[0].startswith("FROM ${PYTHON_IMAGE}") for s in stages)
    builder, final = stages[0], stages[-1]
    assert any("pip wheel" in run and "requirements/runtime.txt" in run for run in instructions(builder, "RUN"))
    own = " ".join(instructions(builder, "RUN"))
    for package in ("libs/common", "services/*", "workers/sdk", "workers/simulator"):
        assert package in own, f"the builder makes no wheel of {package}"
    final_text = "\n".join(final)
    assert "apt-get" not in final_text and "build-essential" not in final_text
    assert " -e " not in final_text and "--editable" not in final_text
    assert "--no-index" in final_text and "/tmp/runtime.txt" in final_text


def test_image_runs_as_a_numeric_non_root_user_unbuffered():
    final = dockerfile_stages()[-1]
    user = instructions(final, "USER")[-1]
    assert re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", user), f"USER {user}: numeric, so runAsNonRoot can check it"
    assert any("PYTHONUNBUFFERED=1" in env for env in instructions(final, "ENV"))
    assert json.loads(instructions(final, "CMD")[-1]) == ["python", "-m", "wagw_gateway"]
    exposed = {int(p) for e in instructions(final, "EXPOSE") for p in e.split()}
    assert exposed == {p.port for p in PROCESSES}


def healthcheck_code() -> str:
    healthcheck = instructions(dockerfile_stages()[-1], "HEALTHCHECK")[-1]
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3:].strip())
    assert command[:2] == ["python", "-c"], "the slim image has no curl: the healthcheck is Python"
    return command[2]


@pytest.mark.parametrize("variable", ["HTTP_PORT", "SIMULATOR_CONTROL_PORT"])
def test_image_healthcheck_calls_healthz_on_the_process_port(tmp_path, variable):
    """The HEALTHCHECK's Python really runs: 0 when /healthz answers 200, non-zero otherwise."""
    server = subprocess.Popen(
        [sys.executable, "-c", (
            "import http.server\n"
            "class H(http.server.BaseHTTPRequestHandler):\n"
            "    def do_GET(self):\n"
            "        self.send_response(200 if self.path == '/healthz' else 404); self.end_headers()\n"
            "    def log_message(self, *a): pass\n"
            "s = http.server.HTTPServer(('127.0.0.1', 0), H); print(s.server_port, flush=True); s.serve_forever()\n"
        )], stdout=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().strip()
        env = {k: v for k, v in os.environ.items() if k not in ("HTTP_PORT", "SIMULATOR_CONTROL_PORT")}
        healthy = subprocess.run([sys.executable, "-c", healthcheck_code()], env={**env, variable: port},
                                 capture_output=True, text=True, timeout=20)
        assert healthy.returncode == 0, healthy.stderr
        server.kill()
        server.wait()
        down = subprocess.run([sys.executable, "-c", healthcheck_code()], env={**env, variable: port},
                              capture_output=True, timeout=20)
        assert down.returncode != 0
    finally:
        server.kill()
        server.wait()


def test_dockerignore_keeps_local_state_out_and_the_sources_in():
    patterns = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert {".venv", ".local", ".git", "test-artifacts", "**/__pycache__"} <= patterns
    for needed in ("requirements", "libs", "services", "workers", "Dockerfile"):
        assert needed not in patterns


def test_every_dependency_of_our_packages_is_pinned_for_the_offline_install():
    """The image installs with --no-index: an unpinned dependency would fail the build."""
    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pinned = {norm(line.split("==")[0]) for line in (REPO / "requirements/runtime.txt").read_text().splitlines()
              if "==" in line and not line.startswith("#")}
    packages = [REPO / "libs/common", REPO / "workers/sdk", REPO / "workers/simulator",
                *sorted((REPO / "services").iterdir())]
    for package in packages:
        project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
        for requirement in project.get("dependencies", []):
            name = norm(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
            assert name.startswith("wagw-") or name in pinned, f"{package.name}: {name} is not in runtime.txt"


# --- docker compose ---------------------------------------------------------------------------

COMPOSE_ENV = {"JWT_SECRET": "test-" + "s" * 32}
_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} and ${VAR?error}."""
    def one(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        present = name in env and (env[name] != "" or op is None or not op.startswith(":"))
        if present:
            return env[name]
        if op and op.endswith("?"):
            raise LookupError(f"{name} is required: {arg}")
        return arg if op else ""

    return _INTERPOLATION.sub(one, str(value)).replace("$$", "$")


@cache
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def environment(service: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment with anchors merged (PyYAML does `<<`) and variables interpolated."""
    raw = compose()["services"][service].get("environment", {})
    assert isinstance(raw, dict), f"{service}: environment as a mapping, so anchors can merge it"
    return {k: interpolate(v, COMPOSE_ENV if env is None else env) for k, v in raw.items()}


@by_process
def test_compose_runs_every_process_from_the_one_image(process):
    service = compose()["services"][process.name]
    assert service["command"] == process.command
    assert interpolate(service["image"], {}) == IMAGE
    assert service["build"]["context"] == "." and service["build"].get("dockerfile", "Dockerfile") == "Dockerfile"
    assert service["restart"] in ("unless-stopped", "always", "on-failure")


@by_process
def test_compose_gives_each_process_what_it_needs_to_reach_its_dependencies(process):
    env = environment(process.name)
    assert process.needs() <= declared(process.module), "the table above asks for an undeclared variable"
    missing = process.needs() - env.keys()
    assert not missing, f"{process.name} would fall back to its localhost defaults for {sorted(missing)}"
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert env[process.port_variable] == str(process.port)
    services = compose()["services"]
    rabbit = {k: interpolate(v, COMPOSE_ENV) for k, v in services["rabbitmq"]["environment"].items()}
    amqp = urlsplit(env["AMQP_URL"])
    assert (amqp.scheme, amqp.hostname, amqp.port or 5672) == ("amqp", "rabbitmq", 5672)
    if process is not SIMULATOR:
        assert (amqp.username, amqp.password) == (rabbit["RABBITMQ_DEFAULT_USER"], rabbit["RABBITMQ_DEFAULT_PASS"])
    assert amqp.username != "guest", "RabbitMQ's guest user can only connect from localhost"
    if process.redis:
        assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    if process.database:
        assert urlsplit(env["MONGODB_URI"]).hostname == "mongodb"
        assert env["MONGODB_DATABASE"] == process.database
    else:
        assert "MONGODB_DATABASE" not in env
    assert env.get("LOG_FORMAT") == "json"


@by_process
def test_compose_sets_only_variables_the_process_declares(process):
    unknown = environment(process.name).keys() - declared(process.module)
    assert not unknown, f"{process.name} reads no {sorted(unknown)} (a typo, or a variable of another service)"


def test_compose_databases_are_one_per_service():
    databases = [environment(p.name).get("MONGODB_DATABASE") for p in PROCESSES]
    databases = [d for d in databases if d]
    assert len(databases) == len(set(databases)) == 4


def test_compose_jwt_secret_is_shared_by_gateway_and_realtime_and_has_no_default():
    assert environment("gateway")["JWT_SECRET"] == environment("realtime")["JWT_SECRET"] == COMPOSE_ENV["JWT_SECRET"]
    for service in ("gateway", "realtime"):
        with pytest.raises(LookupError):
            environment(service, env={})
    assert not any("JWT_SECRET" in environment(p.name) for p in PROCESSES if not p.jwt)


def test_compose_passes_retired_jwt_keys_so_a_rotation_logs_nobody_out():
    rotating = {**COMPOSE_ENV, "JWT_PREVIOUS_SECRETS": "the-previous-key"}
    for process in (p for p in PROCESSES if p.jwt):
        assert environment(process.name, rotating)["JWT_PREVIOUS_SECRETS"] == "the-previous-key", process.name
        assert environment(process.name)["JWT_PREVIOUS_SECRETS"] == "", "none unless rotating"


def test_compose_environment_blocks_share_anchors():
    text = (REPO / "docker-compose.yml").read_text()
    assert "x-service-env: &service-env" in text
    common = {k: interpolate(v, COMPOSE_ENV) for k, v in compose()["x-service-env"].items()}
    for process in PROCESSES:
        own = {"AMQP_URL"} if process is SIMULATOR else set()  # a worker's own broker user
        shared = {k: v for k, v in common.items() if k not in own}
        assert shared.items() <= environment(process.name).items(), f"{process.name} does not merge *service-env"


def test_compose_simulator_speaks_as_its_own_worker_user_made_by_a_one_shot_job():
    """Like any worker: the broker user worker.<its id>, never the platform's (docs/workers.md)."""
    simulator = environment(SIMULATOR.name)
    amqp = urlsplit(simulator["AMQP_URL"])
    assert unquote(amqp.username) == f"worker.{simulator['WORKER_ID']}" and amqp.password
    job = compose()["services"]["worker-simulator-credentials"]
    assert job["command"] == ["python", "-m", "wagw_worker_registry.credentials", "create", simulator["WORKER_ID"]]
    job_env = environment("worker-simulator-credentials")
    assert job_env["WORKER_AMQP_URL"] == simulator["AMQP_URL"]
    assert job_env["AMQP_URL"] == environment("worker-registry")["AMQP_URL"]  # made with the platform's user
    assert compose()["services"][SIMULATOR.name]["depends_on"]["worker-simulator-credentials"] == \
        {"condition": "service_completed_successfully"}


def test_compose_whatsapp_worker_speaks_as_its_own_worker_user_made_by_a_one_shot_job():
    worker = environment("worker-whatsapp")
    amqp = urlsplit(worker["AMQP_URL"])
    assert unquote(amqp.username) == f"worker.{worker['WORKER_ID']}" and amqp.password
    job = compose()["services"]["worker-whatsapp-credentials"]
    assert job["command"] == ["python", "-m", "wagw_worker_registry.credentials", "create", worker["WORKER_ID"]]
    assert job["profiles"] == compose()["services"]["worker-whatsapp"]["profiles"] == ["whatsapp"]
    job_env = environment("worker-whatsapp-credentials")
    assert job_env["WORKER_AMQP_URL"] == worker["AMQP_URL"]
    assert job_env["AMQP_URL"] == environment("worker-registry")["AMQP_URL"]
    assert compose()["services"]["worker-whatsapp"]["depends_on"]["worker-whatsapp-credentials"] == \
        {"condition": "service_completed_successfully"}


def test_compose_runs_a_pinned_media_store_the_gateway_and_the_simulator_reach_with_its_key():
    store = compose()["services"]["objectstore"]
    assert re.fullmatch(r"quay\.io/minio/minio:RELEASE\.[0-9TZ-]+", store["image"]), "MinIO, pinned"
    assert "mc ready local" in " ".join(store["healthcheck"]["test"])
    assert [v.split(":")[0] for v in store["volumes"]] == ["objectstore-data"]
    root = {k: interpolate(v, COMPOSE_ENV) for k, v in store["environment"].items()}
    for name in ("gateway", SIMULATOR.name):
        env = environment(name)
        assert urlsplit(env["OBJECT_STORE_URL"]).netloc == "objectstore:9000", name
        assert (env["OBJECT_STORE_ACCESS_KEY"], env["OBJECT_STORE_SECRET_KEY"]) == \
            (root["MINIO_ROOT_USER"], root["MINIO_ROOT_PASSWORD"]), name
        assert compose()["services"][name]["depends_on"]["objectstore"] == {"condition": "service_healthy"}, name
    assert environment("gateway")["MEDIA_RETENTION_DAYS"] == "30"


def published(service: dict) -> set[int]:
    return {int(str(p).rsplit(":", 1)[0].rsplit(":", 1)[-1]) for p in service.get("ports", [])}


def test_compose_publishes_only_the_edges():
    services = compose()["services"]
    for name, service in services.items():
        expected = {EDGE_PORTS[name]} if name in EDGE_PORTS else {LOCAL_ONLY[name]} if name in LOCAL_ONLY else set()
        assert published(service) == expected, name
        if name in LOCAL_ONLY:
            assert all(str(p).startswith("127.0.0.1:") for p in service["ports"]), f"{name}: localhost only"


LOCAL_ONLY = {"rabbitmq": 15672, "prometheus": 9090, "grafana": 3000}


def test_compose_mongodb_is_a_replica_set_the_services_name():
    mongodb = compose()["services"]["mongodb"]
    command = mongodb["command"]
    replica_set = command[command.index("--replSet") + 1]
    check = " ".join(mongodb["healthcheck"]["test"])
    assert "rs.initiate" in check and f"_id: '{replica_set}'" in check and "host: 'mongodb:27017'" in check
    assert "quit(1)" in check, "the healthcheck fails until the member is primary"
    for process in (p for p in PROCESSES if p.database):
        assert f"replicaSet={replica_set}" in environment(process.name)["MONGODB_URI"]


def test_compose_runs_prometheus_and_grafana_wired_to_the_monitoring_files():
    services = compose()["services"]
    mounts = {name: {v.split(":")[1]: v.split(":")[0] for v in services[name]["volumes"] if v.startswith("./")}
              for name in ("prometheus", "grafana")}
    for name, found in mounts.items():
        for source in found.values():
            assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"
    prometheus_config = yaml.safe_load((REPO / mounts["prometheus"]["/etc/prometheus/prometheus.yml"]).read_text())
    assert "/etc/prometheus/alerts.yml" in prometheus_config["rule_files"]
    assert mounts["prometheus"]["/etc/prometheus/alerts.yml"] == "./deploy/monitoring/alerts.yml"
    (job,) = [j for j in prometheus_config["scrape_configs"] if j["job_name"] == "wagw"]
    targets = {c["names"][0]: c["port"] for c in job["dns_sd_configs"]}
    assert targets == {p.name: p.port for p in SERVICES}
    assert targets.keys() <= services.keys()
    assert any(r.get("target_label") == "service" for r in job["relabel_configs"])
    provisioning = REPO / mounts["grafana"]["/etc/grafana/provisioning"]
    datasource = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090" and datasource["type"] == "prometheus"
    provider = yaml.safe_load((provisioning / "dashboards/wagw.yml").read_text())["providers"][0]
    dashboards = REPO / mounts["grafana"][provider["options"]["path"]]
    assert (dashboards / "wagw.json").exists()
    assert "GF_SECURITY_ADMIN_PASSWORD" in services["grafana"]["environment"]


def test_compose_infrastructure_is_the_real_thing_with_healthchecks_and_volumes():
    services = compose()["services"]
    assert services["mongodb"]["image"] == "mongo:7"
    assert re.fullmatch(r"rabbitmq:3\.\d+-management", services["rabbitmq"]["image"])
    assert services["redis"]["image"] == "redis:7"
    checks = {"mongodb": ["mongosh", "ping"], "rabbitmq": ["rabbitmq-diagnostics", "-q", "check_port_listener 15672"],
              "redis": ["redis-cli", "ping"]}
    for name, words in checks.items():
        test = " ".join(services[name]["healthcheck"]["test"])
        assert all(w in test for w in words), f"{name} healthcheck: {test}"
        volumes = [v.split(":")[0] for v in services[name]["volumes"]]
        assert volumes and all(v in compose()["volumes"] for v in volumes), f"{name}: a named volume for its data"
        assert services[name]["restart"] == "unless-stopped"


@by_process
def test_compose_processes_wait_for_healthy_dependencies(process):
    depends = compose()["services"][process.name]["depends_on"]
    needed = {"rabbitmq"} | ({"redis"} if process.redis else set()) | ({"mongodb"} if process.database else set())
    assert needed <= depends.keys()
    # A one-shot job (the simulator's broker user) has to have finished; a server has to be healthy.
    assert all(d["condition"] == ("service_completed_successfully" if name.endswith("-credentials")
                                  else "service_healthy") for name, d in depends.items())


# --- Kubernetes manifests ---------------------------------------------------------------------

NOT_LISTED = {"kustomization.yaml", "README.md", ".gitignore", "secrets.example.env"}


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


@cache
def documents(path: Path) -> tuple[dict, ...]:
    return tuple(d for d in yaml.safe_load_all(path.read_text()) if d is not None)


def all_documents() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in manifest_files() for doc in documents(path)]


def kind(k: str) -> list[tuple[Path, dict]]:
    return [(path, doc) for path, doc in all_documents() if doc["kind"] == k]


def env_file(path: Path) -> dict[str, str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def commented_keys(path: Path) -> set[str]:
    return {m[1] for m in re.finditer(r"^#\s*([A-Z][A-Z0-9_]*)=", path.read_text(), re.M)}


def test_every_manifest_parses_into_named_objects():
    assert len(manifest_files()) >= 10
    for path, doc in all_documents():
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), path


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(version):
    errors = []
    for path, doc in all_documents():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{path.relative_to(REPO)} {doc['kind']}/{doc['metadata']['name']}: "
                          f"{'.'.join(map(str, exc.path))}: {exc.message}")
    assert not errors, "\n".join(errors)


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


@pytest.mark.parametrize("path", kustomizations(), ids=lambda p: str(p.parent.relative_to(K8S)))
def test_kustomization_lists_every_file_of_its_folder(path):
    k = yaml.safe_load(path.read_text())
    assert k["kind"] == "Kustomization" and k["namespace"] == "wagw"
    referenced = set()
    for entry in k.get("resources", []):
        target = (path.parent / entry).resolve()
        assert target.exists(), f"{entry} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").exists(), f"{entry} is no kustomization"
        else:
            referenced.add(target.name)
    for generator in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
        referenced |= {Path(f).name for f in generator.get("envs", []) + generator.get("files", [])}
    present = {p.name for p in path.parent.iterdir() if p.is_file()} - NOT_LISTED
    assert referenced == present


def test_base_is_the_services_and_the_dev_overlay_adds_infrastructure():
    base = yaml.safe_load((K8S / "base/kustomization.yaml").read_text())
    assert all(not r.startswith("..") for r in base["resources"])
    assert {i["name"] for i in base["images"]} == {IMAGE.split(":")[0]}
    dev = yaml.safe_load((K8S / "overlays/dev/kustomization.yaml").read_text())
    assert {"../../base", "../../infra"} <= set(dev["resources"])
    base_kinds = {d["kind"] for p in (K8S / "base").glob("*.yaml") for d in documents(p)}
    assert "StatefulSet" not in base_kinds and "Job" not in base_kinds


def workloads() -> list[tuple[Path, dict]]:
    return kind("Deployment") + kind("StatefulSet")


def platform_workloads() -> dict[str, tuple[Process, dict]]:
    """Every Deployment/StatefulSet that runs one of our modules, by name."""
    found = {}
    for _, doc in workloads():
        command = doc["spec"]["template"]["spec"]["containers"][0].get("command", [])
        if command[:2] == ["python", "-m"]:
            found[doc["metadata"]["name"]] = (BY_MODULE[command[2]], doc)
    return found


def test_every_service_has_a_deployment_running_its_module():
    deployments = {d["metadata"]["name"]: d for _, d in kind("Deployment")}
    assert set(deployments) == {p.name for p in SERVICES}
    for name, (process, _) in platform_workloads().items():
        assert process.name == name, f"{name} runs {process.module}"
    assert SIMULATOR.name in platform_workloads()


def container_env(process: Process, doc: dict) -> dict[str, dict]:
    """Variable name -> its source, with the ConfigMap's keys spread by envFrom."""
    container = doc["spec"]["template"]["spec"]["containers"][0]
    env = {}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == CONFIG, "only the shared ConfigMap is spread"
        env |= {key: {"value": value} for key, value in env_file(K8S / "base/config.env").items()}
    return env | {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_workload_environment_is_complete_and_declared(process):
    _, doc = platform_workloads()[process.name]
    env = container_env(process, doc)
    assert process.needs() <= env.keys(), f"missing {sorted(process.needs() - env.keys())}"
    assert not env.keys() - declared(process.module), f"undeclared {sorted(env.keys() - declared(process.module))}"
    assert env[process.port_variable]["value"] == str(process.port)
    if process.database:
        assert env["MONGODB_DATABASE"]["value"] == process.database
    secrets, optional = env_file(K8S / "secrets.example.env"), commented_keys(K8S / "secrets.example.env")
    for name in ("AMQP_URL", "JWT_SECRET") if process is not SIMULATOR else ("JWT_SECRET",):
        if name in env:
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (SECRET, name), f"{name} comes from the Secret"
    for name, source in env.items():
        ref = source.get("valueFrom", {}).get("secretKeyRef")
        if ref and process is SIMULATOR and name == "AMQP_URL":
            assert ref == {"name": WORKER_SECRET, "key": "AMQP_URL"}, "a worker's own broker user"
        elif ref:
            assert ref["name"] == SECRET
            assert ref["key"] in secrets or (ref.get("optional") and ref["key"] in optional), ref["key"]
        ref = source.get("valueFrom", {}).get("configMapKeyRef")
        if ref:
            assert ref["name"] == CONFIG and ref["key"] in env_file(K8S / "base/config.env")


def test_config_map_holds_only_common_non_secret_settings():
    config = env_file(K8S / "base/config.env")
    assert config.keys() <= {v.name for v in [*variables_of(CommonSettings), *variables_of(MongoSettings)]}
    assert not config.keys() & {"AMQP_URL", "JWT_SECRET"}
    for key, value in config.items():
        assert not urlsplit(value).password, f"{key} carries credentials: they belong in the Secret"
    assert config["HTTP_HOST"] == "0.0.0.0"


def test_secret_example_agrees_with_the_dev_infrastructure():
    secrets = env_file(K8S / "secrets.example.env")
    amqp = urlsplit(secrets["AMQP_URL"])
    assert (amqp.username, amqp.password) == (secrets["RABBITMQ_DEFAULT_USER"], secrets["RABBITMQ_DEFAULT_PASS"])
    assert amqp.hostname in {d["metadata"]["name"] for _, d in kind("Service")}
    assert all("replace" in secrets[k] for k in ("JWT_SECRET", "RABBITMQ_DEFAULT_PASS")), "no real secret committed"


def pod_specs() -> list[tuple[str, dict]]:
    found = [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for _, d in workloads() + kind("Job")]
    assert len(found) >= 10
    return found


def test_every_pod_meets_the_restricted_pod_security_standard():
    for name, spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        assert all("hostPath" not in v for v in spec.get("volumes", [])), name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert not context.get("privileged") and "add" not in context["capabilities"], name
            limits, requests = container["resources"]["limits"], container["resources"]["requests"]
            assert {"cpu", "memory"} <= limits.keys() and {"cpu", "memory"} <= requests.keys(), name


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_platform_pods_are_probed_hardened_and_stop_gracefully(process):
    _, doc = platform_workloads()[process.name]
    spec = doc["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["image"] == IMAGE
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    if process in SERVICES:
        # preStop sleep, then the service's own bounded drain (listener, consumers, in-flight work).
        assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
        assert spec["terminationGracePeriodSeconds"] >= 40
    else:
        assert spec["terminationGracePeriodSeconds"] >= 30
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert process.port in ports.values()
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path and ports.get(get["port"], get["port"]) == process.port, probe


def test_every_workload_has_a_service_selecting_its_pods():
    services = [d for _, d in kind("Service")]
    for _, workload in workloads():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        ports = {p["name"] for c in workload["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
        matching = [s for s in services if s["spec"]["selector"].items() <= labels.items()]
        assert matching, f"no Service selects {workload['metadata']['name']}"
        assert all(p["targetPort"] in ports for s in matching for p in s["spec"]["ports"])
        if workload["kind"] == "StatefulSet":
            assert workload["spec"]["serviceName"] in {s["metadata"]["name"] for s in matching}
    for _, deployment in kind("Deployment"):
        service = next(s for s in services if s["metadata"]["name"] == deployment["metadata"]["name"])
        assert service["spec"]["type"] == "ClusterIP"


def test_every_service_scales_horizontally_and_survives_voluntary_disruptions():
    autoscalers = {d["spec"]["scaleTargetRef"]["name"]: d for _, d in kind("HorizontalPodAutoscaler")}
    budgets = [d for _, d in kind("PodDisruptionBudget")]
    for _, deployment in kind("Deployment"):
        name = deployment["metadata"]["name"]
        assert "replicas" not in deployment["spec"], f"{name}: the autoscaler owns the replica count"
        hpa = autoscalers[name]
        assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name
        assert any(m["type"] == "Resource" for m in hpa["spec"]["metrics"]), name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(mine) == 1, f"{name}: one PodDisruptionBudget"
        assert mine[0]["spec"].get("minAvailable") == 1 or mine[0]["spec"].get("maxUnavailable") == 1, name
        # CPU utilisation needs a CPU request to be measured against.
        assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    assert set(autoscalers) == {p.name for p in SERVICES}


@pytest.mark.parametrize("process", [p for p in SERVICES if p.redis], ids=lambda p: p.name)
def test_redis_url_comes_from_the_secret_when_set_else_from_the_config_map(process):
    """A password-protected Redis puts its URL in the Secret: every service must take it from there."""
    _, doc = platform_workloads()[process.name]
    container = doc["spec"]["template"]["spec"]["containers"][0]
    ref = container_env(process, doc)["REDIS_URL"]["valueFrom"]["secretKeyRef"]  # the last definition wins
    assert ref == {"name": SECRET, "key": "REDIS_URL", "optional": True}
    fallback = [e for e in container.get("env", []) if e["name"] == "REDIS_URL"][:-1]
    assert container.get("envFrom") or [e["valueFrom"]["configMapKeyRef"]["key"] for e in fallback] == ["REDIS_URL"]


def test_the_dev_simulator_logs_in_as_its_own_worker_user_made_by_a_job():
    (_, simulator), = [(p, d) for p, d in kind("StatefulSet") if d["metadata"]["name"] == SIMULATOR.name]
    assert simulator["spec"]["replicas"] == 1, "one broker user per worker"
    job = next(doc for _, doc in kind("Job") if doc["metadata"]["name"] == "worker-simulator-credentials")
    container = job["spec"]["template"]["spec"]["containers"][0]
    worker_id = f"{SIMULATOR.name}-0"  # WORKER_ID is the pod's name
    assert container["command"] == ["python", "-m", "wagw_worker_registry.credentials", "create", worker_id]
    env = {e["name"]: e for e in container["env"]}
    assert env["AMQP_URL"]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": "AMQP_URL"}
    assert env["WORKER_AMQP_URL"]["valueFrom"]["secretKeyRef"] == {"name": WORKER_SECRET, "key": "AMQP_URL"}
    assert urlsplit(env["RABBITMQ_MANAGEMENT_URL"]["value"]).hostname == "rabbitmq"
    simulator_env = {e["name"]: e for e in simulator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert simulator_env["AMQP_URL"]["valueFrom"]["secretKeyRef"]["name"] == WORKER_SECRET


def test_retired_jwt_keys_come_from_the_secret_when_set():
    optional = commented_keys(K8S / "secrets.example.env")
    assert "JWT_PREVIOUS_SECRETS" in optional
    for process in (p for p in SERVICES if p.jwt):
        _, doc = platform_workloads()[process.name]
        ref = container_env(process, doc)["JWT_PREVIOUS_SECRETS"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": SECRET, "key": "JWT_PREVIOUS_SECRETS", "optional": True}


def test_dev_infrastructure_is_mongodb_replica_set_rabbitmq_management_and_redis():
    images = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0] for _, d in kind("StatefulSet")}
    assert images["mongodb"]["image"] == "mongo:7"
    assert re.fullmatch(r"rabbitmq:3\.\d+-management", images["rabbitmq"]["image"])
    assert images["redis"]["image"] == "redis:7"
    args = images["mongodb"]["args"]
    replica_set = args[args.index("--replSet") + 1]
    uri = env_file(K8S / "base/config.env")["MONGODB_URI"]
    assert f"replicaSet={replica_set}" in uri
    job = next(doc for _, doc in kind("Job") if doc["metadata"]["name"] == "mongodb-init-replica-set")
    script = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    assert f'_id: "{replica_set}"' in script and "mongodb-0.mongodb:27017" in script


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed: kustomize rendering not checked")
@pytest.mark.parametrize("target", ["base", "infra", "overlays/dev"])
def test_kustomize_renders_valid_manifests(target):
    rendered = subprocess.run(["kubectl", "kustomize", str(K8S / target)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[-1], strict=True)
        assert doc["kind"] == "Namespace" or doc["metadata"]["namespace"] == "wagw"
    config_maps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    for doc in docs:
        for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, "the generated (hashed) name is referenced"


# --- NetworkPolicies ----------------------------------------------------------------------------

def policies() -> dict[str, dict]:
    """NetworkPolicies by the app.kubernetes.io/name their pods carry ('*' for every pod)."""
    found = {}
    for _, doc in kind("NetworkPolicy"):
        selector = doc["spec"]["podSelector"]
        found[selector["matchLabels"]["app.kubernetes.io/name"] if selector else "*"] = doc["spec"]
    return found


def tcp_ports(rule: dict) -> set[int]:
    return {p["port"] for p in rule.get("ports", []) if p.get("protocol", "TCP") == "TCP"}


def test_every_pod_is_denied_by_default_and_allowed_only_by_a_policy_of_its_own():
    found = policies()
    assert found["*"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "a namespace-wide default deny"
    pods = {d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] for _, d in workloads() + kind("Job")}
    assert pods <= found.keys(), f"no policy of their own: {sorted(pods - found.keys())}"
    for name, spec in found.items():
        assert spec["policyTypes"] == ["Ingress", "Egress"], name


@pytest.mark.parametrize("process", SERVICES, ids=lambda p: p.name)
def test_each_service_may_reach_only_the_broker_its_database_redis_the_media_store_and_dns(process):
    spec = policies()[process.name]
    dns = [r for r in spec["egress"] if r.get("to", [{}])[0].get("namespaceSelector")]
    assert len(dns) == 1 and {p["port"] for p in dns[0]["ports"]} == {53}
    reached = set().union(*(tcp_ports(r) for r in spec["egress"] if r not in dns and "to" not in r))
    expected = {5672, 5671, 6379} | ({27017} if process.database else set())
    expected |= {9000} if process.name == "gateway" else set()  # the media store (MinIO's port)
    assert reached == expected, process.name
    internet = [r for r in spec["egress"] if r not in dns and "to" in r]
    if process.name != "webhook-dispatcher":
        assert not internet, f"{process.name} has no business on the internet"
        return
    # Customers' endpoints: any public address, never the cluster's or another private range.
    blocks = {b["ipBlock"]["cidr"]: set(b["ipBlock"].get("except", [])) for b in internet[0]["to"]}
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"} <= blocks["0.0.0.0/0"]
    assert {"fc00::/7", "fe80::/10"} <= blocks["::/0"]


@pytest.mark.parametrize("process", SERVICES, ids=lambda p: p.name)
def test_only_the_edges_take_connections_from_anywhere_the_rest_from_prometheus(process):
    [rule] = policies()[process.name]["ingress"]
    assert tcp_ports(rule) == {process.port}
    if process.name in EDGE_PORTS:
        assert "from" not in rule
    else:
        [source] = rule["from"]
        assert source["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}


def test_the_dev_infrastructure_and_the_simulator_are_reachable_only_by_who_needs_them():
    found = policies()
    by_port = {tcp_ports(r).pop(): r["from"] for r in found["rabbitmq"]["ingress"]}
    assert set(by_port) == {5672, 15672}
    management = by_port[15672]
    assert management == [{"podSelector": {"matchExpressions": [
        {"key": "app.kubernetes.io/name", "operator": "In", "values": ["worker-credentials"]}]}}]
    assert found["worker-simulator"]["ingress"] == [], "its control API plays the phone: port-forward only"
    with_database = {p.name for p in SERVICES if p.database}
    for name, clients in (("mongodb", with_database | {"mongodb", "mongodb-init-replica-set"}),
                          ("redis", {p.name for p in SERVICES})):
        [rule] = found[name]["ingress"]
        assert set(rule["from"][0]["podSelector"]["matchExpressions"][0]["values"]) == clients, name
    [media] = found["objectstore"]["ingress"]
    assert tcp_ports(media) == {9000}
    assert [source["podSelector"]["matchLabels"] for source in media["from"]] == [
        {"app.kubernetes.io/name": "gateway"}, {"app.kubernetes.io/component": "worker"}]
