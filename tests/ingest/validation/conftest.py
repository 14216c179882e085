"""Fixtures of the validation tests: one great-expectations runner per session (contexts are slow to make),
the corpus, the reference learned from good rows, and the suites."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from ingest.validation import DatasetStatistics, build_suite, learn_statistics
from ingest.validation.runner import GreatExpectationsRunner
from tests.ingest.validation.corpus import Corpus, build_corpus, good_rows


@pytest.fixture(scope="session")
def gx_runner() -> GreatExpectationsRunner:
    return GreatExpectationsRunner()


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return build_corpus()


@pytest.fixture(scope="session")
def reference() -> DatasetStatistics:
    frame = pd.DataFrame(good_rows(400, seed=3))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return learn_statistics(frame, source="good rows")


@pytest.fixture(scope="session")
def contract_suite() -> Any:
    return build_suite()


@pytest.fixture(scope="session")
def full_suite(reference: DatasetStatistics) -> Any:
    return build_suite(reference)
