"""Request/reply over the broker with a timeout.

A request is an ordinary envelope published to the commands exchange with `reply_to` naming the
caller's private reply queue; the reply is an envelope of type `<request type>.reply` whose data
is `{"ok": true, "result": ...}` or `{"ok": false, "error": {"code", "message", "details"}}`."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from aio_pika.abc import AbstractIncomingMessage

from . import topology
from .contracts import contract_for
from .envelope import Envelope, MalformedMessage, parse_envelope
from .errors import RemoteError, Unavailable
from .logging import get_logger
from .metrics import RPC_CALLS

if TYPE_CHECKING:  # the broker imports this module
    from .broker import Broker

log = get_logger(__name__)


async def reply_to_request(broker: Broker, request: AbstractIncomingMessage, envelope: Envelope, *, result: Any = None,
                           error: dict[str, Any] | None = None) -> None:
    if error is None:
        data = {"ok": True, "result": contract_for(envelope.type).reply_json_ready(result)}
    else:
        data = {"ok": False, "error": error}
    reply = Envelope(type=f"{envelope.type}.reply", source=broker.source, data=data, subject=envelope.subject,
                     correlation_id=envelope.correlation_id)
    try:
        # The caller may have given up and gone; an unroutable reply is not an error here.
        await broker.publish(reply, exchange="", routing_key=request.reply_to or "", mandatory=False,
                             correlation_id=envelope.id, persistent=False)
    except Exception as exc:
        log.warning("rpc.reply_failed", error=repr(exc))


class RpcClient:
    def __init__(self, broker: Broker, *, default_timeout: float):
        self.broker = broker
        self.default_timeout = default_timeout
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._queue_name = f"rpc-reply.{broker.source}.{uuid.uuid4().hex[:12]}"

    async def start(self) -> None:
        channel = await self.broker.channel(prefetch=256)
        queue = await channel.declare_queue(self._queue_name, exclusive=True, auto_delete=True)
        await queue.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is None or future.done():
            return  # a reply that arrived after its caller's timeout
        try:
            future.set_result(parse_envelope(message.body).data)
        except MalformedMessage as exc:
            future.set_exception(exc)

    async def call(self, request_type: str, data: dict[str, Any], *, subject: str | None = None,
                   timeout: float | None = None) -> Any:
        envelope = self.broker.envelope(request_type, data, subject=subject)
        future = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = future
        try:
            await self.broker.publish(envelope, exchange=topology.COMMANDS, routing_key=request_type,
                                      reply_to=self._queue_name, persistent=False, retry=False)
            async with asyncio.timeout(timeout or self.default_timeout):
                reply = await future
        except asyncio.TimeoutError:
            RPC_CALLS.labels(request_type, "timeout").inc()
            raise Unavailable(f"no answer to {request_type} in time") from None
        except RemoteError:
            raise
        except Exception as exc:
            RPC_CALLS.labels(request_type, "unavailable").inc()
            raise Unavailable(f"cannot reach the service for {request_type}", repr(exc)) from exc
        finally:
            self._pending.pop(envelope.id, None)
        if not reply.get("ok"):
            RPC_CALLS.labels(request_type, "error").inc()
            error = reply.get("error") or {}
            raise RemoteError(error.get("code", "unavailable"), error.get("message", "remote error"),
                              error.get("details"))
        RPC_CALLS.labels(request_type, "ok").inc()
        return reply.get("result")


