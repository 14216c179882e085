"""The compiled checker: a great-expectations suite run as vectorised pandas/NumPy, for every micro-batch.

great-expectations spends tens of milliseconds per validation call whatever the batch size, too much for the
per-message path. :class:`CompiledChecker` compiles the *same* suite (its expectation configurations, not a
second list of rules) into :mod:`ingest.validation.rules` and returns, per row, the names of the
expectations the row fails, and per expectation, the batch verdict great-expectations would give.

A row is *ok* when it fails no critical expectation and no critical batch-level expectation failed (a
missing column or a column of the wrong dtype condemns every row). Rows that are not ok must go to the
dead-letter topic with their reason: :meth:`Verdict.bad_rows` gives them with a ``reason`` column, card
numbers masked.

>>> from ingest.validation.suite import build_suite
>>> import pandas as pd
>>> checker = CompiledChecker.from_suite(build_suite())
>>> record = {"transaction_id": "t1", "timestamp": "2018-04-01T10:00:00Z", "card_token": "c1",
...           "customer_id": "u1", "terminal_id": "m1", "amount": -3.0}
>>> checker.check_record(record)
RecordVerdict(ok=False, failures=('amount.range',))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from ingest.validation.errors import DataValidationError
from ingest.validation.masking import storable_rows
from ingest.validation.records import normalise_record
from ingest.validation.rules import Rule, TextValues, compile_rule, per_value_types, text_array
from ingest.validation.suite import expectation_name

CRITICAL: Final = "critical"
_NO_FAILURE: Final[tuple[str, ...]] = ()


@dataclass(frozen=True)
class ExpectationOutcome:
    """The batch verdict of one expectation: success, how many rows it flagged, and an error if it could
    not be evaluated (a missing column)."""

    name: str
    expectation_type: str
    severity: str
    success: bool
    unexpected_count: int
    error: str | None = None


@dataclass(frozen=True)
class RecordVerdict:
    """The verdict of one record: ok, and the names of every expectation it fails (warnings included)."""

    ok: bool
    failures: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Verdict:
    """The verdict of one batch. ``unexpected[i, j]`` says that row j fails row rule ``row_rules[i]``."""

    frame: pd.DataFrame
    row_rules: tuple[str, ...]
    unexpected: np.ndarray
    outcomes: tuple[ExpectationOutcome, ...]
    ok_mask: np.ndarray
    batch_reasons: tuple[str, ...]

    @property
    def success(self) -> bool:
        """Whether every expectation passed at batch level, as great-expectations' suite result says."""
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failed(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.success)

    @cached_property
    def failures(self) -> tuple[tuple[str, ...], ...]:
        """Per row, the names of the row expectations it fails (empty when it passes them all)."""
        names = np.array(self.row_rules, dtype=object)
        out: list[tuple[str, ...]] = [_NO_FAILURE] * self.unexpected.shape[1]
        for row in np.flatnonzero(self.unexpected.any(axis=0)):
            out[row] = tuple(names[self.unexpected[:, row]])
        return tuple(out)

    def reasons(self) -> list[str]:
        """Per row that is not ok, why: its failed critical expectations, then the batch-level ones."""
        critical = {o.name for o in self.outcomes if o.severity == CRITICAL}
        out = []
        for row in np.flatnonzero(~self.ok_mask):
            names = [name for name in self.failures[row] if name in critical]
            out.append("; ".join([*names, *self.batch_reasons]))
        return out

    def good_rows(self) -> pd.DataFrame:
        """The rows that are ok (for the features and the model)."""
        return self.frame.iloc[np.flatnonzero(self.ok_mask)]

    def bad_rows(self) -> pd.DataFrame:
        """The rows that are not ok, with a ``reason`` column, as they may be stored (the dead-letter topic,
        ``rejected.parquet``): only the contract's columns, card numbers masked (:func:`storable_rows`)."""
        bad = self.frame.iloc[np.flatnonzero(~self.ok_mask)].copy()
        bad["reason"] = self.reasons()
        return storable_rows(bad)


class CompiledChecker:
    """A suite compiled for fast checks of frames (:meth:`check`) and single records (:meth:`check_record`)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        names = [rule.name for rule in rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise DataValidationError(f"expectation names must be unique within a suite; repeated: {duplicates}")
        self.rules: tuple[Rule, ...] = tuple(rules)
        # The record path walks plain tuples: attribute lookups dominate a check of one record.
        self._scalar_rules = tuple(
            (
                rule.name,
                rule.column,
                rule.expectation_type == "expect_column_to_exist",
                rule.nulls_unexpected,
                rule.value_expected,
                rule.severity == CRITICAL,
            )
            for rule in rules
        )

    @classmethod
    def from_suite(cls, suite: Any) -> CompiledChecker:
        """Compile a great-expectations ``ExpectationSuite`` (its expectations' configurations)."""
        configurations = [expectation.configuration for expectation in suite.expectations]
        return cls.from_configurations(
            (c.type, c.kwargs, c.meta, str(getattr(c.severity, "value", c.severity))) for c in configurations
        )

    @classmethod
    def from_suite_dict(cls, document: Mapping[str, Any]) -> CompiledChecker:
        """Compile a suite saved as JSON (``suite.to_json_dict()``), without importing great-expectations."""
        return cls.from_configurations(
            (e["type"], e["kwargs"], e.get("meta") or {}, str(e.get("severity") or CRITICAL))
            for e in document["expectations"]
        )

    @classmethod
    def from_suite_file(cls, path: Path) -> CompiledChecker:
        """Compile a suite file written by :func:`~ingest.validation.suite.save_suite` (or ``fraud validate``)."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise DataValidationError(f"cannot read suite file {path}: {error}") from error
        return cls.from_suite_dict(document)

    @classmethod
    def from_configurations(
        cls, configurations: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any] | None, str]]
    ) -> CompiledChecker:
        rules = []
        for expectation_type, kwargs, meta, severity in configurations:
            name = expectation_name(_Configuration(expectation_type, kwargs, meta or {}))
            rules.append(compile_rule(expectation_type, kwargs, name, severity))
        return cls(rules)

    def check(self, frame: pd.DataFrame) -> Verdict:
        """Check every row of ``frame`` and every batch-level expectation."""
        n = len(frame)
        columns = _Columns(frame)
        views: dict[str, _ColumnView] = {}
        row_names: list[str] = []
        row_masks: list[np.ndarray] = []
        outcomes: list[ExpectationOutcome] = []
        ok = np.ones(n, dtype=bool)
        batch_reasons: list[str] = []
        for rule in self.rules:
            outcome, mask = self._evaluate(rule, columns, views)
            outcomes.append(outcome)
            if mask is not None:
                row_names.append(rule.name)
                row_masks.append(mask)
                if rule.severity == CRITICAL:
                    ok &= ~mask
            elif not outcome.success and rule.severity == CRITICAL:
                batch_reasons.append(rule.name)
        if batch_reasons:
            ok[:] = False
        unexpected = np.vstack(row_masks) if row_masks else np.zeros((0, n), dtype=bool)
        return Verdict(frame, tuple(row_names), unexpected, tuple(outcomes), ok, tuple(batch_reasons))

    def check_record(self, record: Mapping[str, Any]) -> RecordVerdict:
        """Check one record as the row of a frame built by :func:`~ingest.validation.records.records_to_frame`
        (batch-only expectations such as quantiles do not apply to one record)."""
        values = normalise_record(record)
        nulls = {column: _is_null(value) for column, value in values.items()}
        failures: list[str] = []
        ok = True
        for name, column, exists, nulls_unexpected, predicate, critical in self._scalar_rules:
            if exists:
                passed = column in record or column in values
            elif column not in values:
                continue  # its column's existence expectation already says it is missing
            elif nulls_unexpected:
                passed = not nulls[column]
            elif predicate is None or nulls[column]:
                continue
            else:
                try:
                    passed = predicate(values[column])
                except (TypeError, ValueError):
                    passed = False
            if not passed:
                failures.append(name)
                ok = ok and not critical
        return RecordVerdict(ok, tuple(failures))

    def _evaluate(
        self, rule: Rule, columns: _Columns, views: dict[str, _ColumnView]
    ) -> tuple[ExpectationOutcome, np.ndarray | None]:
        column = rule.column
        frame = columns.frame
        if column is not None and column not in columns.names:
            success = False
            error = None if rule.expectation_type == "expect_column_to_exist" else f"column {column!r} is missing"
            return ExpectationOutcome(rule.name, rule.expectation_type, rule.severity, success, 0, error), None
        if rule.dtype_expected is not None and rule.expected is not None and column is not None:
            dtype = columns[column].dtype
            if not (isinstance(dtype, np.dtype) and dtype.kind == "O"):  # object columns: value by value
                success = rule.dtype_expected(dtype)
                return ExpectationOutcome(rule.name, rule.expectation_type, rule.severity, success, 0), None
        elif rule.batch is not None and (rule.expected is None or not per_value_types(rule, frame)):
            try:
                success = bool(rule.batch(frame))
            except (TypeError, ValueError) as error:  # e.g. quantiles of a column holding text
                message = f"cannot evaluate on this batch: {error}"
                return ExpectationOutcome(rule.name, rule.expectation_type, rule.severity, False, 0, message), None
            return ExpectationOutcome(rule.name, rule.expectation_type, rule.severity, success, 0), None
        assert column is not None  # row rules always name a column
        view = views.get(column)
        if view is None:
            view = views[column] = _ColumnView(columns[column])
        null_count = view.null_count
        if rule.nulls_unexpected:
            mask = view.null.copy()
        elif rule.expected is None or view.present_count == 0:
            mask = np.zeros(len(frame), dtype=bool)
        else:
            text = view.text if rule.expected_text is not None else None
            if text is not None and rule.expected_text is not None:
                unexpected_present = ~rule.expected_text(text)
            else:
                unexpected_present = ~rule.expected(view.present)
            mask = unexpected_present if null_count == 0 else _scatter(view.null, unexpected_present)
        count = int(mask.sum())
        success = rule.batch_success(len(frame), null_count, count)
        return ExpectationOutcome(rule.name, rule.expectation_type, rule.severity, success, count), mask


class _Columns:
    """A frame's columns, each taken once per check (taking a column costs pandas microseconds each time)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.names = frozenset(frame.columns)
        self._taken: dict[str, pd.Series] = {}

    def __getitem__(self, name: str) -> pd.Series:
        column = self._taken.get(name)
        if column is None:
            column = self._taken[name] = self.frame[name]
        return column


class _ColumnView:
    """One column as the row rules of one check see it: its null mask and its non-null values, computed once
    and shared by the rules of that column; for a text column held by Arrow, its non-null values as Arrow
    holds them too (:class:`~ingest.validation.rules.TextValues`)."""

    def __init__(self, values: pd.Series) -> None:
        self.values = values
        self._arrow = text_array(values)
        if self._arrow is not None:
            null_count = self._arrow.null_count
            self.null = (
                np.zeros(len(values), dtype=bool)
                if null_count == 0
                else self._arrow.is_null().to_numpy(zero_copy_only=False)
            )
        else:
            self.null = values.isna().to_numpy(dtype=bool)
        self.null_count = int(self.null.sum())
        self.present_count = len(values) - self.null_count

    @cached_property
    def present(self) -> pd.Series:
        return self.values if self.null_count == 0 else self.values[~self.null]

    @cached_property
    def text(self) -> TextValues | None:
        """The non-null values of an Arrow-held text column (None for a column of another dtype)."""
        if self._arrow is None:
            return None
        return TextValues(self._arrow if self.null_count == 0 else self._arrow.drop_null())


def _scatter(null: np.ndarray, unexpected_present: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(null), dtype=bool)
    mask[~null] = unexpected_present
    return mask


@dataclass(frozen=True)
class _Configuration:
    type: str
    kwargs: Mapping[str, Any]
    meta: Mapping[str, Any]


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    kind = type(value)
    if kind is str:
        return False
    if kind is float:
        return bool(value != value)  # NaN is the only float unequal to itself
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # containers: pd.isna answers element-wise
        return False
