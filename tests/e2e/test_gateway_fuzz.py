"""schemathesis against the gateway's served OpenAPI document, every operation, with valid credentials
(an administrator's access token, and the API key of one of its connected sessions): no 5xx, and no
answer that breaks the document (status, content type, headers, body schema). Bounded: a fixed seed and
a few examples per operation. A failure leaves its report in test-artifacts/schemathesis/.

The fuzzer drains and removes workers and deletes what it finds, so it gets a platform of its own."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.fixtures import started_platform
from harness.gateway_world import connected_session
from harness.infra import REPO
from harness.platform_run import PlatformRun

# About a minute on a quiet machine; minutes more while other suites load the shared database.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance")
MAX_EXAMPLES = 8
SEED = 20260101
REPORTS = REPO / "test-artifacts" / "schemathesis"
FLEET_MUTATIONS = "^/api/v1/workers/.+"
ADMIN = f"fuzz-admin-{uuid.uuid4().hex[:8]}@example.com"


def _fuzzed_platform(run: PlatformRun) -> None:
    for name in ("session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime"):
        run.add_service(name)
    # The fuzzer's own administrator (bootstrap setting); no rate limit in its way; and patient with the
    # services behind it, as the shared local database can be slow while other suites run (a
    # request/reply timeout, 503, is then no fault of the API).
    run.add_service("gateway", GATEWAY_ADMIN_EMAILS=ADMIN, RPC_TIMEOUT_SECONDS="60",
                    RATE_LIMIT_USER_PER_MINUTE="1000000", RATE_LIMIT_API_KEY_PER_MINUTE="1000000")
    run.add_worker()


@pytest.fixture(scope="module")
def fuzzed():
    with started_platform("wagw-fuzz", _fuzzed_platform) as run:
        yield run


@pytest.fixture(scope="module")
def credentials(fuzzed):
    """The administrator's access token and the API key of one of its connected sessions."""
    async def make():
        async with aiohttp.ClientSession() as http:
            api = GatewayClient(fuzzed.url("gateway"), http)
            await api.request("POST", "/auth/register", json={"email": ADMIN, "password": "fuzzing password"},
                              expect=201)
            _, tokens, _ = await api.request("POST", "/auth/login",
                                             json={"email": ADMIN, "password": "fuzzing password"}, expect=200)
            _, key = await connected_session(api, http, fuzzed, tokens["access_token"], "fuzzed")
            return tokens["access_token"], key

    return asyncio.run(make())


def _command(fuzzed, credentials, phases: str) -> list[str]:
    token, key = credentials
    return [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{fuzzed.url('gateway')}/api/v1/openapi.json",
        "--checks", ",".join(CHECKS), "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
        # One worker: gentle on the shared servers (and schemathesis threads trip over CPython 3.11 here).
        "--phases", phases, "--workers", "1", "--request-timeout", "90",
        "--header", f"Authorization: Bearer {token}", "--header", f"X-API-Key: {key}",
        "--suppress-health-check", "all", "--report", "junit", "--report-dir", str(REPORTS / phases.replace(",", "-")),
        "--output-sanitize", "true", "--no-color",
    ]


async def _run(command: list[str]) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)  # also where schemathesis and hypothesis keep their caches (cwd)
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=540, cwd=REPORTS)
    print(result.stdout[-1200:])  # schemathesis's summary (shown with -s)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]


async def test_schemathesis_finds_no_server_error_and_no_answer_breaking_the_document(fuzzed, credentials):
    shutil.rmtree(REPORTS, ignore_errors=True)
    command = _command(fuzzed, credentials, "examples,coverage,fuzzing")
    # One worker's own routes (drain, remove, ...) last: once the fuzzer has drained or removed the
    # fleet's only worker, connecting a session is rightly 503 "no worker available".
    for scope in (["--exclude-path-regex", FLEET_MUTATIONS], ["--include-path-regex", FLEET_MUTATIONS]):
        await _run(command + scope)


async def test_schemathesis_stateful_sequences_follow_the_links(fuzzed, credentials):
    """Sequences of calls chained by the document's OpenAPI links (create a session, then connect, read,
    send through, delete it; create a webhook endpoint, then test, rotate, delete it; ...): no 5xx, and
    every answer conforms. The fleet's own routes stay out, so sessions can still be placed."""
    await _run(_command(fuzzed, credentials, "stateful") + ["--exclude-path-regex", FLEET_MUTATIONS])
