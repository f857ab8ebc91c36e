"""The MongoDB-compatible server and Redis restarted under load: services ride it out (retrying, never
dead-lettering a message that was only waiting for its database), and the audit finds everything."""

import pytest

from harness.chaos_world import chaos_round, server_outage

pytestmark = pytest.mark.chaos
DOWN = 5.0  # seconds the server is away: longer than one handler's retries, as a real restart is


async def test_mongodb_restart_under_load(chaos_world):
    await chaos_round(chaos_world, server_outage(chaos_world.infra.mongo, down=DOWN))


async def test_mongodb_sigkill_under_load(chaos_world):
    await chaos_round(chaos_world, server_outage(chaos_world.infra.mongo, down=2, kill=True))


async def test_redis_restart_under_load(chaos_world):
    """Redis loses everything it held (no persistence): caches, leases and limits are rebuilt."""
    await chaos_round(chaos_world, server_outage(chaos_world.infra.redis, down=DOWN))
