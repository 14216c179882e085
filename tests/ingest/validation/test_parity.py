"""great-expectations and the compiled checker give identical verdicts: per row (which expectations each
row fails) and per expectation (batch success), on a corpus holding every named kind of bad row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ingest.validation import CompiledChecker, Verdict, records_to_frame
from ingest.validation.runner import GreatExpectationsRunner, SuiteResult
from tests.ingest.validation.corpus import BAD_KINDS, DUPLICATE_ID, Corpus, contract_only, good_rows


@pytest.fixture(scope="module")
def full_verdicts(corpus: Corpus, full_suite: Any, gx_runner: GreatExpectationsRunner) -> tuple[SuiteResult, Verdict]:
    return gx_runner.validate(corpus.frame, full_suite), CompiledChecker.from_suite(full_suite).check(corpus.frame)


@pytest.fixture(scope="module")
def contract_verdicts(
    corpus: Corpus, contract_suite: Any, gx_runner: GreatExpectationsRunner
) -> tuple[SuiteResult, Verdict]:
    return gx_runner.validate(corpus.frame, contract_suite), CompiledChecker.from_suite(contract_suite).check(
        corpus.frame
    )


def _row_sets(result: SuiteResult, verdict: Verdict) -> tuple[list[frozenset[str]], list[frozenset[str]]]:
    rows = len(verdict.frame)
    return [frozenset(f) for f in result.row_failures(rows)], [frozenset(f) for f in verdict.failures]


@pytest.mark.parametrize("kind", ["good", *(k.name for k in BAD_KINDS), DUPLICATE_ID])
def test_each_kind_of_row_fails_exactly_its_expectations_in_both(
    kind: str, corpus: Corpus, full_verdicts: tuple[SuiteResult, Verdict]
) -> None:
    by_gx, compiled = _row_sets(*full_verdicts)
    rows = [i for i, name in enumerate(corpus.kinds) if name == kind]
    assert rows
    for row in rows:
        assert by_gx[row] == corpus.expected[row], f"great-expectations on {kind}"
        assert compiled[row] == corpus.expected[row], f"compiled checker on {kind}"


def test_per_row_verdicts_are_identical_with_the_learned_expectations(
    full_verdicts: tuple[SuiteResult, Verdict],
) -> None:
    by_gx, compiled = _row_sets(*full_verdicts)
    assert by_gx == compiled


def test_per_row_verdicts_are_identical_with_the_contract_alone(
    corpus: Corpus, contract_verdicts: tuple[SuiteResult, Verdict]
) -> None:
    by_gx, compiled = _row_sets(*contract_verdicts)
    assert by_gx == compiled
    assert compiled == [contract_only(expected) for expected in corpus.expected]


@pytest.mark.parametrize("verdicts", ["full_verdicts", "contract_verdicts"])
def test_batch_verdicts_are_identical(verdicts: str, request: pytest.FixtureRequest) -> None:
    result, verdict = request.getfixturevalue(verdicts)
    by_gx = {item.name: item.success for item in result.results}
    compiled = {outcome.name: outcome.success for outcome in verdict.outcomes}
    assert by_gx == compiled
    assert result.success == verdict.success is False


def test_ok_rows_are_the_good_ones_and_the_warning_only_ones(
    corpus: Corpus, full_verdicts: tuple[SuiteResult, Verdict]
) -> None:
    _, verdict = full_verdicts
    warning_only = [not contract_only(expected) for expected in corpus.expected]
    np.testing.assert_array_equal(verdict.ok_mask, np.array(warning_only))


def test_a_shifted_amount_distribution_fails_the_learned_quantiles_in_both(
    full_suite: Any, gx_runner: GreatExpectationsRunner
) -> None:
    frame = _good_frame(300, seed=5)
    frame["amount"] = frame["amount"] * 10
    result, verdict = gx_runner.validate(frame, full_suite), CompiledChecker.from_suite(full_suite).check(frame)
    failed_gx = {item.name for item in result.results if not item.success}
    failed_compiled = {outcome.name for outcome in verdict.failed}
    assert failed_gx == failed_compiled == {"amount.quantiles"}
    assert verdict.ok_mask.all()  # a warning about the batch, not a reason to drop its rows


def test_good_rows_pass_everything_in_both(full_suite: Any, gx_runner: GreatExpectationsRunner) -> None:
    frame = _good_frame(300, seed=9)
    result, verdict = gx_runner.validate(frame, full_suite), CompiledChecker.from_suite(full_suite).check(frame)
    assert result.success
    assert verdict.success
    assert verdict.ok_mask.all()
    assert not any(verdict.failures)


def test_wrong_column_dtypes_fail_at_batch_level_in_both_and_condemn_every_row(
    contract_suite: Any, gx_runner: GreatExpectationsRunner
) -> None:
    frame = _good_frame(50, seed=2)
    frame["amount"] = frame["amount"].round().astype("int64")
    frame["transaction_id"] = np.arange(len(frame), dtype="int64")
    result, verdict = gx_runner.validate(frame, contract_suite), CompiledChecker.from_suite(contract_suite).check(frame)
    failed_gx = {item.name for item in result.results if not item.success}
    assert failed_gx == {outcome.name for outcome in verdict.failed} == {"amount.type", "transaction_id.type"}
    assert not any(verdict.failures)  # judged by dtype: no row is singled out ...
    assert not verdict.ok_mask.any()  # ... so every row is held back, with the reason
    assert set(verdict.bad_rows()["reason"]) == {"transaction_id.type; amount.type"}


def _good_frame(count: int, seed: int) -> pd.DataFrame:
    frame = pd.DataFrame(good_rows(count, seed=seed))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return frame


def test_decoded_records_get_identical_verdicts(full_suite: Any, gx_runner: GreatExpectationsRunner) -> None:
    # The stream's path: dicts decoded from messages, typed by records_to_frame, leaving object columns where
    # a value is of the wrong type (an id sent as a number) or missing (a required field left out).
    records: list[dict[str, Any]] = good_rows(30, seed=21)
    records[3]["transaction_id"] = 17
    records[4]["card_token"] = 3.5
    del records[5]["terminal_id"]
    records[6]["mcc"] = 5411  # a number where a code is expected
    records[7]["amount"] = "19.90"  # numeric text, accepted by the contract
    records[8]["channel"] = "ATM"
    frame = records_to_frame(records)
    result, verdict = gx_runner.validate(frame, full_suite), CompiledChecker.from_suite(full_suite).check(frame)
    by_gx, compiled = _row_sets(result, verdict)
    assert by_gx == compiled
    assert compiled[3] == {"transaction_id.type"}
    assert compiled[4] == {"card_token.type"}  # "3.5" as text is a well-formed token
    assert compiled[5] == {"terminal_id.not_null"}
    assert compiled[6] == {"mcc.type", "mcc.vocabulary"}
    assert compiled[7] == frozenset()
    assert compiled[8] == {"channel.allowed", "channel.vocabulary"}
    assert {item.name: item.success for item in result.results} == {o.name: o.success for o in verdict.outcomes}
