# syntax=docker/dockerfile:1
# One image for the whole platform: every service and the worker simulator are installed, and the
# command picks which one runs (compose `command:`, Kubernetes `command:`):
#
#   docker build -t wagw:latest .
#   docker run --rm -e HTTP_PORT=8081 wagw:latest python -m wagw_session_orchestrator
#
# Modules: wagw_gateway (8080), wagw_session_orchestrator (8081), wagw_worker_registry (8082),
# wagw_webhook_dispatcher (8083), wagw_realtime (8084), wagw_worker_simulator (8090).
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: every wheel the runtime needs, compiled here so no compiler reaches the final image.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Only used when a pinned dependency has no wheel for this platform (source build).
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Third-party wheels first: this layer is reused until the pins change.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip wheel --wheel-dir /wheels -r requirements/runtime.txt
COPY libs/common libs/common
COPY services services
COPY workers/sdk workers/sdk
COPY workers/simulator workers/simulator
# Non-editable wheels of our own packages; their dependencies are already among the wheels above.
RUN pip wheel --no-deps --wheel-dir /wheels/own libs/common services/* workers/sdk workers/simulator

# --- runtime: python, the pinned dependencies, our packages, a non-root user. Nothing else.
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.title="wagw" \
      org.opencontainers.image.description="WhatsApp Gateway platform: every service and the worker simulator in one image" \
      org.opencontainers.image.version="${VERSION}"
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HTTP_HOST=0.0.0.0
# The wheels are bind-mounted from the builder, so they never become a layer of this image.
# --no-index: the pins must be complete; a package missing from requirements/runtime.txt fails the build.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements/runtime.txt,target=/tmp/runtime.txt \
    pip install --no-index --find-links=/wheels -r /tmp/runtime.txt \
    && pip install --no-index --find-links=/wheels /wheels/own/*.whl \
    && pip check
# A numeric uid, so Kubernetes can verify runAsNonRoot without resolving names.
RUN groupadd --system --gid 10001 wagw \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin wagw
WORKDIR /app
USER 10001:10001
# Documentation only: each service listens on its own HTTP_PORT (defaults listed above).
EXPOSE 8080 8081 8082 8083 8084 8090
# Liveness of whichever process runs: a service on its HTTP_PORT, the simulator on its
# SIMULATOR_CONTROL_PORT. urllib because the slim image has no curl; urlopen raises on non-2xx.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; port = os.environ.get('HTTP_PORT') or os.environ.get('SIMULATOR_CONTROL_PORT') or '8080'; u.urlopen('http://127.0.0.1:%s/healthz' % port, timeout=4)"]
# aiohttp handles SIGTERM itself (graceful shutdown), so python can be PID 1.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "wagw_gateway"]
