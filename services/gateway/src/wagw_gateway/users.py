"""Accounts: the gateway's own users collection."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError
from wagw_common.storage import utc_now
from wagw_common.tokens import Principal

from .tiers import DEFAULT_TIER, ROLES, SESSION_LIMITS, TIERS  # noqa: F401 (re-exported)


class EmailTaken(Exception):
    pass


def new_user_id() -> str:
    return "u_" + secrets.token_hex(8)


def stored_now() -> datetime:
    """Now, at the millisecond precision BSON keeps, so what a write answers equals what a read returns."""
    return utc_now()


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
    active: bool = True
    # Bumped when the password changes: access tokens of an older generation are refused.
    token_generation: int = 0

    @property
    def principal(self) -> Principal:
        return Principal(user_id=self.user_id, role=self.role, tier=self.tier, generation=self.token_generation)

    @property
    def session_limit(self) -> int:
        return SESSION_LIMITS.get(self.tier, SESSION_LIMITS[DEFAULT_TIER])


class UserStore:
    def __init__(self, collection):
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("email", ASCENDING)], unique=True, name="email_unique")
        await self.collection.create_index([("created_at", ASCENDING)], name="by_age")

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
        """A rehash of the same password (new parameters): tokens stay valid."""
        await self.collection.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash}})

    async def change_password(self, user_id: str, password_hash: str) -> User | None:
        """A new password: every access token issued before it stops working."""
        return _user(await self.collection.find_one_and_update(
            {"_id": user_id}, {"$set": {"password_hash": password_hash}, "$inc": {"token_generation": 1}},
            return_document=ReturnDocument.AFTER))

    async def update(self, user_id: str, changes: dict[str, Any], *, end_logins: bool = False) -> User | None:
        """Set `tier`, `role` and/or `active`; `end_logins` also retires every token issued so far.
        None when there is no such account."""
        update: dict[str, Any] = {"$set": changes}
        if end_logins:
            update["$inc"] = {"token_generation": 1}
        return _user(await self.collection.find_one_and_update(
            {"_id": user_id}, update, return_document=ReturnDocument.AFTER))

    async def page(self, *, email: str | None, limit: int, offset: int) -> tuple[list[User], int]:
        """Accounts oldest first; `email` finds the one account with that address."""
        query = {"email": normalize_email(email)} if email else {}
        total = await self.collection.count_documents(query)
        cursor = self.collection.find(query).sort("created_at", ASCENDING).skip(offset).limit(limit)
        return [_found_user(doc) for doc in await cursor.to_list(None)], total


def _found_user(doc: dict) -> User:
    return User(user_id=doc["_id"], email=doc["email"], name=doc.get("name"), password_hash=doc["password_hash"],
                role=doc["role"], tier=doc["tier"], created_at=doc["created_at"], active=doc.get("active", True),
                token_generation=doc.get("token_generation", 0))


def _user(doc: dict | None) -> User | None:
    return _found_user(doc) if doc is not None else None
