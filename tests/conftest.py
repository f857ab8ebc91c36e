"""Fixtures for the platform-wide tests. Servers are started by `make test` (scripts/infra.sh)."""

from __future__ import annotations

import pytest

from harness.fixtures import started_platform
from harness.platform_run import PlatformRun


def _all_services(run: PlatformRun) -> None:
    for name in ("gateway", "session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime"):
        run.add_service(name)
    # The dashboard the gateway serves tells browsers where this run's realtime service is.
    run.services["gateway"].env["DASHBOARD_REALTIME_URL"] = run.url("realtime")
    run.add_worker()


@pytest.fixture(scope="session")
def platform():
    """All five services and one simulated worker, shared by the end-to-end tests of a run."""
    with started_platform("wagw-e2e", _all_services) as run:
        yield run
