"""Moved to the worker SDK (`wagw_worker_sdk`); these names keep older imports working."""

from wagw_worker_sdk import Worker as WorkerProtocol
from wagw_worker_sdk import WorkerHandler, WorkerIdentity

__all__ = ["WorkerHandler", "WorkerIdentity", "WorkerProtocol"]
