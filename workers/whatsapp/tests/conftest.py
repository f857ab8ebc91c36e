"""The WhatsApp worker's tests use the workers' shared doubles and fixtures (tests/harness/worker_doubles.py),
and ask the worker questions the way the SDK asks them (`asker_of`)."""

import secrets
from types import SimpleNamespace

import psycopg
import pytest

from harness.infra import POSTGRES_SERVER
from harness.worker_doubles import FakeUplink, Platform, amqp_url, platform, uplink, vhost  # noqa: F401
from wagw_worker_sdk.queries import QueryAnswerer


class Asker:
    """Asks as the platform does and keeps the answer: its result, or its error's code and message."""

    def __init__(self, sessions):
        self.answerer = QueryAnswerer(sessions, self._reply)
        self.answer: dict = {}

    async def _reply(self, reply_to, request_id, session_id, query, *, result, error):
        self.answer = {"result": result, "error": error}

    async def __call__(self, query: str, session_id: str = "s_1", **args) -> dict:
        envelope = SimpleNamespace(data={"session_id": session_id, "query": query, "args": args})  # what it reads
        await self.answerer.answer(envelope, reply_to="asker", request_id="r1")
        return self.answer


@pytest.fixture
def asker_of():
    """`asker_of(handler)`: asks `handler` as the platform does, through the SDK's `QueryAnswerer`."""
    return Asker


@pytest.fixture
async def store_url():
    """A fresh database on the local PostgreSQL (scripts/infra.sh) as a credential store."""
    name = f"wagw_t_{secrets.token_hex(4)}"
    async with await psycopg.AsyncConnection.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        await admin.execute(f"CREATE DATABASE {name}")
    yield f"{POSTGRES_SERVER}/{name}?sslmode=disable"
    async with await psycopg.AsyncConnection.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")  # the Go library may still hold a connection
