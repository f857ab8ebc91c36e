"""Fixtures for the platform-wide tests. Servers are started by `make test` (scripts/infra.sh)."""

from __future__ import annotations

import asyncio

import pytest
import redis

from harness.infra import create_vhost, delete_vhost
from harness.platform_run import PlatformRun


@pytest.fixture(scope="session")
def platform():
    """All five services and one simulated worker, shared by the end-to-end tests of a run."""
    vhost = asyncio.run(create_vhost("wagw-e2e"))
    run = PlatformRun(vhost)
    # Leases and caches of an earlier run must not leak into this one.
    redis.Redis.from_url(run.redis_url).flushdb()
    for name in ("gateway", "session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime"):
        run.add_service(name)
    # The dashboard the gateway serves tells browsers where this run's realtime service is.
    run.services["gateway"].env["DASHBOARD_REALTIME_URL"] = run.url("realtime")
    run.add_worker()
    try:
        asyncio.run(run.start())
    except Exception:
        run.stop()
        raise
    yield run
    run.stop()
    run.drop_databases()
    asyncio.run(delete_vhost(vhost))
