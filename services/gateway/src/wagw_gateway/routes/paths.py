"""URL building blocks shared by the route modules."""

API = "/api/v1"


def param(name: str) -> str:
    # Every id the platform mints matches this, so a path segment that does not names nothing (404).
    return "{" + name + ":[A-Za-z0-9_-]{1,64}}"
