"""The credential store on the local PostgreSQL (scripts/infra.sh), a fresh database per test: the
session → device directory, the sent-message ids and the polls' options shared by two workers, and the real adapter with
the real library opening whatsmeow's own SQL store there, then reporting that WhatsApp cannot be
reached (no machine here can)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from wagw_worker_whatsapp.client import ConnectionFailed
from wagw_worker_whatsapp.devices import PostgresDevices, SqliteDevices, directory_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio, pytest.mark.timeout(120)]


async def test_a_device_remembered_by_one_worker_is_found_by_another(store_url):
    first, second = directory_for(store_url), directory_for(store_url)
    assert isinstance(first, PostgresDevices)
    assert await second.find("s_1") is None
    await first.remember("s_1", "0a0b")
    await first.remember("s_1", "0a0c")  # a new link replaces the old device
    assert await second.find("s_1") == "0a0c"
    await second.forget("s_1")
    assert await first.find("s_1") is None


async def test_the_id_a_message_was_sent_with_is_found_by_every_worker(store_url):
    first, second = directory_for(store_url), directory_for(store_url)
    await first.record_sent("WAGW00000000000000A1", "3EB0000000000000001")
    await second.record_sent("WAGW00000000000000A1", "3EB0000000000000999")  # a second send records nothing new
    assert await second.sent_as("WAGW00000000000000A1") == "3EB0000000000000001"
    assert await second.derived_from("3EB0000000000000001") == "WAGW00000000000000A1"
    assert await first.sent_as("WAGW00000000000000A2") is None


async def test_a_polls_options_recorded_by_one_worker_name_a_vote_on_another(store_url):
    first, second = directory_for(store_url), directory_for(store_url)
    await first.record_poll("3EB0000000000000P01", ["Tea", "Coffee"])
    await second.record_poll("3EB0000000000000P01", ["other"])  # recorded once: a repeat changes nothing
    assert await second.poll_options("3EB0000000000000P01") == ["Tea", "Coffee"]
    assert await first.poll_options("3EB0000000000000P02") is None


async def test_the_sqlite_directory_of_a_single_worker_laptop_keeps_the_same_promises(tmp_path):
    devices = directory_for(str(tmp_path / "credentials.db"))
    assert isinstance(devices, SqliteDevices)
    await devices.remember("s_1", "0a0b")
    assert await SqliteDevices(tmp_path / "credentials.db").find("s_1") == "0a0b"
    await devices.forget("s_1")
    assert await devices.find("s_1") is None
    await devices.record_poll("3EB0P", ["Tea", "Coffee"])
    assert await SqliteDevices(tmp_path / "credentials.db").poll_options("3EB0P") == ["Tea", "Coffee"]


async def test_the_real_library_opens_whatsmeows_store_in_postgresql_and_reports_whatsapp_unreachable(store_url):
    from wagw_worker_whatsapp.neonize_client import NeonizeClientFactory  # loads the library, after its checks

    events: asyncio.Queue = asyncio.Queue()
    client = NeonizeClientFactory(store_url, directory_for(store_url)).open("s_real", events.put)
    assert not await client.has_credentials()
    await client.connect()
    try:
        async with asyncio.timeout(60):
            event = await events.get()
        assert isinstance(event, ConnectionFailed) and "whatsapp" in event.reason.lower(), event
    finally:
        await client.disconnect()
    async with await psycopg.AsyncConnection.connect(store_url) as db:
        tables = {row[0] for row in await (await db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).fetchall()}
    assert {"whatsmeow_device", "whatsmeow_sessions", "whatsmeow_identity_keys", "wagw_session_devices"} <= tables
