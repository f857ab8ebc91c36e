"""Fixtures of the chaos tests (tests/harness/chaos_world.py builds their platform)."""

import pytest

from harness.chaos_world import chaos_world_run


@pytest.fixture(scope="package")
def chaos_world():
    yield from chaos_world_run()
