"""The orchestrator's reads have a queue of their own: a history query asked behind a backlog of one
session's sends is answered while the backlog is still being worked through (sharing the sends'
queue, it would come out only after nearly all of them). No clock in the assertion: the answer
itself says how far the backlog had got."""

from __future__ import annotations

import secrets

import aio_pika
import aiohttp
import pytest

from harness.api import GatewayClient
from harness.flows import wait_until
from wagw_common import topology
from wagw_common.broker import Broker

pytestmark = pytest.mark.e2e
BACKLOG = 120


async def test_a_history_query_is_answered_ahead_of_a_send_backlog(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        _, me, _ = await api.request("GET", "/users/me", token=customer.token, expect=200)
        tenant_id = me.get("user", me)["user_id"]
        _, created, _ = await api.request("POST", "/sessions", token=customer.token, json={"name": "busy"},
                                          expect=201)
        sid = created["session"]["session_id"]
        # A backlog of sends of one session (handled one after another, on its shard): straight onto
        # the broker, as many gateways would put them. The session is not connected, so each is stored
        # and refused at once (no worker involved).
        envelopes = Broker("amqp://unused", source="gateway")
        connection = await aio_pika.connect(platform.vhost.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(topology.COMMANDS)
            for n in range(BACKLOG):
                envelope = envelopes.envelope("message.send", {
                    "tenant_id": tenant_id, "session_id": sid, "message_id": f"m_{secrets.token_hex(8)}",
                    "to": "+628123456789", "type": "text", "text": f"#{n}"}, subject=sid)
                await exchange.publish(aio_pika.Message(envelope.to_json(),
                                                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                                        type=envelope.type, message_id=envelope.id),
                                       routing_key=topology.send_routing_key(sid))
        _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=customer.token,
                                       params={"limit": "200"}, expect=200)
        stored_then = len(page["messages"])
        print(f"\nqueries: history answered with {stored_then} of {BACKLOG} backlogged sends stored")
        assert stored_then < BACKLOG // 2, stored_then

        async def all_stored():
            count, cursor = 0, None
            while True:
                params = {"limit": "200", **({"before": cursor} if cursor else {})}
                _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=customer.token,
                                               params=params, expect=200)
                count += len(page["messages"])
                cursor = page["next_cursor"]
                if not cursor:
                    return count == BACKLOG

        await wait_until(all_stored, timeout=120, interval=1)
        await api.request("DELETE", f"/sessions/{sid}", token=customer.token, expect=204)
