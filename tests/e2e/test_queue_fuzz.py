"""Fuzzing every service queue with hypothesis-generated malformed messages (broken bytes, JSON that is
not an envelope, envelopes missing an attribute, of a type the queue does not handle, or of a type it
handles with data breaking the contract; worker-protocol messages included, on the queues workers
publish to). Every one must be dead-lettered into `<queue>.dead-letter` and counted in
`wagw_broker_messages_consumed_total{outcome="dead_lettered"}`, no process may crash, and every
service stays ready. Bounded: a fixed number of derandomized examples per queue."""

from __future__ import annotations

import json
import re
import uuid

import aio_pika
import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.flows import wait_until
from harness.infra import consumed_queue
from harness.scrape import scrape, total
from wagw_common.contracts import CATALOG
from wagw_common.topology import SERVICE_QUEUES, QueueSpec

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
EXAMPLES = 24  # per queue
CASES = [(service, queue) for service, queues in SERVICE_QUEUES.items() for queue in queues]
REQUIRED = ("specversion", "id", "source", "type", "time", "correlationid", "data")


def _topic_match(pattern: str, key: str) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\#", ".*").replace(r"\*", "[^.]+") + "$"
    return re.match(regex, key) is not None


def handled_types(queue: QueueSpec) -> list[str]:
    """The contract types a queue's bindings bring to it (delivery jobs come by name: all webhook ones)."""
    patterns = [re.sub(r"\.\d+$", "", key) for _, key in queue.bindings]  # a shard's key: message.send.<n>
    return sorted(t for t in CATALOG if any(_topic_match(p, t) for p in patterns)) or ["webhook.delivery.attempt"]


def _shell(message_type: str, data) -> dict:
    return {"specversion": "1.0", "id": uuid.uuid4().hex, "source": "fuzz", "type": message_type,
            "time": "2026-01-01T00:00:00Z", "correlationid": uuid.uuid4().hex, "data": data}


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                           | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                       max_size=4),
                           max_leaves=10)


def _not_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return True
    return False


def malformed(queue: QueueSpec) -> st.SearchStrategy[bytes]:
    """Messages that are wrong by construction, whatever hypothesis draws."""
    types = handled_types(queue)
    encode = lambda value: json.dumps(value).encode()  # noqa: E731
    not_json = st.binary(max_size=200).filter(_not_json)
    not_an_object = json_values.filter(lambda v: not isinstance(v, dict)).map(encode)
    missing_attribute = st.tuples(st.sampled_from(types), st.sampled_from(REQUIRED), json_values).map(
        lambda t: encode({k: v for k, v in _shell(t[0], {}).items() if k != t[1]}))
    wrong_attribute = st.tuples(st.sampled_from(types), st.sampled_from(REQUIRED[:-1]), json_values).map(
        lambda t: encode({**_shell(t[0], {}), t[1]: t[2] if t[2] is not None else 1}))
    unknown_type = st.text(alphabet="abcdefghijklmnopqrstuvwxyz.", min_size=1, max_size=30).map(
        lambda t: encode(_shell(f"fuzz.{t}", {})))
    data_not_an_object = st.tuples(st.sampled_from(types), json_values.filter(lambda v: not isinstance(v, dict))).map(
        lambda t: encode(_shell(t[0], t[1])))
    # Contracts refuse unknown fields: a draw of otherwise anything, plus one the contract cannot know.
    data_breaking_contract = st.tuples(st.sampled_from(types), st.dictionaries(st.text(max_size=12), json_values,
                                                                                max_size=5)).map(
        lambda t: encode(_shell(t[0], {**t[1], "fuzz_unknown_field_": True})))
    return st.one_of(not_json, not_an_object, missing_attribute, wrong_attribute, unknown_type, data_not_an_object,
                     data_breaking_contract)


def draw_bodies(queue: QueueSpec) -> list[bytes]:
    bodies: list[bytes] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(malformed(queue))
    def collect(body: bytes) -> None:
        bodies.append(body)

    collect()
    return bodies


async def _dead_lettered(url: str, queue: str) -> float:
    async with aiohttp.ClientSession() as http:
        _, samples = await scrape(http, url)
    return total(samples, "wagw_broker_messages_consumed_total", queue=queue, outcome="dead_lettered")


@pytest.mark.parametrize("service,queue", CASES, ids=[q.name for _, q in CASES])
async def test_fuzzed_messages_are_dead_lettered_and_counted(platform, service, queue):
    url = platform.url(service)
    bodies = draw_bodies(queue)
    marker = f"fuzz-{uuid.uuid4().hex[:8]}"
    before = await _dead_lettered(url, queue.name)
    target = await consumed_queue(platform.vhost, queue)
    connection = await aio_pika.connect(platform.vhost.amqp_url)
    async with connection:
        channel = await connection.channel()
        for n, body in enumerate(bodies):
            await channel.default_exchange.publish(
                aio_pika.Message(body, message_id=f"{marker}-{n}", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=target)

        async def all_counted():
            return await _dead_lettered(url, queue.name) - before >= len(bodies)

        await wait_until(all_counted, timeout=60, interval=0.3)
        dead_queue = await channel.get_queue(queue.dead_letter_name)
        ours: set[str] = set()

        async def all_dead_lettered():
            while (message := await dead_queue.get(fail=False)) is not None:
                await message.ack()
                if (message.message_id or "").startswith(marker):
                    ours.add(message.message_id)
            return len(ours) >= len(bodies)

        await wait_until(all_dead_lettered, timeout=30, interval=0.3)
    assert len(ours) == len(bodies)
    assert await _dead_lettered(url, queue.name) - before == len(bodies)
    # No crash, still ready: the process is alive and answers /readyz.
    process = platform.services[service]
    assert process.alive, process.tail()
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/readyz") as r:
            assert r.status == 200, await r.text()
