"""Bad input is always a clean 4xx in the one error envelope, never a 500."""

import pytest

pytestmark = pytest.mark.unit

REGISTER = "/api/v1/auth/register"


@pytest.mark.asyncio
async def test_field_errors_are_422_with_marshmallow_details(client, expect_error):
    resp = await client.post(REGISTER, json={"email": "not-an-email", "password": "short", "role": "admin"})
    error = await expect_error(resp, 422, "validation_failed")
    assert set(error["details"]) == {"email", "password", "role"}
    assert error["details"]["role"] == ["Unknown field."]


@pytest.mark.asyncio
async def test_missing_and_mistyped_fields_are_422(client, expect_error):
    error = await expect_error(await client.post(REGISTER, json={"password": 12345678901}), 422, "validation_failed")
    assert error["details"] == {"email": ["Missing data for required field."], "password": ["Not a valid string."]}


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [b"", b"{", b"{'email': 1}", b"\xff\xfe", b"nul"])
async def test_unparseable_body_is_400(client, expect_error, body):
    resp = await client.post(REGISTER, data=body, headers={"Content-Type": "application/json"})
    await expect_error(resp, 400, "bad_request")


@pytest.mark.asyncio
async def test_unknown_charset_is_400(client, expect_error):
    resp = await client.post(REGISTER, data=b"{}", headers={"Content-Type": "application/json; charset=klingon"})
    await expect_error(resp, 400, "bad_request")


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [b"[]", b'"text"', b"3", b"null"])
async def test_json_that_is_not_an_object_is_422(client, expect_error, body):
    await expect_error(await client.post(REGISTER, data=body), 422, "validation_failed")


@pytest.mark.asyncio
async def test_oversize_body_is_413(client, expect_error):
    resp = await client.post(REGISTER, json={"email": "a@example.com", "password": "x" * 5000})
    error = await expect_error(resp, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 2048}


@pytest.mark.asyncio
async def test_query_string_is_validated_with_the_contract(client, auth, expect_error):
    resp = await client.get("/api/v1/sessions/s_1/messages?limit=abc&sort=asc", headers=auth())
    error = await expect_error(resp, 422, "validation_failed")
    assert set(error["details"]) == {"limit", "sort"}
    resp = await client.get("/api/v1/sessions/s_1/messages?limit=1&limit=2", headers=auth())
    assert (await expect_error(resp, 422, "validation_failed"))["details"] == {"limit": ["given more than once"]}


@pytest.mark.asyncio
async def test_malformed_ids_in_paths_are_404(client, auth, expect_error):
    await expect_error(await client.get("/api/v1/sessions/bad%20id", headers=auth()), 404, "not_found")
    await expect_error(await client.get("/api/v1/messages/" + "m" * 65, headers=auth()), 404, "not_found")


@pytest.mark.asyncio
async def test_unknown_route_and_method_use_the_envelope(client, expect_error):
    await expect_error(await client.get("/api/v1/nothing"), 404, "not_found")
    resp = await client.delete("/api/v1/users/me")
    await expect_error(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]
