"""The compiled checker on its own: single records agree with frames, rejected rows keep their reason,
decoded records are typed as the contract allows, saved suites compile without great-expectations."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ingest.validation import (
    CompiledChecker,
    DataValidationError,
    UnsupportedExpectationError,
    records_to_frame,
    save_suite,
)
from tests.ingest.validation.corpus import Corpus, good_rows


@pytest.fixture(scope="module")
def checker(full_suite: Any) -> CompiledChecker:
    return CompiledChecker.from_suite(full_suite)


def test_a_single_record_gets_the_verdict_of_its_row(corpus: Corpus, checker: CompiledChecker) -> None:
    verdict = checker.check(corpus.frame)
    for row, record in enumerate(corpus.frame.to_dict(orient="records")):
        single = checker.check_record({str(key): value for key, value in record.items()})
        # Uniqueness is a property of a batch: one record is unique by itself.
        assert set(single.failures) == set(verdict.failures[row]) - {"transaction_id.unique"}, corpus.kinds[row]
        if "transaction_id.unique" not in verdict.failures[row]:
            assert single.ok == verdict.ok_mask[row], corpus.kinds[row]


def test_bad_rows_carry_their_critical_reasons(corpus: Corpus, checker: CompiledChecker) -> None:
    verdict = checker.check(corpus.frame)
    bad = verdict.bad_rows()
    assert len(bad) == int((~verdict.ok_mask).sum()) > 0
    kinds = dict(zip(corpus.frame.index, corpus.kinds, strict=True))
    reasons = {kinds[index]: reason for index, reason in bad["reason"].items()}
    assert reasons["negative_amount"] == "amount.range"
    assert reasons["four_letter_currency"] == "currency.length; currency.pattern"  # the warning is not a reason
    assert reasons["duplicate_transaction_id"] == "transaction_id.unique"
    assert "mcc_outside_vocabulary" not in reasons  # warnings flag a row without dropping it
    assert list(bad.columns) == [*corpus.frame.columns, "reason"]


def test_a_missing_column_condemns_every_row(checker: CompiledChecker) -> None:
    frame = records_to_frame(good_rows(5)).drop(columns=["amount"])
    verdict = checker.check(frame)
    failed = {outcome.name: outcome.error for outcome in verdict.failed}
    assert failed["amount.exists"] is None
    assert "missing" in str(failed["amount.range"])
    assert not verdict.ok_mask.any()
    assert all("amount.exists" in reason for reason in verdict.reasons())


def test_records_are_coerced_only_as_the_contract_allows(checker: CompiledChecker) -> None:
    records: list[dict[str, Any]] = good_rows(6)
    records[0]["amount"] = "12.50"  # numeric text: accepted, as by the pydantic contract
    records[1]["amount"] = 7  # an int: accepted
    records[2]["amount"] = "twelve"
    records[3]["timestamp"] = 1_522_540_800  # epoch seconds: a unit error waiting to happen
    records[4]["timestamp"] = datetime(2018, 4, 1, 10, 0)  # naive
    records[5]["timestamp"] = "2018-04-01T12:00:00+02:00"
    for record in records:
        record.pop("device_id")  # optional: the default fills it
    frame = records_to_frame(records)
    verdict = checker.check(frame)
    assert frame.loc[0, "amount"] == 12.5
    assert frame.loc[1, "amount"] == 7.0
    assert frame.loc[5, "timestamp"] == pd.Timestamp("2018-04-01T10:00:00Z")
    assert "amount.type" in verdict.failures[2]
    assert "timestamp.type" in verdict.failures[3]
    assert "timestamp.type" in verdict.failures[4]
    np.testing.assert_array_equal(verdict.ok_mask, [True, True, False, False, False, True])
    for row, record in enumerate(records):
        assert checker.check_record(record).ok == verdict.ok_mask[row]


def test_a_record_missing_a_required_field_fails_not_null(checker: CompiledChecker) -> None:
    record: dict[str, Any] = good_rows(1)[0]
    del record["card_token"]
    verdict = checker.check_record(record)
    assert not verdict.ok
    assert verdict.failures == ("card_token.not_null",)
    assert checker.check(records_to_frame([record])).failures[0] == ("card_token.not_null",)


def test_a_saved_suite_compiles_to_the_same_checker(
    corpus: Corpus, full_suite: Any, checker: CompiledChecker, tmp_path: Path
) -> None:
    reloaded = CompiledChecker.from_suite_file(save_suite(full_suite, tmp_path / "suite.json"))  # times as text
    original, again = checker.check(corpus.frame), reloaded.check(corpus.frame)
    assert again.failures == original.failures
    assert [o.success for o in again.outcomes] == [o.success for o in original.outcomes]
    record = {**good_rows(1)[0], "timestamp": datetime(1999, 1, 1, tzinfo=UTC)}
    assert reloaded.check_record(record).failures == ("timestamp.range",)


def test_an_expectation_without_a_compiled_form_is_refused_with_the_supported_list() -> None:
    with pytest.raises(UnsupportedExpectationError, match=r"supported: .*expect_column_values_to_be_in_set"):
        CompiledChecker.from_suite_dict(
            {"expectations": [{"type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {"column": "a"}}]}
        )


def test_expectation_names_must_be_unique() -> None:
    twice = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "meta": {"name": "a.nn"}}
    with pytest.raises(DataValidationError, match=r"repeated: \['a.nn'\]"):
        CompiledChecker.from_suite_dict({"expectations": [twice, twice]})


def test_one_bad_timestamp_in_a_micro_batch_rejects_only_its_row(full_suite: Any) -> None:
    # From a saved suite the timestamp bounds are ISO strings; the bad value makes the column an object column.
    document = json.loads(json.dumps(full_suite.to_json_dict(), default=str))
    checker = CompiledChecker.from_suite_dict(document)
    records: list[dict[str, Any]] = good_rows(4)
    records[1]["timestamp"] = "2018-04-01T10:00:00"  # no offset
    records[2]["timestamp"] = "yesterday"
    verdict = checker.check(records_to_frame(records))
    np.testing.assert_array_equal(verdict.ok_mask, [True, False, False, True])
    assert verdict.failures[1][0] == verdict.failures[2][0] == "timestamp.type"
    assert len(verdict.good_rows()) == 2
    assert all(reason.startswith("timestamp.type") for reason in verdict.bad_rows()["reason"])


_AWKWARD_TEXTS = [
    "t-1", "t-1", "4111 1111 1111 1111", "4111111111111111\n", "\u0661\u0662\u0663\u0664", "", " ", "EUR", "eur",
    "EURO", "5411", "54110", "FR", "fr", "\u00e9t\u00e9", "a\nb", "x" * 80, "card", "online", "chip",
]  # fmt: skip


@pytest.mark.parametrize(("nulls", "chunks"), [(False, 1), (True, 1), (True, 3)], ids=["plain", "nulls", "chunked"])
def test_the_text_forms_of_the_rules_answer_as_their_pandas_forms(
    checker: CompiledChecker, nulls: bool, chunks: int
) -> None:
    values = _AWKWARD_TEXTS + ([None, None] if nulls else [])
    parts = [pd.DataFrame({"value": pd.array(part, dtype="str")}) for part in np.array_split(values, chunks)]
    text_column = pd.concat(parts, ignore_index=True)
    object_column = pd.DataFrame({"value": pd.Series(values, dtype=object)})
    compared = 0
    for rule in checker.rules:
        if rule.expected_text is None:
            continue
        renamed = dataclasses.replace(rule, column="value", name="r")
        by_text = CompiledChecker([renamed]).check(text_column)
        by_object = CompiledChecker([renamed]).check(object_column)
        np.testing.assert_array_equal(by_text.unexpected, by_object.unexpected, err_msg=rule.name)
        assert by_text.outcomes == by_object.outcomes, rule.name
        compared += 1
    assert compared >= 20
