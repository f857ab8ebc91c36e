"""Where a session runs: choosing a worker (the registry decides) and telling workers to start or stop it."""

from __future__ import annotations

from aio_pika.exceptions import PublishError

from wagw_common.broker import Publishing
from wagw_common.errors import RemoteError, Unavailable
from wagw_common.logging import get_logger
from wagw_common.rpc import RpcClient

log = get_logger(__name__)


async def select_worker(rpc: RpcClient, session_id: str) -> str:
    """The registry's choice of a healthy worker with room; Unavailable when there is none."""
    try:
        return (await rpc.call("worker.select", {"session_id": session_id}))["worker_id"]
    except (RemoteError, Unavailable) as exc:
        raise Unavailable("no worker available", {"reason": exc.message}) from exc


async def start_on(broker: Publishing, worker_id: str, session_id: str, *, restore: bool) -> None:
    await broker.send_to_worker(worker_id, "worker.session.start", {"session_id": session_id, "restore": restore},
                                subject=session_id)


async def stop_on(broker: Publishing, worker_id: str | None, session_id: str, *, logout: bool) -> None:
    """Best effort: a worker whose queue is gone holds nothing any more (its sessions moved away)."""
    if not worker_id:
        return
    try:
        await broker.send_to_worker(worker_id, "worker.session.stop", {"session_id": session_id, "logout": logout},
                                    subject=session_id)
    except PublishError as exc:
        log.warning("session.stop_unroutable", session_id=session_id, worker_id=worker_id, error=repr(exc))
