"""The idempotency store's claim states, including expiry and an attempt that died half-way."""

from datetime import timedelta

import pytest

from wagw_gateway.idempotency import ABANDONED_AFTER, RETENTION, IdempotencyStore, Outcome, body_hash

from wagw_common.storage import utc_now

pytestmark = pytest.mark.unit


@pytest.fixture
def store(gateway) -> IdempotencyStore:
    return gateway.idempotency


def _age(store, by: timedelta, *fields):
    doc = store.collection.docs["k_1:key"]
    for field in fields:
        doc[field] = utc_now() - by


def test_body_hash_ignores_key_order():
    assert body_hash({"a": 1, "b": [1, 2]}) == body_hash({"b": [1, 2], "a": 1}) != body_hash({"a": 2, "b": [1, 2]})


@pytest.mark.asyncio
async def test_claim_lifecycle(store):
    assert (await store.claim("k_1", "key", "h1", {"message_id": "m_1"})).outcome is Outcome.NEW
    assert (await store.claim("k_1", "key", "h1", {"message_id": "m_2"})).outcome is Outcome.BUSY
    assert (await store.claim("k_1", "key", "h2", {"message_id": "m_2"})).outcome is Outcome.MISMATCH
    await store.complete("k_1", "key", 202, {"message_id": "m_1"})
    replay = await store.claim("k_1", "key", "h1", {"message_id": "m_3"})
    assert replay.outcome is Outcome.REPLAY and replay.response == {"status": 202, "body": {"message_id": "m_1"}}


@pytest.mark.asyncio
async def test_an_abandoned_attempt_is_resumed_with_its_reservation(store):
    await store.claim("k_1", "key", "h1", {"message_id": "m_1"})
    _age(store, ABANDONED_AFTER + timedelta(seconds=1), "claimed_at")
    resumed = await store.claim("k_1", "key", "h1", {"message_id": "m_2"})
    assert resumed.outcome is Outcome.RESUME and resumed.reserved == {"message_id": "m_1"}
    assert (await store.claim("k_1", "key", "h1", {"message_id": "m_3"})).outcome is Outcome.BUSY


@pytest.mark.asyncio
async def test_records_expire_after_24_hours(store):
    await store.claim("k_1", "key", "h1", {"message_id": "m_1"})
    await store.complete("k_1", "key", 202, {"message_id": "m_1"})
    _age(store, RETENTION + timedelta(seconds=1), "created_at", "claimed_at")
    fresh = await store.claim("k_1", "key", "h2", {"message_id": "m_2"})
    assert fresh.outcome is Outcome.NEW and fresh.reserved == {"message_id": "m_2"}
    _age(store, RETENTION + timedelta(seconds=1), "created_at")
    assert await store.purge_expired() == 1 and store.collection.docs == {}


@pytest.mark.asyncio
async def test_release_frees_an_unanswered_claim_only(store):
    await store.claim("k_1", "key", "h1", {"message_id": "m_1"})
    await store.release("k_1", "key")
    assert (await store.claim("k_1", "key", "h2", {"message_id": "m_2"})).outcome is Outcome.NEW
    await store.complete("k_1", "key", 202, {})
    await store.release("k_1", "key")
    assert (await store.claim("k_1", "key", "h2", {})).outcome is Outcome.REPLAY


@pytest.mark.asyncio
async def test_an_attempt_whose_publish_may_have_landed_is_resumed_at_once_with_its_ids(store):
    """A publish whose confirm was lost may have reached the broker: the retry must send the same id."""
    await store.claim("k_1", "key", "h1", {"message_id": "m_1"})
    await store.abandon("k_1", "key")
    resumed = await store.claim("k_1", "key", "h1", {"message_id": "m_2"})
    assert resumed.outcome is Outcome.RESUME and resumed.reserved == {"message_id": "m_1"}
