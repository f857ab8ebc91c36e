"""From a domain event on wagw.events to signed POSTs at a local endpoint: retries on a schedule
(delay queues), Retry-After, timeouts, exhaustion and 410, with every attempt logged."""

import asyncio
import time

import pytest

from harness.flows import wait_until
from harness.sink import verify

pytestmark = pytest.mark.integration
TENANT = "u_dispatcher_test"


def scripted(*statuses):
    """Answers with `statuses` in turn, then 200."""
    script = list(statuses)
    return lambda received: script.pop(0) if script else 200


async def test_an_event_reaches_the_endpoint_signed_and_logged(dispatcher, sinks):
    sink = await sinks()
    endpoint = await dispatcher.create_endpoint(sink.url, events=["message.sent"], headers={"X-Team": "support"})
    assert endpoint["secret"].startswith("whsec_") and endpoint["enabled"] is True
    assert endpoint["headers"] == {"x-team": "support"}

    event = await dispatcher.message_event("m_first")
    await sink.wait_for(lambda s: s.received)
    [received] = sink.received
    body = verify(endpoint["secret"], received)
    assert body["type"] == "message.sent" and body["data"]["message_id"] == "m_first"
    assert body["data"]["tenant_id"] == TENANT and body["timestamp"].endswith("Z")
    assert received.headers["webhook-id"] == event.id and received.headers["x-team"] == "support"

    [delivery] = await dispatcher.settled(endpoint["endpoint_id"])
    assert delivery["status"] == "succeeded" and delivery["event_id"] == event.id and delivery["attempt_count"] == 1
    detail = await dispatcher.delivery(endpoint["endpoint_id"], delivery["delivery_id"])
    [attempt] = detail["attempts"]
    assert attempt["status_code"] == 200 and attempt["response_body"] == "answer from the sink"
    assert attempt["cycle"] == 1 and attempt["attempt"] == 1 and attempt["latency_ms"] >= 0
    assert detail["payload"] == body

    listed = await dispatcher.call("webhook.endpoint.list", {"tenant_id": TENANT})
    assert [e["endpoint_id"] for e in listed["endpoints"]] == [endpoint["endpoint_id"]]
    assert "secret" not in listed["endpoints"][0]


async def test_a_500_then_a_timeout_are_retried_with_the_same_webhook_id_until_success(start_dispatcher, sinks):
    dispatcher = await start_dispatcher(WEBHOOK_TIMEOUT_SECONDS="0.5")
    answers = [500, "slow"]

    async def answer(received):
        step = answers.pop(0) if answers else 200
        if step == "slow":
            await asyncio.sleep(1.5)  # longer than the attempt's timeout
            return 200
        return step

    sink = await sinks(answer)
    endpoint = await dispatcher.create_endpoint(sink.url)
    await dispatcher.message_event("m_retried")
    [delivery] = await dispatcher.settled(endpoint["endpoint_id"])
    assert delivery["status"] == "succeeded" and delivery["attempt_count"] == 3
    attempts = (await dispatcher.delivery(endpoint["endpoint_id"], delivery["delivery_id"]))["attempts"]
    assert [a["status_code"] for a in attempts] == [500, None, 200]
    assert attempts[0]["error"] == "HTTP 500" and "timed out" in attempts[1]["error"] and attempts[2]["error"] is None
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    # Every request carries the same webhook-id, so the receiver can tell it is one event.
    assert len(sink.ids) == 1 and len(sink.received) == 3
    for received in sink.received:
        verify(endpoint["secret"], received)


async def test_a_delivery_failing_every_attempt_is_exhausted_and_announced(dispatcher, sinks):
    sink = await sinks(lambda received: 503)
    endpoint = await dispatcher.create_endpoint(sink.url)
    async with dispatcher.webhook_events() as events:
        event = await dispatcher.message_event("m_doomed")
        [delivery] = await dispatcher.settled(endpoint["endpoint_id"])
        exhausted = await wait_until(lambda: _first(events, "webhook.delivery_exhausted"), timeout=10)
    # The schedule of the tests has three pauses: 1 + 3 attempts.
    assert delivery["status"] == "failed" and delivery["failure_reason"] == "exhausted"
    assert delivery["attempt_count"] == 4 and len(sink.received) == 4 and delivery["next_attempt_at"] is None
    assert exhausted.data["delivery_id"] == delivery["delivery_id"] and exhausted.data["event_id"] == event.id
    assert exhausted.data["attempts"] == 4 and exhausted.data["last_status_code"] == 503
    assert exhausted.subject == endpoint["endpoint_id"]


async def test_retry_after_is_honoured_with_the_first_delay_queue_long_enough(dispatcher, sinks):
    arrivals = []

    def answer(received):
        arrivals.append(time.monotonic())
        return (429, {"Retry-After": "1"}) if len(arrivals) == 1 else 200

    sink = await sinks(answer)
    endpoint = await dispatcher.create_endpoint(sink.url)
    await dispatcher.message_event("m_later")
    [delivery] = await dispatcher.settled(endpoint["endpoint_id"])
    assert delivery["status"] == "succeeded" and len(arrivals) == 2
    # The schedule's first pause is 0.2 s; asked for 1 s, the dispatcher waits in a queue of at least that.
    # (The longest queue of the tests' schedules is 0.6 s: Retry-After beyond the longest is capped to it.)
    assert arrivals[1] - arrivals[0] >= 0.55


async def test_410_gone_disables_the_endpoint_at_once(dispatcher, sinks):
    sink = await sinks(lambda received: 410)
    endpoint = await dispatcher.create_endpoint(sink.url)
    ref = {"tenant_id": TENANT, "endpoint_id": endpoint["endpoint_id"]}
    async with dispatcher.webhook_events() as events:
        await dispatcher.message_event("m_gone")
        [delivery] = await dispatcher.settled(endpoint["endpoint_id"])
        disabled = await wait_until(lambda: _first(events, "webhook.endpoint_disabled"), timeout=10)
    assert delivery["status"] == "failed" and delivery["failure_reason"] == "endpoint_gone"
    assert delivery["attempt_count"] == 1
    assert disabled.data["reason"] == "endpoint_gone" and disabled.data["endpoint_id"] == endpoint["endpoint_id"]
    seen = await dispatcher.call("webhook.endpoint.get", ref)
    assert seen["enabled"] is False and seen["disabled_reason"] == "endpoint_gone"
    assert "410" in seen["disabled_message"]
    await dispatcher.message_event("m_after_gone")
    await asyncio.sleep(1)
    assert len(sink.received) == 1  # a disabled endpoint gets nothing


async def _first(events, event_type):
    return next((e for e in events if e.type == event_type), None)
