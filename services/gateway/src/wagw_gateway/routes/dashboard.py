"""The dashboard: a static single-page app (../dashboard/) served beside the API it calls.

The page talks only to the public HTTP API and to the realtime service's Socket.IO edge, whose
address it reads from `/dashboard/config.json`. Every file leaves with a strict Content-Security-Policy:
scripts and styles from this origin only, network calls to this origin and the realtime service."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from ..deps import gateway_of

routes = web.RouteTableDef()
ROOT = Path(__file__).resolve().parent.parent / "dashboard"
PREFIX = "/dashboard/"
# The only kinds of file the app is made of; anything else is not served.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def content_security_policy(realtime_url: str) -> str:
    parts = urlsplit(realtime_url)
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    connect = f"'self' {parts.scheme}://{parts.netloc} {socket_scheme}://{parts.netloc}"
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"connect-src {connect}; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


def _security_headers(request: web.Request) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(gateway_of(request).settings.dashboard_realtime_url),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",  # revalidated each time (ETag), so a new release shows at once
    }


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """The dashboard's address: redirects to /dashboard/."""
    raise web.HTTPFound(PREFIX)


@routes.get("/dashboard")
async def dashboard_without_slash(request: web.Request) -> web.Response:
    """Redirects to /dashboard/."""
    raise web.HTTPFound(PREFIX)


@routes.get(f"{PREFIX}config.json")
async def dashboard_config(request: web.Request) -> web.Response:
    """Where the dashboard finds the realtime service (Socket.IO)."""
    config = {"realtime_url": gateway_of(request).settings.dashboard_realtime_url, "api_base": "/api/v1"}
    return web.json_response(config, headers=_security_headers(request))


@routes.get(PREFIX + "{path:[A-Za-z0-9_./-]{0,200}}")
async def dashboard_file(request: web.Request) -> web.StreamResponse:
    """The dashboard (a single-page app: HTML, CSS, JavaScript; no build step)."""
    path = request.match_info["path"] or "index.html"
    file = (ROOT / path).resolve()
    content_type = CONTENT_TYPES.get(file.suffix)
    if ".." in path.split("/") or not file.is_relative_to(ROOT) or content_type is None or not file.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(file, headers={**_security_headers(request), "Content-Type": content_type})
