"""The ingest package's exceptions: one root, specific subclasses whose message says what to do next."""

from __future__ import annotations


class IngestError(Exception):
    """Root of every error raised by :mod:`ingest`.

    An error caused by what the caller gave (a file, an argument, a setting) derives from :class:`ValueError`
    as well, so that the command line reports it as bad input (exit status 2) rather than as a failure.
    """


class OutputPathError(IngestError, ValueError):
    """A command's output path is one of its inputs, or already holds a file (pass --force to replace it)."""
