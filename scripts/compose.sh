#!/usr/bin/env bash
# docker-compose.yml run with podman on this host (no Docker engine, no container networking, no
# image registry): the images of scripts/images.sh, every container on the host network, every
# port from the environment. Arguments go to podman-compose, e.g.
#
#   export JWT_SECRET=...            # as for docker compose (or a .env file beside docker-compose.yml)
#   scripts/images.sh build          # once: the images, from Debian's packages
#   scripts/compose.sh up -d         # the platform, Prometheus included
#   scripts/compose.sh ps
#   scripts/compose.sh down -v
#
# Ports (defaults in brackets): WAGW_GATEWAY_PORT [8080], WAGW_SESSION_ORCHESTRATOR_PORT [8081],
# WAGW_WORKER_REGISTRY_PORT [8082], WAGW_WEBHOOK_DISPATCHER_PORT [8083], WAGW_REALTIME_PORT [8084],
# WAGW_SIMULATOR_PORT [8090], WAGW_MONGODB_PORT [27017], WAGW_RABBITMQ_PORT [5672],
# WAGW_RABBITMQ_MANAGEMENT_PORT [15672], WAGW_RABBITMQ_DIST_PORT [25672], WAGW_RABBITMQ_EPMD_PORT [4369],
# WAGW_REDIS_PORT [6379], WAGW_OBJECT_STORE_PORT [9000], WAGW_PROMETHEUS_PORT [9090]; with
# --profile whatsapp also WAGW_WHATSAPP_PORT [8091] and WAGW_WHATSAPP_STORE_PORT [5432]. The defaults are the ports `make up` uses:
# pick others while it runs. COMPOSE_PROJECT_NAME (default wagw) names the containers and volumes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONTAINERS_CONF="$ROOT/deploy/podman/containers.conf"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-wagw}"
export WAGW_IMAGE="${WAGW_IMAGE:-localhost/wagw:latest}"
export WAGW_WHATSAPP_IMAGE="${WAGW_WHATSAPP_IMAGE:-localhost/wagw-whatsapp:latest}"

# The scrape targets, at the ports above (Prometheus reads no environment in its configuration).
config_dir="$ROOT/.local/compose/$COMPOSE_PROJECT_NAME"
mkdir -p "$config_dir"
export WAGW_PROMETHEUS_CONFIG="$config_dir/prometheus.yml"
target() { printf '      - targets: ["127.0.0.1:%s"]\n        labels: {service: %s}\n' "$2" "$1"; }
{
    printf '# Written by scripts/compose.sh from the ports of this run.\n'
    printf 'global:\n  scrape_interval: 5s\n  evaluation_interval: 15s\nrule_files:\n  - /etc/prometheus/alerts.yml\n'
    printf 'scrape_configs:\n  - job_name: wagw\n    metrics_path: /metrics\n    static_configs:\n'
    target gateway "${WAGW_GATEWAY_PORT:-8080}"
    target session-orchestrator "${WAGW_SESSION_ORCHESTRATOR_PORT:-8081}"
    target worker-registry "${WAGW_WORKER_REGISTRY_PORT:-8082}"
    target webhook-dispatcher "${WAGW_WEBHOOK_DISPATCHER_PORT:-8083}"
    target realtime "${WAGW_REALTIME_PORT:-8084}"
    printf '  - job_name: prometheus\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' "${WAGW_PROMETHEUS_PORT:-9090}"
} >"$WAGW_PROMETHEUS_CONFIG.tmp"
mv "$WAGW_PROMETHEUS_CONFIG.tmp" "$WAGW_PROMETHEUS_CONFIG"

compose="$ROOT/.venv/bin/podman-compose"
[[ -x "$compose" ]] || compose="$(command -v podman-compose)" || { echo "compose: no podman-compose (scripts/bootstrap.sh installs it)" >&2; exit 1; }
cd "$ROOT"
exec "$compose" -f docker-compose.yml -f deploy/podman/compose.yml "$@"
