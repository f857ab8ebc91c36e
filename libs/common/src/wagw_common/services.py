"""The platform's services, declared once: name -> the package that runs it (`python -m <package>`).
Read by the test harness, the benchmarks and the docs generator."""

from __future__ import annotations

import importlib
import importlib.util

from .router import Router

SERVICES: dict[str, str] = {
    name: "wagw_" + name.replace("-", "_")
    for name in ("gateway", "session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime")
}


def service_routers() -> dict[str, Router[object] | None]:
    """Each service's router (`<package>.router.router`), or None for a service that declares none:
    what the topology reference and the routing tests read."""
    found: dict[str, Router[object] | None] = {}
    for name, package in SERVICES.items():
        if importlib.util.find_spec(f"{package}.router") is None:
            found[name] = None
            continue
        router = getattr(importlib.import_module(f"{package}.router"), "router", None)
        if not isinstance(router, Router):
            raise TypeError(f"{package}.router has no `router` of type Router")
        found[name] = router
    return found
