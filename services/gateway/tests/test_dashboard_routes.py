"""The dashboard's static files: content types, the security headers, and nothing outside its folder."""

from __future__ import annotations

from dataclasses import replace

import pytest
from wagw_common.settings import SettingsError, load

from wagw_gateway.settings import Settings

pytestmark = pytest.mark.unit


@pytest.fixture
async def client(gateway, serve_routes):
    settings = load(Settings, {"DASHBOARD_REALTIME_URL": "https://rt.example.com/"})
    async with serve_routes(replace(gateway, settings=settings)) as test_client:
        yield test_client


async def test_home_redirects_to_the_dashboard(client):
    for path in ("/", "/dashboard"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"] == "/dashboard/"


@pytest.mark.parametrize(("path", "content_type"), [
    ("/dashboard/", "text/html; charset=utf-8"),
    ("/dashboard/index.html", "text/html; charset=utf-8"),
    ("/dashboard/app.css", "text/css; charset=utf-8"),
    ("/dashboard/js/app.js", "text/javascript; charset=utf-8"),
    ("/dashboard/vendor/socket.io.min.js", "text/javascript; charset=utf-8"),
    ("/dashboard/favicon.svg", "image/svg+xml"),
])
async def test_files_are_served_with_their_content_type_and_a_strict_policy(client, path, content_type):
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy
    assert "connect-src 'self' https://rt.example.com wss://rt.example.com;" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_config_names_the_realtime_service(client):
    response = await client.get("/dashboard/config.json")
    assert await response.json() == {"realtime_url": "https://rt.example.com", "api_base": "/api/v1"}


@pytest.mark.parametrize("path", [
    "/dashboard/../settings.py", "/dashboard/%2e%2e/settings.py", "/dashboard/js/../../routes/dashboard.py",
    "/dashboard/README.md", "/dashboard/vendor/socket.io-client.LICENSE", "/dashboard/missing.js", "/dashboard/js",
])
async def test_nothing_else_is_served(client, path):
    response = await client.get(path, allow_redirects=False)
    assert response.status == 404


@pytest.mark.parametrize("value", ["ftp://x", "http://", "http://host/path", "not a url"])
def test_the_realtime_address_must_be_an_http_origin(value):
    with pytest.raises(SettingsError):
        load(Settings, {"DASHBOARD_REALTIME_URL": value})
