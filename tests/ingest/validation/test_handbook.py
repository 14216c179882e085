"""Real data: the handbook's transactions, mapped onto the contract, pass the contract suite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ingest.mappings import apply_mapping
from ingest.validation import CompiledChecker, learn_statistics
from ingest.validation.batches import contract_view
from ingest.validation.runner import GreatExpectationsRunner
from ingest.validation.suite import build_suite

pytestmark = [pytest.mark.handbook, pytest.mark.slow]


def test_a_handbook_month_passes_the_contract_suite_in_both(
    handbook_dir: Path, contract_suite: Any, gx_runner: GreatExpectationsRunner
) -> None:
    frame = apply_mapping(pd.read_parquet(handbook_dir / "transactions-2018-04.parquet"), "handbook")
    result = gx_runner.validate(frame, contract_suite, complete=False)
    assert result.success, [item.name for item in result.results if not item.success]
    verdict = CompiledChecker.from_suite(contract_suite).check(frame)
    assert verdict.success
    assert verdict.ok_mask.all()


def test_the_next_month_passes_the_expectations_learned_from_april(
    handbook_dir: Path, gx_runner: GreatExpectationsRunner
) -> None:
    april = apply_mapping(pd.read_parquet(handbook_dir / "transactions-2018-04.parquet"), "handbook")
    may = apply_mapping(pd.read_parquet(handbook_dir / "transactions-2018-05.parquet"), "handbook")
    suite = build_suite(learn_statistics(contract_view(april)))
    result = gx_runner.validate(may, suite, complete=False)
    assert result.success, [item.name for item in result.results if not item.success]
    assert CompiledChecker.from_suite(suite).check(may).success
