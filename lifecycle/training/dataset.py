"""The training run's data: validated, turned into model inputs (point in time), and split by time.

:func:`prepare` runs the first three steps of the pipeline and returns a :class:`TrainingData` that the later
steps read: the training rows with the labels known at the cutoff, and the test period (known compromised cards
removed) on which candidates are evaluated and the gate judges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features import FeatureSet, OfflineFeatureEngine, model_input, model_input_names
from lifecycle.evaluation import EvaluationConfig, first_seen_times
from lifecycle.registry import DataLineage, GateData, ValidationLineage, data_fingerprint
from lifecycle.training.errors import TrainingInputError
from lifecycle.training.progress import Steps
from lifecycle.training.split import TimeSplit, drop_known_compromised_cards, training_rows
from lifecycle.training.validation import validate_transactions

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Periods:
    """The split's lengths in days: the training period (its last ``calibration_days`` for calibration), the
    label delay (the gap before the test period) and the test period."""

    train_days: float
    calibration_days: float
    label_delay_days: float
    test_days: float


@dataclass(frozen=True)
class TrainingData:
    """Everything the steps after the split read. ``inputs`` has one row per transaction (time order) and one
    column per ``input_names``; ``fit``, ``calibration`` and ``test`` select rows of it (the first two: rows of the
    training period whose labels had matured at the cutoff, ``known_labels`` holding those labels)."""

    transactions: pd.DataFrame
    labels: pd.DataFrame | None
    feature_set: FeatureSet
    inputs: npt.NDArray[np.float32]
    input_names: tuple[str, ...]
    split: TimeSplit
    fit: BoolArray
    calibration: BoolArray
    known_labels: npt.NDArray[np.int64]
    test: BoolArray
    validation: ValidationLineage

    @property
    def train_inputs(self) -> npt.NDArray[np.float32]:
        """The model's fit rows."""
        return self.inputs[self.fit]

    @property
    def y_train(self) -> npt.NDArray[np.int64]:
        return self.known_labels[self.fit]

    @property
    def train_timestamps(self) -> pd.Series:
        return self.transactions.loc[self.fit, "timestamp"]

    @property
    def calibration_inputs(self) -> npt.NDArray[np.float32]:
        return self.inputs[self.calibration]

    @property
    def y_calibration(self) -> npt.NDArray[np.int64]:
        return self.known_labels[self.calibration]

    @property
    def calibration_timestamps(self) -> pd.Series:
        return self.transactions.loc[self.calibration, "timestamp"]

    @property
    def test_inputs(self) -> npt.NDArray[np.float32]:
        return self.inputs[self.test]

    @property
    def y_test(self) -> npt.NDArray[np.int64]:
        return self.transactions.loc[self.test, "is_fraud"].to_numpy(dtype=np.int64)

    @property
    def test_transactions(self) -> pd.DataFrame:
        return self.transactions.loc[self.test].reset_index(drop=True)

    @cached_property
    def first_seen(self) -> pd.Series:
        """When each card was first seen in the history up to the end of the test period (new-card slices)."""
        frame = self.transactions
        return first_seen_times([frame.loc[frame["timestamp"] < self.split.test_end]])

    def gate_data(self, evaluation: EvaluationConfig) -> GateData:
        """The test period as the gate judges it."""
        return GateData(self.test_inputs, self.input_names, self.test_transactions, evaluation, self.first_seen)

    def lineage(self, source: str) -> DataLineage:
        frame = self.transactions
        return DataLineage(
            fingerprint=data_fingerprint(frame),
            source=source,
            rows=len(frame),
            train_rows=int((self.fit | self.calibration).sum()),
            train_frauds=int(self.known_labels[self.fit | self.calibration].sum()),
            test_rows=int(self.test.sum()),
            test_frauds=int(frame.loc[self.test, "is_fraud"].sum()),
            first_timestamp=str(frame["timestamp"].min()),
            last_timestamp=str(frame["timestamp"].max()),
            split=self.split.to_lineage(),
            validation=self.validation,
            labels_fingerprint=None if self.labels is None else data_fingerprint(self.labels),
        )


def prepare(
    transactions: pd.DataFrame,
    labels: pd.DataFrame | None,
    *,
    feature_set: FeatureSet,
    periods: Periods,
    allow_invalid: bool,
    run_dir: Path,
    steps: Steps,
) -> TrainingData:
    """Validate, compute the model inputs, and split by ``periods``."""
    if transactions.empty:
        raise TrainingInputError("the training data holds no transactions")
    if "is_fraud" not in transactions.columns:
        raise TrainingInputError("the training data has no is_fraud column; join the labels first")
    if not transactions["is_fraud"].astype(bool).any():
        raise TrainingInputError(
            "the training data holds no fraud: a model cannot learn to find fraud without examples; "
            "check the labels (--labels) and the period the data covers"
        )
    frame = transactions.sort_values("timestamp", kind="mergesort").reset_index(drop=True)
    with steps.step("validate", f"validating {len(frame):,} transactions"):
        validation = validate_transactions(frame, run_dir / "validation", allow_invalid=allow_invalid)
    with steps.step("features", f"computing {len(feature_set)} features"):
        inputs = model_input(frame, OfflineFeatureEngine(feature_set).compute(frame, labels), feature_set)
    with steps.step("split", "splitting by time with the label-delay gap"):
        split, train, y_known, test = _split(frame, labels, periods)
    stamps = frame["timestamp"]
    return TrainingData(
        transactions=frame,
        labels=labels,
        feature_set=feature_set,
        inputs=inputs,
        input_names=model_input_names(feature_set),
        split=split,
        fit=train & split.fit_mask(stamps),
        calibration=train & split.calibration_mask(stamps),
        known_labels=y_known.astype(np.int64),
        test=test,
        validation=validation,
    )


def _split(
    frame: pd.DataFrame, labels: pd.DataFrame | None, periods: Periods
) -> tuple[TimeSplit, BoolArray, npt.NDArray[Any], BoolArray]:
    """The latest split the data allows: its test period ends with the day of the last transaction."""
    end: datetime = pd.Timestamp(frame["timestamp"].max()).ceil("D").to_pydatetime()
    split = TimeSplit.ending_at(
        end,
        train_days=periods.train_days,
        gap_days=periods.label_delay_days,
        test_days=periods.test_days,
        calibration_days=periods.calibration_days,
    )
    train, y_known = training_rows(frame, split, label_delay_days=periods.label_delay_days, labels=labels)
    delay = int(np.ceil(periods.label_delay_days))
    test = drop_known_compromised_cards(
        frame, split.test_mask(frame["timestamp"]), label_delay_days=delay, history_start=split.train_start
    )
    if not test.any() or frame.loc[test, "is_fraud"].nunique() < 2:
        raise TrainingInputError(f"the test period {split.test_start}..{split.test_end} needs frauds and genuine rows")
    return split, train, y_known, test
