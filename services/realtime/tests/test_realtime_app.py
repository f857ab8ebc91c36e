"""The app is built the way `__main__` builds it: before any event loop runs (no I/O, nothing bound to a loop)."""

import pytest

from wagw_common.settings import load

from wagw_realtime.app import create_app
from wagw_realtime.settings import DEFAULTS, Settings

pytestmark = pytest.mark.unit


def test_the_app_is_built_without_a_running_event_loop():
    app = create_app(load(Settings, {}, **DEFAULTS))
    paths = {route.resource.canonical for route in app.router.routes()}
    assert {"/readyz", "/socket.io/"} <= paths
