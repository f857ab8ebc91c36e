"""The one table that maps the services' refusals to HTTP."""

import pytest
from wagw_common.errors import RemoteError, Unavailable

from wagw_gateway.errors import REMOTE_ERRORS, from_domain_error

pytestmark = pytest.mark.unit


def test_the_table():
    assert REMOTE_ERRORS == {"not_found": 404, "conflict": 409, "limit_exceeded": 403, "invalid": 422,
                             "unavailable": 503}


@pytest.mark.parametrize("code,status,client_code", [
    ("not_found", 404, "not_found"),
    ("conflict", 409, "conflict"),
    ("limit_exceeded", 403, "limit_exceeded"),
    ("invalid", 422, "invalid"),
    ("unavailable", 503, "unavailable"),
    ("kaboom", 502, "bad_gateway"),
])
def test_remote_codes_map_to_statuses(code, status, client_code):
    mapped = from_domain_error(RemoteError(code, "remote says no", {"field": ["bad"]}))
    assert (mapped.status, mapped.code) == (status, client_code)


@pytest.mark.asyncio
@pytest.mark.parametrize("code,status", [*REMOTE_ERRORS.items(), ("kaboom", 502)])
async def test_remote_errors_reach_the_client_as_the_envelope(client, gateway, auth, expect_error, code, status):
    gateway.rpc.replies["session.get"] = RemoteError(code, "remote says no", {"why": "because"})
    resp = await client.get("/api/v1/sessions/s_1", headers=auth())
    error = await expect_error(resp, status, "bad_gateway" if status == 502 else code)
    if status < 500:
        assert error["message"] == "remote says no" and error["details"] == {"why": "because"}
    else:  # upstream wording stays upstream
        assert "remote says no" not in error["message"]
    if status == 503:
        assert resp.headers["Retry-After"]


@pytest.mark.asyncio
async def test_no_answer_in_time_is_a_clean_503(client, gateway, auth, expect_error):
    gateway.rpc.replies["session.list"] = Unavailable("no answer to session.list in time")
    resp = await client.get("/api/v1/sessions", headers=auth())
    await expect_error(resp, 503, "unavailable")
    assert resp.headers["Retry-After"] and resp.headers["X-Correlation-Id"]
