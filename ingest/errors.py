"""The ingest package's exceptions: one root, specific subclasses whose message says what to do next."""

from __future__ import annotations


class IngestError(Exception):
    """Root of every error raised by :mod:`ingest`."""
