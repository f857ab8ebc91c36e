"""Idempotency-Key: the same key with the same body within 24 hours gets the first response.

One document per (API key id, Idempotency-Key), claimed by an insert (the unique `_id` settles
races). The claim reserves what the first attempt will use (its message id), so an attempt that
died half-way is resumed with the same ids rather than run anew. TTL indexes are not available on
every supported server, so expired records are replaced on sight and purged periodically."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from wagw_common.storage import utc_now

RETENTION = timedelta(hours=24)
# A claim whose attempt has not finished after this long is taken to have died and may be resumed.
# Longer than the broker's publish retry window, so a slow attempt is not doubled.
ABANDONED_AFTER = timedelta(seconds=30)


class Outcome(enum.Enum):
    NEW = "new"  # first attempt: go ahead
    RESUME = "resume"  # an earlier attempt died before answering: redo it with its reservation
    REPLAY = "replay"  # answered before: return that answer
    BUSY = "busy"  # another attempt is running right now
    MISMATCH = "mismatch"  # the key was used with another body


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    reserved: dict[str, Any] | None = None
    response: dict[str, Any] | None = None

    # A claim to go ahead (NEW, RESUME) carries its reservation, a REPLAY its answer: a missing one is a bug.
    @property
    def reservation(self) -> dict[str, Any]:
        if self.reserved is None:
            raise ValueError(f"an idempotency claim ({self.outcome.value}) without its reservation")
        return self.reserved

    @property
    def answer(self) -> dict[str, Any]:
        if self.response is None:
            raise ValueError(f"an idempotency claim ({self.outcome.value}) without its stored answer")
        return self.response


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, collection):
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("created_at", name="by_age")

    @staticmethod
    def _id(scope: str, key: str) -> str:
        return f"{scope}:{key}"

    async def claim(self, scope: str, key: str, digest: str, reserved: dict[str, Any]) -> Claim:
        now = utc_now()
        doc_id = self._id(scope, key)
        fresh = {"body_hash": digest, "reserved": reserved, "response": None, "created_at": now, "claimed_at": now}
        try:
            await self.collection.insert_one({"_id": doc_id, **fresh})
            return Claim(Outcome.NEW, reserved)
        except DuplicateKeyError:
            pass
        expired = await self.collection.find_one_and_update(
            {"_id": doc_id, "created_at": {"$lt": now - RETENTION}}, {"$set": fresh})
        if expired is not None:
            return Claim(Outcome.NEW, reserved)
        existing = await self.collection.find_one({"_id": doc_id})
        if existing is None:  # purged between our two reads: claim it again
            return await self.claim(scope, key, digest, reserved)
        if existing["body_hash"] != digest:
            return Claim(Outcome.MISMATCH)
        if existing["response"] is not None:
            return Claim(Outcome.REPLAY, existing["reserved"], existing["response"])
        if existing["claimed_at"] > now - ABANDONED_AFTER:
            return Claim(Outcome.BUSY)
        taken = await self.collection.find_one_and_update(
            {"_id": doc_id, "response": None, "claimed_at": existing["claimed_at"]}, {"$set": {"claimed_at": now}},
            return_document=ReturnDocument.AFTER)
        return Claim(Outcome.RESUME, existing["reserved"]) if taken is not None else Claim(Outcome.BUSY)

    async def complete(self, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": self._id(scope, key)},
                                         {"$set": {"response": {"status": status, "body": body}}})

    async def release(self, scope: str, key: str) -> None:
        """The attempt failed before doing anything: let the next one start afresh."""
        await self.collection.delete_one({"_id": self._id(scope, key), "response": None})

    async def abandon(self, scope: str, key: str) -> None:
        """The attempt failed after it may have done something (a publish whose confirm was lost may
        have reached the broker): the next attempt resumes at once, with the same reservation."""
        await self.collection.update_one({"_id": self._id(scope, key), "response": None},
                                         {"$set": {"claimed_at": utc_now() - ABANDONED_AFTER - timedelta(seconds=1)}})

    async def purge_expired(self) -> int:
        result = await self.collection.delete_many({"created_at": {"$lt": utc_now() - RETENTION}})
        return result.deleted_count
