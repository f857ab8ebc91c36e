"""Accounts: the gateway's own users collection."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError
from wagw_common.storage import utc_now
from wagw_common.tokens import Principal

ROLES = ("user", "admin")
# How many sessions a tenant may hold, by tier; the orchestrator enforces it at creation.
SESSION_LIMITS = {"BASIC": 1, "PRO": 5, "MAX": 20}
DEFAULT_TIER = "BASIC"


class EmailTaken(Exception):
    pass


def new_user_id() -> str:
    return "u_" + secrets.token_hex(8)


def stored_now() -> datetime:
    """Now, at the millisecond precision BSON keeps, so what a write answers equals what a read returns."""
    now = utc_now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def normalize_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    name: str | None
    password_hash: str
    role: str
    tier: str
    created_at: datetime

    @property
    def principal(self) -> Principal:
        return Principal(user_id=self.user_id, role=self.role, tier=self.tier)

    @property
    def session_limit(self) -> int:
        return SESSION_LIMITS.get(self.tier, SESSION_LIMITS[DEFAULT_TIER])


class UserStore:
    def __init__(self, collection):
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("email", ASCENDING)], unique=True, name="email_unique")

    async def add(self, user: User) -> None:
        doc = asdict(user)
        doc["_id"] = doc.pop("user_id")
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            raise EmailTaken(user.email) from None

    async def by_email(self, email: str) -> User | None:
        return _user(await self.collection.find_one({"email": normalize_email(email)}))

    async def by_id(self, user_id: str) -> User | None:
        return _user(await self.collection.find_one({"_id": user_id}))

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self.collection.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash}})


def _user(doc: dict | None) -> User | None:
    if doc is None:
        return None
    return User(user_id=doc["_id"], email=doc["email"], name=doc.get("name"), password_hash=doc["password_hash"],
                role=doc["role"], tier=doc["tier"], created_at=doc["created_at"])
