"""Fixtures shared by the integration tests."""

import uuid

import pytest

from harness.infra import MONGO_URI
from wagw_common.storage import connect_mongo


@pytest.fixture
async def db():
    """A database of its own on the local MongoDB-compatible server, dropped afterwards."""
    name = f"wagw_it_{uuid.uuid4().hex[:8]}"
    client, database = await connect_mongo(MONGO_URI, name, startup_timeout=10)
    yield database
    await client.drop_database(name)
    await client.close()
