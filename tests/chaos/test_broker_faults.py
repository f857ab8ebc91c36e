"""RabbitMQ restarted, then SIGKILLed, under load: every service reconnects by itself, and every
message accepted before, during and after the outage is sent once, stored, and delivered by webhook."""

import pytest

from harness.chaos_world import chaos_round, server_outage

pytestmark = pytest.mark.chaos


async def test_broker_restart_under_load(chaos_world):
    await chaos_round(chaos_world, server_outage(chaos_world.infra.rabbit, down=2))


async def test_broker_sigkill_under_load(chaos_world):
    await chaos_round(chaos_world, server_outage(chaos_world.infra.rabbit, down=2, kill=True))
