# Entry points for people and CI; the logic lives in scripts/. `make` alone lists the targets.
# Extra pytest arguments: make test ARGS='-k webhook -x'
.DEFAULT_GOAL := help
SHELL := /bin/bash
ARGS ?=

.PHONY: help up down status test unit integration e2e chaos docs infra-start infra-stop infra-status bootstrap clean bench bench-realtime bench-workers worker-credentials

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

up: ## start infrastructure + all services + worker simulator (WORKER=whatsapp: the real WhatsApp worker), wait until ready
	@scripts/platform.sh up

down: ## stop all services and the infrastructure
	@scripts/platform.sh down

status: ## show every process and the infrastructure
	@scripts/platform.sh status

test: ## the whole test suite (bootstrap + infra start + pytest)
	@scripts/test.sh $(ARGS)

unit: ## unit tests only
	@scripts/test.sh -m unit $(ARGS)

integration: ## integration tests only
	@scripts/test.sh -m integration $(ARGS)

e2e: ## end-to-end tests only
	@scripts/test.sh -m e2e $(ARGS)

chaos: ## fault tests on private servers (restarts, SIGKILL, network), each ending with a no-loss audit
	@scripts/test.sh -m chaos $(ARGS)

bench: ## the platform measured beside same-run baselines: JSON + PNG in bench/results/ (one part: ARGS='--only sends')
	@scripts/bootstrap.sh >/dev/null && scripts/infra.sh start >/dev/null && .venv/bin/python bench/run.py $(ARGS)

bench-realtime: ## Socket.IO push latency, 1,000 clients, beside a bare python-socketio baseline (bench/results/)
	@scripts/bootstrap.sh >/dev/null && scripts/infra.sh start >/dev/null && .venv/bin/python bench/realtime/run.py $(ARGS)

bench-workers: ## 1,000 simulated workers x 50 sessions into the registry: heartbeat lag, CPU, broker baseline (bench/results/)
	@scripts/bootstrap.sh >/dev/null && scripts/infra.sh start >/dev/null && .venv/bin/python bench/workers/run.py $(ARGS)

worker-credentials: ## a worker's own broker user and queue: make worker-credentials WORKER_ID=w-1 (AMQP_URL: admin)
	@test -n "$(WORKER_ID)" || { echo "usage: make worker-credentials WORKER_ID=<worker id>" >&2; exit 2; }
	@.venv/bin/python -m wagw_worker_registry.credentials create "$(WORKER_ID)"

docs: ## regenerate the reference sections of README.md and docs/messages.md from the code
	@scripts/bootstrap.sh >/dev/null && .venv/bin/python tools/docs/generate.py

infra-start: ## start RabbitMQ, Redis, FerretDB (MongoDB) and PostgreSQL (WhatsApp credentials)
	@scripts/infra.sh start

infra-stop: ## stop RabbitMQ, Redis, FerretDB and PostgreSQL
	@scripts/infra.sh stop

infra-status: ## state of RabbitMQ, Redis, FerretDB and PostgreSQL
	@scripts/infra.sh status

bootstrap: ## install system packages and the .venv (fast when up to date)
	@scripts/bootstrap.sh

clean: ## stop everything, delete .local/data and .local/log (keeps the built ferretdb)
	@scripts/platform.sh down
	rm -rf .local/data .local/log .local/run
