"""The app is built the way `__main__` builds it: before any event loop runs (no I/O, nothing bound to a loop)."""

import pytest

from wagw_common.settings import load

from wagw_webhook_dispatcher.app import create_app
from wagw_webhook_dispatcher.settings import DEFAULTS, Settings

pytestmark = pytest.mark.unit


def test_the_app_is_built_without_a_running_event_loop():
    app = create_app(load(Settings, {}, **DEFAULTS))
    assert any(route.resource.canonical == "/readyz" for route in app.router.routes())
