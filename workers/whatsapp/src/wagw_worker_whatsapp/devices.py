"""The worker's own two tables beside whatsmeow's, in the same credential store (SQLite on a laptop,
PostgreSQL shared by every worker):

- `wagw_session_devices`: which linked device (whatsmeow's JID) belongs to which session. whatsmeow's
  SQL store keeps any number of devices, known by their JID; a session id means nothing to it. This
  lets whichever worker restores a session find its device.
- `wagw_sent_messages`: the WhatsApp id a message was sent with, by the id derived from the platform's
  (`ids`), for a library that cannot send with a chosen id (neonize 0.5.2): a send repeated on any
  worker finds it was sent, and a receipt of whatsmeow's id finds the platform's message.
- `wagw_polls`: each poll's options by its WhatsApp id (sent or received): a vote names the options it
  chose by their hashes only, and whichever worker holds the session when it arrives names them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

DEVICES, SENT, POLLS = "wagw_session_devices", "wagw_sent_messages", "wagw_polls"
SCHEMA = (f"CREATE TABLE IF NOT EXISTS {DEVICES} (session_id TEXT PRIMARY KEY, device_jid TEXT NOT NULL)",
          f"CREATE TABLE IF NOT EXISTS {SENT} (derived_id TEXT PRIMARY KEY, wa_message_id TEXT NOT NULL UNIQUE)",
          f"CREATE TABLE IF NOT EXISTS {POLLS} (wa_message_id TEXT PRIMARY KEY, options TEXT NOT NULL)")


def is_postgres(store: str) -> bool:
    return store.startswith(("postgres://", "postgresql://"))


class StoreTables:
    """The queries of both tables; `_run` is the backend (`?` placeholders, rewritten for PostgreSQL)."""

    async def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    async def find(self, session_id: str) -> str | None:
        rows = await self._run(f"SELECT device_jid FROM {DEVICES} WHERE session_id = ?", (session_id,))
        return rows[0][0] if rows else None

    async def remember(self, session_id: str, device_jid: str) -> None:
        await self._run(f"INSERT INTO {DEVICES} VALUES (?, ?) ON CONFLICT (session_id) "
                        "DO UPDATE SET device_jid = excluded.device_jid", (session_id, device_jid))

    async def forget(self, session_id: str) -> None:
        await self._run(f"DELETE FROM {DEVICES} WHERE session_id = ?", (session_id,))

    async def sent_as(self, derived_id: str) -> str | None:
        rows = await self._run(f"SELECT wa_message_id FROM {SENT} WHERE derived_id = ?", (derived_id,))
        return rows[0][0] if rows else None

    async def derived_from(self, wa_message_id: str) -> str | None:
        rows = await self._run(f"SELECT derived_id FROM {SENT} WHERE wa_message_id = ?", (wa_message_id,))
        return rows[0][0] if rows else None

    async def record_sent(self, derived_id: str, wa_message_id: str) -> None:
        await self._run(f"INSERT INTO {SENT} VALUES (?, ?) ON CONFLICT DO NOTHING", (derived_id, wa_message_id))

    async def record_poll(self, wa_message_id: str, options: list[str]) -> None:
        await self._run(f"INSERT INTO {POLLS} VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (wa_message_id, json.dumps(options)))

    async def poll_options(self, wa_message_id: str) -> list[str] | None:
        rows = await self._run(f"SELECT options FROM {POLLS} WHERE wa_message_id = ?", (wa_message_id,))
        return json.loads(rows[0][0]) if rows else None


class SqliteDevices(StoreTables):
    def __init__(self, path: Path):
        self.path = path

    def _blocking(self, sql: str, args: tuple) -> list[tuple]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as db:
            for statement in SCHEMA:
                db.execute(statement)
            return db.execute(sql, args).fetchall()

    async def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        return await asyncio.to_thread(self._blocking, sql, args)


class PostgresDevices(StoreTables):
    def __init__(self, url: str):
        self.url = url

    async def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        import psycopg  # noqa: PLC0415 (only a worker configured with PostgreSQL needs it)

        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as db:
            for statement in SCHEMA:
                await db.execute(statement)
            cursor = await db.execute(sql.replace("?", "%s"), args)
            return await cursor.fetchall() if cursor.description else []


def directory_for(store: str) -> StoreTables:
    return PostgresDevices(store) if is_postgres(store) else SqliteDevices(Path(store))
