"""argon2id password hashing, off the event loop and bounded in concurrency (each hash takes
~64 MiB and tens of milliseconds with argon2-cffi's defaults)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None, *, concurrency: int = 4):
        self.hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """`password_hash` None (no such account) still costs one verification, so an unknown
        email answers as slowly as a wrong password."""
        if password_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash("no account has this password")
            password_hash = self._dummy_hash
        async with self._slots:
            try:
                return await asyncio.to_thread(self.hasher.verify, password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)
