"""A service that verifies or signs access tokens does not start with the published development
JWT_SECRET (a missing JWT_SECRET falls back to it) unless DEVELOPMENT_MODE says it is a laptop run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("module", ["wagw_gateway", "wagw_realtime"])
def test_a_token_service_without_jwt_secret_refuses_to_start(module):
    env = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "DEVELOPMENT_MODE")}
    started = subprocess.run([sys.executable, "-m", module], env={**env, "HTTP_PORT": "0"}, capture_output=True,
                             text=True, timeout=60)
    assert started.returncode != 0
    assert "JWT_SECRET is unset" in started.stderr and "DEVELOPMENT_MODE" in started.stderr
