"""The event loop and JSON codec every process runs on: uvloop and orjson, chosen in this one place.

Both are measured wins on the per-message path (`make bench`, docs/performance.md): every broker
message is a JSON envelope encoded once and decoded at least once, and every log line is JSON.
`dumps` keeps the standard library's output for what the platform sends (compact separators,
`default=str` for anything else, including datetimes, and non-string keys as strings), so no consumer
sees a different document; `loads` raises `json.JSONDecodeError` (orjson's error subclasses it)."""

from __future__ import annotations

import asyncio
import json
import types
from typing import Any, Callable, Coroutine

import orjson
import uvloop

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def dumps(value: Any) -> bytes:
    """Compact JSON as bytes; what orjson refuses (an integer past 64 bits, ...) goes through the
    standard library, so nothing that encoded before fails now."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), default=str).encode()


def dumps_text(value: Any, **_ignored: Any) -> str:
    """`dumps` as a string: for the libraries that take a `json.dumps`-like serializer (structlog)."""
    return dumps(value).decode()


loads = orjson.loads
# For the libraries that take a `json`-like module and expect text from it (python-socketio).
TEXT_JSON = types.SimpleNamespace(dumps=dumps_text, loads=loads)


def new_event_loop() -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop()


def run(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """`asyncio.run(main())` on the fast loop, for the processes that are not aiohttp services."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main())
