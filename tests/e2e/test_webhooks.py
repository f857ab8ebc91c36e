"""Webhooks through the running platform, as a customer uses them over HTTP: register an endpoint,
send it test events, read the delivery log with filters, redeliver by hand, rotate the secret."""

from __future__ import annotations

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.flows import wait_until
from harness.sink import WebhookSink, verify

pytestmark = pytest.mark.e2e


async def test_a_customer_manages_an_endpoint_and_its_deliveries_over_http(platform):
    sink = WebhookSink()
    await sink.start()
    try:
        async with aiohttp.ClientSession() as http:
            api = GatewayClient(platform.url("gateway"), http)
            alice, bob = await api.sign_up(), await api.sign_up()
            _, catalog, _ = await api.request("GET", "/webhooks/event-types", token=alice.token, expect=200)
            assert "message.sent" in {e["type"] for e in catalog["event_types"]}

            _, created, _ = await api.request("POST", "/webhooks", token=alice.token, expect=201,
                                              json={"url": sink.url, "events": ["message.*"],
                                                    "headers": {"X-Customer": "alice"}})
            endpoint = created["endpoint"]
            hook = f"/webhooks/{endpoint['endpoint_id']}"
            await api.request("GET", hook, token=bob.token, expect=404)  # another tenant's

            _, tested, _ = await api.request("POST", f"{hook}/test", token=alice.token, expect=202,
                                             json={"event_type": "message.sent"})
            first = await sink.wait_for(lambda r: r.payload["type"] == "message.sent")
            assert verify(endpoint["secret"], first)["data"]["tenant_id"] == endpoint["tenant_id"]
            assert {k.lower(): v for k, v in first.headers.items()}["x-customer"] == "alice"
            delivery_id = tested["delivery"]["delivery_id"]

            async def succeeded():
                _, page, _ = await api.request("GET", f"{hook}/deliveries?status=succeeded&event_type=message.sent",
                                               token=alice.token, expect=200)
                return page["deliveries"]

            [listed] = await wait_until(succeeded)
            assert listed["delivery_id"] == delivery_id and listed["test"] is True
            _, none, _ = await api.request("GET", f"{hook}/deliveries?status=failed", token=alice.token, expect=200)
            assert none == {"deliveries": [], "next_cursor": None}
            _, detail, _ = await api.request("GET", f"{hook}/deliveries/{delivery_id}", token=alice.token, expect=200)
            assert detail["delivery"]["attempts"][0]["status_code"] == 200
            assert detail["delivery"]["payload"] == first.payload

            await api.request("POST", f"{hook}/deliveries/{delivery_id}/redeliver", token=alice.token, expect=202)
            await sink.wait_for(lambda r: r is not first and r.headers["webhook-id"] == first.headers["webhook-id"])

            _, rotated, _ = await api.request("POST", f"{hook}/rotate-secret", token=alice.token, expect=200,
                                              json={"overlap_seconds": 600})
            await api.request("POST", f"{hook}/test", token=alice.token, expect=202)
            during = await sink.wait_for(lambda r: r.payload["type"] == "webhook.test")
            verify(endpoint["secret"], during)
            verify(rotated["endpoint"]["secret"], during)

            _, disabled, _ = await api.request("POST", f"{hook}/disable", token=alice.token, expect=200)
            assert disabled["endpoint"]["disabled_reason"] == "customer"
            await api.request("POST", f"{hook}/deliveries/{delivery_id}/redeliver", token=alice.token, expect=409)
            await api.request("DELETE", hook, token=alice.token, expect=204)
            await api.request("GET", hook, token=alice.token, expect=404)
    finally:
        await sink.stop()
