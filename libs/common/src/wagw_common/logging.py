"""Structured logs: JSON lines with the service name and the correlation id of whatever caused them."""

from __future__ import annotations

import logging
import sys
import uuid
from contextlib import AbstractContextManager
from typing import Any

import structlog

from .fast_runtime import dumps_text
from structlog.contextvars import bind_contextvars, bound_contextvars, get_contextvars
from structlog.typing import EventDict, WrappedLogger

CORRELATION_KEY = "correlation_id"
_SECRET_KEYS = {"password", "secret", "token", "api_key", "authorization", "refresh_token", "access_token"}


def _redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    # A secret must never reach a log line, whatever a caller passes by mistake.
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(service: str, level: str = "info", fmt: str = "json") -> None:
    renderer = (structlog.dev.ConsoleRenderer() if fmt == "console"
                else structlog.processors.JSONRenderer(serializer=dumps_text))
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        numeric_level = logging.INFO
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    # Libraries log through the standard library; send their warnings to the same stream.
    logging.basicConfig(level=max(numeric_level, logging.WARNING), stream=sys.stdout,
                        format="%(name)s %(levelname)s %(message)s")
    structlog.contextvars.clear_contextvars()
    bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str | None:
    return get_contextvars().get(CORRELATION_KEY)


def correlation_scope(correlation_id: str, **extra: Any) -> AbstractContextManager[None]:
    """Context manager binding the correlation id (and any extra keys) to every log line inside it."""
    return bound_contextvars(**{CORRELATION_KEY: correlation_id}, **extra)
