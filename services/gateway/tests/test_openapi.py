"""The OpenAPI 3.1 document: valid, generated from every route of the app, served with a docs page."""

import pytest
from openapi_spec_validator import validate
from wagw_common.contracts.identity import SCOPES
from wagw_common.settings import load

from wagw_gateway.apidoc import operation_of
from wagw_gateway.app import create_app
from wagw_gateway.openapi import build_document
from wagw_gateway.settings import DEFAULTS, Settings

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def app():
    return create_app(load(Settings, {}, **DEFAULTS))


@pytest.fixture(scope="module")
def document(app):
    return build_document(app)


def _routes(app):
    return [(r.method.lower(), r.resource.canonical, r.handler) for r in app.router.routes() if r.method != "HEAD"]


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_of_the_app_is_in_the_document(app, document):
    missing = [(m, p) for m, p, _ in _routes(app) if m not in document["paths"].get(p, {})]
    assert missing == []


def test_every_api_route_is_documented_beside_it(app):
    undocumented = [(m, p) for m, p, h in _routes(app) if p.startswith("/api/v1/") and operation_of(h) is None]
    assert undocumented == []


def test_operations_carry_their_authentication_errors_and_rate_limits(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert "default" in op["responses"], (method, path)
            if op["security"]:
                assert {"401", "403", "429"} <= set(op["responses"]), (method, path)
                success = next(s for s in op["responses"] if s.startswith("2"))
                assert "RateLimit-Remaining" in op["responses"][success]["headers"]


def test_path_parameters_carry_the_routes_own_patterns(document):
    [param] = document["paths"]["/api/v1/sessions/{session_id}"]["parameters"]
    assert param == {"in": "path", "name": "session_id", "required": True,
                     "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}


def test_send_is_api_key_only_and_idempotent(document):
    send = document["paths"]["/api/v1/send"]["post"]
    assert send["security"] == [{"apiKeyAuth": []}] and send["x-required-scope"] == "messages:send"
    assert any(p["name"] == "Idempotency-Key" for p in send["parameters"])
    create = document["paths"]["/api/v1/sessions"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"]) and "409" in create["responses"]


def test_the_scopes_are_described_once(document):
    assert all(scope in document["info"]["description"] for scope in SCOPES)


async def test_the_document_and_the_page_are_served(client):
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    served = await resp.json()
    validate(served)
    page = await client.get("/api/v1/docs")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert "<script" not in html and "http://" not in html.replace("http://127", "")
    for item in served["paths"].values():
        for method, op in item.items():
            if method != "parameters":
                assert f'id="{op["operationId"]}"' in html


def test_readiness_documents_its_own_503_body(document):
    unready = document["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
    assert set(unready["properties"]) == {"ready", "checks"}


def test_created_resources_link_to_the_operations_that_take_their_id(document):
    """OpenAPI links, for clients and for the stateful fuzzer (tests/e2e/test_gateway_fuzz.py)."""
    created = document["paths"]["/api/v1/sessions"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"] for link in created.values()}
    session_ops = {op["operationId"] for path, ops in document["paths"].items() if path.startswith("/api/v1/sessions/{")
                   for op in ops.values() if isinstance(op, dict) and "operationId" in op}
    assert targets == session_ops
    assert all(link["parameters"] == {"session_id": "$response.body#/session/session_id"} for link in created.values())
    sent = document["paths"]["/api/v1/send"]["post"]["responses"]["202"]["links"]
    assert {link["parameters"]["message_id"] for link in sent.values()} == {"$response.body#/message_id"}


def test_the_upload_route_describes_its_multipart_body_with_the_size_limit_and_the_types_it_takes(app, document):
    body = document["paths"]["/api/v1/media"]["post"]["requestBody"]
    form = body["content"]["multipart/form-data"]
    part = form["schema"]["properties"]["file"]
    assert form["schema"]["required"] == ["file"] and part["format"] == "binary"
    assert part["maxLength"] == load(Settings, {}, **DEFAULTS).media_max_bytes
    taken = set(form["encoding"]["file"]["contentType"].split(", "))
    assert {"image/*", "video/*", "audio/*", "application/pdf"} <= taken
    assert {"400", "413", "415"} <= set(document["paths"]["/api/v1/media"]["post"]["responses"])
