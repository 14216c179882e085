"""Data validation at the edge: the great-expectations suite of a transaction batch, the statistics it
learns from, and the compiled checker that runs the same suite on every streamed micro-batch.

Importing this package does not import great-expectations (seconds to import); building a suite or running
great-expectations does.

A stream worker loads the suite that ``fraud validate`` saved and checks each micro-batch with it::

    checker = CompiledChecker.from_suite_file(Path("validation/suite.json"))
    verdict = checker.check(records_to_frame(decoded_messages))
    good = verdict.good_rows()          # on to the features and the model
    dead = verdict.bad_rows()           # to the dead-letter topic, each with its "reason"
"""

from __future__ import annotations

from ingest.validation.admission import admit_batch
from ingest.validation.checker import CompiledChecker, ExpectationOutcome, RecordVerdict, Verdict
from ingest.validation.errors import (
    BatchReadError,
    DataValidationError,
    InvalidBatchError,
    StatisticsFormatError,
    UnsupportedExpectationError,
    ValidationRunError,
)
from ingest.validation.masking import CARD_NUMBER_REMOVED, mask_card_numbers, storable_rows
from ingest.validation.records import records_to_frame
from ingest.validation.statistics import STATISTICS_FORMAT, STATISTICS_VERSION, DatasetStatistics, learn_statistics
from ingest.validation.suite import (
    ReferenceTolerance,
    build_suite,
    daily_volume_frame,
    daily_volume_suite,
    save_suite,
)

__all__ = [
    "CARD_NUMBER_REMOVED",
    "STATISTICS_FORMAT",
    "STATISTICS_VERSION",
    "BatchReadError",
    "CompiledChecker",
    "DataValidationError",
    "DatasetStatistics",
    "ExpectationOutcome",
    "InvalidBatchError",
    "RecordVerdict",
    "ReferenceTolerance",
    "StatisticsFormatError",
    "UnsupportedExpectationError",
    "ValidationRunError",
    "Verdict",
    "admit_batch",
    "build_suite",
    "daily_volume_frame",
    "daily_volume_suite",
    "learn_statistics",
    "mask_card_numbers",
    "records_to_frame",
    "save_suite",
    "storable_rows",
]
