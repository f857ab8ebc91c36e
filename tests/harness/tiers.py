"""Account tiers for tests: tiers are not sold through the API, so a test upgrades an account in the
gateway's own database (the tier is read fresh on every session create)."""

from __future__ import annotations

from pymongo import AsyncMongoClient

from .infra import MONGO_URI
from .platform_run import PlatformRun


async def set_tier(run: PlatformRun, email: str, tier: str) -> None:
    client: AsyncMongoClient = AsyncMongoClient(getattr(run, "mongo_uri", MONGO_URI))
    try:
        db = client[run.services["gateway"].env["MONGODB_DATABASE"]]
        result = await db["users"].update_one({"email": email}, {"$set": {"tier": tier}})
        assert result.matched_count == 1, f"no account {email}"
    finally:
        await client.close()
