"""Structured logs: one JSON object per line on stderr, with the event's fields beside its message.

A log call passes its fields as ``extra``: ``log.info("batch committed", extra={"rows": 2000, "seconds": 0.08})``
becomes ``{"time": "...", "level": "info", "logger": "fraud.worker", "message": "batch committed", "worker":
"fraud-scorer-0", "rows": 2000, "seconds": 0.08}``. Messages and fields never hold transaction contents (card
tokens, amounts): only counts, positions, times and identifiers of the worker's own objects.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final

import orjson

# Attributes every LogRecord has: anything else on a record came in through ``extra``.
_STANDARD: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; ``static`` fields (the worker's name) go on every line."""

    def __init__(self, static: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.static = dict(static or {})

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **self.static,
        }
        document.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            document["error"] = self.formatException(record.exc_info)
        return orjson.dumps(document, default=str).decode()


class _QuietKafka(logging.Filter):
    """Drops kafka-python's notices that its I/O loop waited for the interpreter lock (every busy batch causes
    them, and they say nothing about the stream)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "blocking the event loop" not in record.getMessage()


def configure_logging(level: str = "INFO", **static: Any) -> None:
    """Send the ``fraud`` loggers to stderr as JSON lines (kafka-python's own loggers only from warnings on)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(static))
    root = logging.getLogger("fraud")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    kafka = logging.getLogger("kafka")
    kafka_handler = logging.StreamHandler(sys.stderr)
    kafka_handler.setFormatter(JsonFormatter(static))
    kafka_handler.addFilter(_QuietKafka())
    kafka.handlers[:] = [kafka_handler]
    kafka.setLevel(logging.WARNING)
    kafka.propagate = False
