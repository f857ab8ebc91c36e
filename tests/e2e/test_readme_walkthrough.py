"""The README's curl walkthrough, run exactly as written against the running platform."""

import pytest

from harness.walkthrough import run_walkthrough

pytestmark = pytest.mark.e2e


def test_the_readme_walkthrough_works_as_written(platform):
    worker = next(iter(platform.workers))
    run_walkthrough(platform.url("gateway") + "/api/v1", platform.worker_url(worker))
