"""Refresh tokens: long-lived, single use, stored only as a SHA-256 hash, rotated on every use.

Each login starts a *family*, one document that holds the hash of the family's one current token.
A token reads `wagw_rt_<family id>.<secret>`: redeeming it swaps the current hash for the next
token's in one compare-and-set update, so two concurrent uses cannot both win. A token of a known
family that is not its current one is a replayed (stolen) token: the whole family is revoked, and
its legitimate holder has to log in again. A family also dies with the account's token generation
(password change, deactivation), checked by the caller."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pymongo import ASCENDING, ReturnDocument
from wagw_common.storage import utc_now

TOKEN_PREFIX = "wagw_rt_"
_TOKEN = re.compile(r"^wagw_rt_(rf_[0-9a-f]{16})\.([A-Za-z0-9_-]{43})$")


class RefreshRefused(Exception):
    """Unknown, expired, revoked or replayed; the message says which (never which token)."""


@dataclass(frozen=True)
class Family:
    family_id: str
    user_id: str
    token_generation: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(family_id: str) -> str:
    return f"{TOKEN_PREFIX}{family_id}.{secrets.token_urlsafe(32)}"


class RefreshTokenStore:
    def __init__(self, collection):
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("expires_at", ASCENDING)], name="by_expiry")

    async def start_family(self, user_id: str, token_generation: int, ttl: timedelta) -> str:
        """A new login: a new family and its first token."""
        family_id = "rf_" + secrets.token_hex(8)
        token = _new_token(family_id)
        now = utc_now()
        await self.collection.insert_one({
            "_id": family_id, "user_id": user_id, "token_generation": token_generation, "current_hash": _hash(token),
            "created_at": now, "refreshed_at": None, "expires_at": now + ttl, "revoked": False, "revoked_reason": None,
        })
        return token

    async def rotate(self, token: str, ttl: timedelta) -> tuple[Family, str]:
        """Redeem `token` for the family's next one."""
        match = _TOKEN.match(token)
        if match is None:
            raise RefreshRefused("not a refresh token")
        family_id, now = match.group(1), utc_now()
        presented, successor = _hash(token), _new_token(family_id)
        doc = await self.collection.find_one_and_update(
            {"_id": family_id, "current_hash": presented, "revoked": False, "expires_at": {"$gt": now}},
            {"$set": {"current_hash": _hash(successor), "refreshed_at": now, "expires_at": now + ttl}},
            return_document=ReturnDocument.AFTER)
        if doc is not None:
            return Family(doc["_id"], doc["user_id"], doc["token_generation"]), successor
        doc = await self.collection.find_one({"_id": family_id})
        if doc is None:
            raise RefreshRefused("unknown refresh token")
        if doc["revoked"]:
            raise RefreshRefused("this login was ended; log in again")
        if doc["current_hash"] != presented:
            await self.revoke(family_id, "reused")
            raise RefreshRefused("refresh token already used: this login was ended for safety; log in again")
        raise RefreshRefused("refresh token expired; log in again")

    async def revoke(self, family_id: str, reason: str) -> None:
        await self.collection.update_one({"_id": family_id, "revoked": False},
                                         {"$set": {"revoked": True, "revoked_reason": reason}})

    async def revoke_token(self, token: str, reason: str = "logout") -> None:
        """Log out: end the token's family, if the token is its current one (else there is nothing to do)."""
        match = _TOKEN.match(token)
        if match is not None:
            await self.collection.update_one({"_id": match.group(1), "current_hash": _hash(token), "revoked": False},
                                             {"$set": {"revoked": True, "revoked_reason": reason}})

    async def purge_expired(self) -> int:
        result = await self.collection.delete_many({"expires_at": {"$lt": utc_now() - timedelta(days=1)}})
        return result.deleted_count
