"""The platform's services, declared once: name -> the package that runs it (`python -m <package>`).
Read by the test harness, the benchmarks and the docs generator."""

from __future__ import annotations

SERVICES: dict[str, str] = {
    name: "wagw_" + name.replace("-", "_")
    for name in ("gateway", "session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime")
}
