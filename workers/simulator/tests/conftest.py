"""The simulator's tests use the workers' shared doubles and fixtures (tests/harness/worker_doubles.py)."""

from harness.worker_doubles import FakeUplink, Platform, amqp_url, management, platform, uplink, vhost  # noqa: F401
