"""Answering `worker.session.query`: the question's arguments checked against its declared schema,
handed to the handler's optional method for it (see `contracts.worker_queries.QUERIES`), and its
result checked before it leaves. A handler without that method answers `not_supported`; one that
raises `QueryRefused` answers its code (`not_found`, `forbidden`, `invalid`); any other failure is
`failed`, its details kept in the worker's log, not in the answer."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from marshmallow import ValidationError
from wagw_common.contracts.worker_queries import QUERIES
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

log = get_logger(__name__)
Reply = Callable[..., Awaitable[None]]  # WorkerUplink.query_reply


class QueryRefused(Exception):
    """Raised by a query handler: the question cannot be answered, for a reason the asker may act on."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class QueryAnswerer:
    def __init__(self, handler: Any, reply: Reply):
        self.handler = handler
        self.reply = reply

    async def answer(self, envelope: Envelope, *, reply_to: str | None, request_id: str) -> None:
        data = envelope.data
        if not reply_to:
            log.warning("worker.query_without_reply_to", query=data["query"])
            return
        result, error = None, None
        try:
            result = await self._result(data["session_id"], data["query"], data["args"])
        except QueryRefused as exc:
            error = {"code": exc.code, "message": exc.message[:500]}
        except Exception as exc:
            log.error("worker.query_failed", query=data["query"], session_id=data["session_id"], exc_info=exc)
            error = {"code": "failed", "message": "the worker could not answer"}
        await self.reply(reply_to, request_id, data["session_id"], data["query"], result=result, error=error)
        log.info("worker.query_answered", query=data["query"], session_id=data["session_id"],
                 error=error and error["code"])

    async def _result(self, session_id: str, query: str, raw_args: dict[str, Any]) -> dict[str, Any]:
        spec = QUERIES[query]
        try:
            args = spec.args().load(raw_args)
        except ValidationError as exc:
            raise QueryRefused("invalid", f"invalid arguments: {exc.messages}") from None
        do = getattr(self.handler, spec.handler, None)
        if do is None:
            raise QueryRefused("not_supported", f"this worker does not answer {query!r}")
        result = spec.result().dump(await do(session_id, **args))
        errors = spec.result().validate(result)
        if errors:
            raise ValueError(f"the handler's answer to {query!r} does not match its schema: {errors}")
        return result
