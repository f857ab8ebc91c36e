"""RabbitMQ restarted, then SIGKILLed, under load: every service reconnects by itself, and every
message accepted before, during and after the outage is sent once, stored, and delivered by webhook.
The outage outlasts the workers' heartbeat window, yet no worker is declared offline: the registry
could not hear them either, and gives them time to come back before moving any session."""

import pytest

from harness.chaos_world import chaos_round, server_outage, times_declared_offline

pytestmark = pytest.mark.chaos


async def test_broker_restart_under_load(chaos_world):
    before = await times_declared_offline(chaos_world)
    await chaos_round(chaos_world, server_outage(chaos_world.infra.rabbit, down=2))
    assert await times_declared_offline(chaos_world) == before


async def test_broker_sigkill_under_load(chaos_world):
    before = await times_declared_offline(chaos_world)
    await chaos_round(chaos_world, server_outage(chaos_world.infra.rabbit, down=2, kill=True))
    assert await times_declared_offline(chaos_world) == before
