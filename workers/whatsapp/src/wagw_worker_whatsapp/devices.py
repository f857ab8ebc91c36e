"""Which linked device (whatsmeow's JID in the credential store) belongs to which session.

whatsmeow's SQL store keeps any number of devices, known by their JID; a session id means nothing to
it. This small table, kept in the same database as the credentials (SQLite on a laptop, PostgreSQL
shared by every worker), lets whichever worker restores a session find its device."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Protocol

TABLE = "wagw_session_devices"


class DeviceDirectory(Protocol):
    async def find(self, session_id: str) -> str | None: ...

    async def remember(self, session_id: str, device_jid: str) -> None: ...

    async def forget(self, session_id: str) -> None: ...


def is_postgres(store: str) -> bool:
    return store.startswith(("postgres://", "postgresql://"))


def directory_for(store: str) -> DeviceDirectory:
    return PostgresDevices(store) if is_postgres(store) else SqliteDevices(Path(store))


class SqliteDevices:
    def __init__(self, path: Path):
        self.path = path

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (session_id TEXT PRIMARY KEY, device_jid TEXT NOT NULL)")
            return db.execute(sql, args).fetchall()

    async def find(self, session_id: str) -> str | None:
        rows = await asyncio.to_thread(self._run, f"SELECT device_jid FROM {TABLE} WHERE session_id = ?", (session_id,))
        return rows[0][0] if rows else None

    async def remember(self, session_id: str, device_jid: str) -> None:
        await asyncio.to_thread(self._run, f"INSERT INTO {TABLE} VALUES (?, ?) ON CONFLICT (session_id) "
                                           "DO UPDATE SET device_jid = excluded.device_jid", (session_id, device_jid))

    async def forget(self, session_id: str) -> None:
        await asyncio.to_thread(self._run, f"DELETE FROM {TABLE} WHERE session_id = ?", (session_id,))


class PostgresDevices:
    def __init__(self, url: str):
        self.url = url

    async def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        import psycopg  # noqa: PLC0415 (only a worker configured with PostgreSQL needs it)

        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as db:
            await db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} "
                             "(session_id TEXT PRIMARY KEY, device_jid TEXT NOT NULL)")
            cursor = await db.execute(sql, args)
            return await cursor.fetchall() if cursor.description else []

    async def find(self, session_id: str) -> str | None:
        rows = await self._run(f"SELECT device_jid FROM {TABLE} WHERE session_id = %s", (session_id,))
        return rows[0][0] if rows else None

    async def remember(self, session_id: str, device_jid: str) -> None:
        await self._run(f"INSERT INTO {TABLE} VALUES (%s, %s) ON CONFLICT (session_id) "
                        "DO UPDATE SET device_jid = excluded.device_jid", (session_id, device_jid))

    async def forget(self, session_id: str) -> None:
        await self._run(f"DELETE FROM {TABLE} WHERE session_id = %s", (session_id,))
