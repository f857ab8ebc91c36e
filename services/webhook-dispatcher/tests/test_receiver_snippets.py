"""The receivers documented in docs/webhooks.md, run as written (Python and Node) against real
deliveries from the dispatcher: each verifies and handles a delivery once, and refuses a forgery."""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest

from harness.flows import wait_until
from harness.processes import free_port
from wagw_webhook_dispatcher.secrets import new_signing_secret
from wagw_webhook_dispatcher.sender import signed_headers

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"
RUNNERS = {"receiver.py": [sys.executable], "receiver.js": [shutil.which("node") or "node"]}


def snippet(name: str) -> str:
    match = re.search(rf"<!-- snippet: {re.escape(name)} -->\n```\w+\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"docs/webhooks.md has no snippet {name}"
    return match.group(1)


class Receiver:
    """A documented snippet running as its own process; what it handles, it prints (one JSON a line)."""

    def __init__(self, name: str, tmp_path: Path):
        self.path = tmp_path / name
        self.path.write_text(snippet(name))
        self.runner = RUNNERS[name]
        self.port = free_port()
        self.handled: list[dict] = []
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self, secret: str) -> None:
        env = {**os.environ, "WEBHOOK_SECRET": secret, "PORT": str(self.port)}
        self.process = await asyncio.create_subprocess_exec(*self.runner, str(self.path), env=env,
                                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        asyncio.get_running_loop().create_task(self._read())
        await wait_until(self._listening, timeout=15)

    async def _listening(self) -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        return True

    async def _read(self) -> None:
        while line := await self.process.stdout.readline():
            self.handled.append(json.loads(line))

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


async def test_the_documented_receivers_verify_real_deliveries_and_refuse_forgeries(dispatcher, tmp_path):
    receivers = [Receiver(name, tmp_path) for name in RUNNERS]
    try:
        for receiver in receivers:
            endpoint = await dispatcher.create_endpoint(receiver.url, events=["message.sent"])
            receiver.endpoint = endpoint
            await receiver.start(endpoint["secret"])
        event = await dispatcher.message_event("m_for_the_snippets")
        for receiver in receivers:
            await wait_until(lambda r=receiver: _handled(r), timeout=15)
            [handled] = receiver.handled
            assert handled["type"] == "message.sent" and handled["data"]["message_id"] == "m_for_the_snippets"
            [delivery] = await dispatcher.settled(receiver.endpoint["endpoint_id"])
            assert delivery["status"] == "succeeded" and delivery["last_attempt"]["status_code"] == 204
            assert delivery["event_id"] == event.id

            # A redelivery carries the same webhook-id: accepted, but not handled twice.
            await dispatcher.call("webhook.delivery.redeliver", {"tenant_id": "u_dispatcher_test",
                                                                 "endpoint_id": receiver.endpoint["endpoint_id"],
                                                                 "delivery_id": delivery["delivery_id"]})
            [again] = await dispatcher.settled(receiver.endpoint["endpoint_id"])
            assert again["attempt_count"] == 2 and again["last_attempt"]["status_code"] == 204
            assert len(receiver.handled) == 1

            # A request signed with another key, or with the body changed after signing, is refused.
            body = b'{"type":"message.sent","timestamp":"2026-01-01T12:00:00Z","data":{}}'
            now = datetime.now(timezone.utc)
            forged = signed_headers([new_signing_secret()], message_id="evt_forged", timestamp=now, body=body.decode())
            genuine = signed_headers([receiver.endpoint["secret"]], message_id="evt_genuine", timestamp=now,
                                     body=body.decode())
            async with aiohttp.ClientSession() as http:
                for headers, sent, expected in ((forged, body, 400), (genuine, body.replace(b"{}", b'{"x":1}'), 400),
                                                (genuine, body, 204)):
                    async with http.post(receiver.url, data=sent, headers=headers) as answer:
                        assert answer.status == expected, (receiver.path.name, headers["webhook-id"])
            assert len(receiver.handled) == 2
    finally:
        for receiver in receivers:
            await receiver.stop()


async def _handled(receiver):
    return receiver.handled
