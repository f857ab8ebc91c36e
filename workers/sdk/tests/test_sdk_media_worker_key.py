"""A worker's own media-store key, the one production gives workers (deploy/objectstore): it may only
write under `inbound/`, so the store refuses it every look (403), and received files are stored anyway."""

import hashlib
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from wagw_common.object_store import AccessDenied, Credentials, ObjectStore
from wagw_common.object_store.media import inbound_key
from wagw_common.object_store.settings import ObjectStoreSettings
from wagw_common.settings import load
from wagw_worker_sdk import MediaStorage

pytestmark = pytest.mark.unit

POLICY = Path(__file__).resolve().parents[3] / "deploy" / "objectstore" / "worker-inbound-policy.json"
SESSION, DATA = "s_8f14e45fceea167a", b"%PDF-1.7 a received document"


def _write_only_store() -> tuple[web.Application, list[str]]:
    """What S3 does with a key granted only s3:PutObject under inbound/: every read or look is 403."""
    written: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        if request.method == "PUT" and request.path.split("/", 2)[2].startswith("inbound/"):
            written.append(request.path)
            return web.Response(status=200)
        return web.Response(status=403, text="<Error><Code>AccessDenied</Code></Error>")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app, written


@pytest.mark.asyncio
async def test_a_received_file_is_stored_with_a_key_that_may_only_write_under_inbound():
    app, written = _write_only_store()
    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        store = ObjectStore(str(server.make_url("")), "wagw-media", Credentials("worker", "secret", "us-east-1"), http)
        with pytest.raises(AccessDenied):
            await store.exists(inbound_key(SESSION, hashlib.sha256(DATA).hexdigest()))
        described = await MediaStorage(store, max_bytes=1024).store_media(SESSION, DATA, filename="a.pdf")
    assert written == [f"/wagw-media/{inbound_key(SESSION, described['sha256'])}"]
    assert described["mimetype"] == "application/pdf" and described["size"] == len(DATA)


def test_the_documented_worker_policy_grants_writes_under_the_inbound_prefix_of_the_default_bucket_only():
    [statement] = json.loads(POLICY.read_text())["Statement"]
    bucket = load(ObjectStoreSettings, {}).media_bucket
    prefix = inbound_key(SESSION, "0" * 64).split("/", 1)[0]
    assert statement["Effect"] == "Allow" and statement["Action"] == ["s3:PutObject"]
    assert statement["Resource"] == [f"arn:aws:s3:::{bucket}/{prefix}/*"]
