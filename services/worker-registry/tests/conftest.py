import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too so these tests run with --strict-markers from any root.
    config.addinivalue_line("markers", "unit: fast tests with fakes, no servers")
    config.addinivalue_line("markers", "integration: against the local RabbitMQ, Redis and MongoDB-compatible server")
