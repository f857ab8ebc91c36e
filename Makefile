# Entry points for people and CI; the logic lives in scripts/. `make` alone lists the targets.
# Extra pytest arguments: make test ARGS='-k webhook -x'
.DEFAULT_GOAL := help
SHELL := /bin/bash
ARGS ?=

.PHONY: help up down status test unit integration e2e docs infra-start infra-stop infra-status bootstrap clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

up: ## start infrastructure + all services + worker simulator, wait until ready
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

docs: ## regenerate the reference sections of README.md and docs/messages.md from the code
	@scripts/bootstrap.sh >/dev/null && .venv/bin/python tools/docs/generate.py

infra-start: ## start RabbitMQ, Redis and FerretDB (MongoDB)
	@scripts/infra.sh start

infra-stop: ## stop RabbitMQ, Redis and FerretDB
	@scripts/infra.sh stop

infra-status: ## state of RabbitMQ, Redis and FerretDB
	@scripts/infra.sh status

bootstrap: ## install system packages and the .venv (fast when up to date)
	@scripts/bootstrap.sh

clean: ## stop everything, delete .local/data and .local/log (keeps the built ferretdb)
	@scripts/platform.sh down
	rm -rf .local/data .local/log .local/run
