"""Asking a session's worker a question (`worker.session.query`) and waiting, bounded, for its answer.

Workers may publish only to the uplink exchange, so the answer comes back there: each asker binds a
private queue to the uplink exchange with its own routing key (`worker.session.query.reply.<asker>`),
named in the request's `reply_to`. Any worker can publish on that key, so an answer counts only if
the worker that was asked published it (the broker-verified AMQP `user_id`, by the uplink's identity
rule in worker_speakers; its envelope source names that worker) and it answers the request
(correlation id); its result is checked against the query's declared schema, since a worker is
outside the platform's trust."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import PublishError
from marshmallow import ValidationError

from . import topology
from .broker import Broker
from .contracts import contract_for
from .contracts.worker_queries import QUERIES, REPLY_TYPE
from .contracts.workers import may_speak_for
from .envelope import MalformedMessage, parse_envelope
from .errors import DomainError, Unavailable
from .logging import get_logger
from .metrics import RPC_CALLS
from .worker_speakers import NOT_THE_SENDER, UplinkSpeakers, refuse

log = get_logger(__name__)


class WorkerTimeout(DomainError):
    code = "worker_timeout"


class WorkerRefused(DomainError):
    """The worker answered with an error: `code` is its own (`not_supported`, `not_found`, ...)."""


class WorkerAsker:
    def __init__(self, broker: Broker, *, timeout: float, speakers: UplinkSpeakers):
        self.broker = broker
        self.timeout = timeout
        self.speakers = speakers
        self.reply_key = f"{REPLY_TYPE}.{uuid.uuid4().hex[:16]}"
        self._pending: dict[str, tuple[str, asyncio.Future[Any]]] = {}  # request id -> (worker id, answer)

    async def start(self) -> None:
        channel = await self.broker.channel(prefetch=256)
        queue = await channel.declare_queue(f"worker-query-reply.{self.reply_key.rsplit('.', 1)[1]}",
                                            exclusive=True, auto_delete=True)
        await queue.bind(topology.WORKER_UPLINK, routing_key=self.reply_key)
        await queue.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        worker_id, future = self._pending.get(message.correlation_id or "", (None, None))
        if worker_id is None or future is None or future.done():
            return  # late: its asker gave up already
        try:
            envelope = parse_envelope(message.body)
            if envelope.type != REPLY_TYPE:
                raise MalformedMessage(f"{envelope.type!r} is not an answer")
            if not may_speak_for(worker_id, user_id=message.user_id, source=envelope.source,
                                 trusted_users=self.speakers.trusted_users):
                refuse(replace(envelope, user_id=message.user_id), NOT_THE_SENDER, asked_worker_id=worker_id)
                return
            future.set_result(contract_for(REPLY_TYPE).load(envelope.data))
        except MalformedMessage as exc:
            log.warning("worker_query.reply_rejected", reason=exc.reason, worker_id=worker_id)

    async def ask(self, worker_id: str, session_id: str, query: str, args: dict[str, Any]) -> dict[str, Any]:
        """The query's result, validated; WorkerRefused, WorkerTimeout, or Unavailable (cannot reach it)."""
        spec = QUERIES[query]
        envelope = self.broker.envelope("worker.session.query", {"session_id": session_id, "query": query,
                                                                 "args": args},
                                        subject=session_id)
        future = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = (worker_id, future)
        try:
            await self.broker.publish(envelope, exchange=topology.WORKER_DOWNLINK, routing_key=worker_id,
                                      reply_to=self.reply_key, persistent=False, retry=False,
                                      expiration=self.timeout)  # unanswered in time: nobody waits for it
            async with asyncio.timeout(self.timeout):
                reply = await future
        except asyncio.TimeoutError:
            RPC_CALLS.labels(f"worker.{query}", "timeout").inc()
            raise WorkerTimeout("the session's worker did not answer in time", {"query": query}) from None
        except PublishError:
            RPC_CALLS.labels(f"worker.{query}", "unavailable").inc()
            raise Unavailable("the session's worker cannot be reached; retry later") from None
        finally:
            self._pending.pop(envelope.id, None)
        if reply["error"] is not None:
            RPC_CALLS.labels(f"worker.{query}", "error").inc()
            raise WorkerRefused(reply["error"]["message"], {"query": query}, code=reply["error"]["code"])
        try:
            result = spec.result().load(reply["result"] or {})
        except ValidationError as exc:
            RPC_CALLS.labels(f"worker.{query}", "invalid").inc()
            log.warning("worker_query.invalid_result", query=query, worker_id=worker_id, errors=exc.messages)
            raise DomainError("the session's worker gave an invalid answer", {"query": query},
                              code="bad_worker_answer") from None
        RPC_CALLS.labels(f"worker.{query}", "ok").inc()
        answer: dict[str, Any] = spec.result().dump(result)
        return answer
