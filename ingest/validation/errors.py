"""Errors of data validation: each says what went wrong and what to do next."""

from __future__ import annotations

from ingest.errors import IngestError


class DataValidationError(IngestError):
    """Root of the errors raised by :mod:`ingest.validation`."""


class StatisticsFormatError(DataValidationError, ValueError):
    """A statistics file is not in the documented format or is of a version this code does not read."""


class UnsupportedExpectationError(DataValidationError, ValueError):
    """The compiled checker met an expectation type it has no vectorised form for."""


class ValidationRunError(DataValidationError, ValueError):
    """great-expectations raised while evaluating an expectation (a missing column, a type it cannot compare)."""


class BatchReadError(DataValidationError, ValueError):
    """A batch file could not be read (unknown extension, unreadable file)."""


class InvalidBatchError(DataValidationError, ValueError):
    """A batch holds rows that break the transaction contract (or no rows): ``fraud validate`` lists them."""
