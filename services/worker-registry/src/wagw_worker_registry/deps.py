"""Everything the registry's handlers depend on: one frozen object, built once by app.py."""

from __future__ import annotations

from dataclasses import dataclass

from .identity import Speakers
from .store import WorkerStore


@dataclass(frozen=True)
class Deps:
    store: WorkerStore
    speakers: Speakers  # who may speak for which worker (identity.py)
    missed: int  # heartbeats a worker may miss before it is declared offline
    assignment_grace: float  # seconds a session assigned to a worker may be missing from its heartbeats
