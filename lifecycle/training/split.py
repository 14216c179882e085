"""Time-based splits with a label-delay gap, and the handbook's test-set rules.

A model trained at time ``cutoff`` may only learn from what was known then. Transactions of the training
period are at least ``gap`` old at the cutoff; the gap equals the label delay, so every training label has
matured. Labels that were reported later (a chargeback after the cutoff) are not known at the cutoff and do
not enter training. The test period starts at the cutoff. The last ``calibration_days`` of the training period,
when there are any, are kept from the model's fit: the calibrator learns there how the model's scores map to
fraud rates on data the model has not seen.

::

    |------------- train --------------|---- gap (label delay) ----|----- test -----|
    |------ fit ------|-- calibration --|
    train_start       fit_end           train_end                  cutoff=test_start test_end
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifecycle.registry.lineage import SplitLineage
from lifecycle.training.errors import SplitError

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TimeSplit:
    """Train ``[train_start, train_end)``, skip ``gap_days``, test ``[test_start, test_end)`` (UTC).

    >>> from datetime import UTC, datetime
    >>> split = TimeSplit(datetime(2018, 7, 25, tzinfo=UTC), train_days=7, gap_days=7, test_days=7)
    >>> split.test_start.date(), split.test_end.date()
    (datetime.date(2018, 8, 8), datetime.date(2018, 8, 15))
    """

    train_start: datetime
    train_days: float
    gap_days: float
    test_days: float
    calibration_days: float = 0.0

    def __post_init__(self) -> None:
        if self.train_start.tzinfo is None:
            raise SplitError("train_start must carry a time zone (UTC)")
        if self.train_days <= 0 or self.test_days <= 0:
            raise SplitError("train_days and test_days must be positive")
        if self.gap_days < 0:
            raise SplitError("gap_days must not be negative")
        if not 0 <= self.calibration_days < self.train_days:
            raise SplitError(
                f"calibration_days ({self.calibration_days}) must lie in [0, train_days={self.train_days}): the "
                "model needs days of its own to fit on"
            )

    @property
    def train_end(self) -> datetime:
        return self.train_start + timedelta(days=self.train_days)

    @property
    def fit_end(self) -> datetime:
        """The end of the model's fit, where the calibration slice begins (``train_end`` without one)."""
        return self.train_end - timedelta(days=self.calibration_days)

    @property
    def test_start(self) -> datetime:
        """Also the cutoff: the moment the model is trained, as if deployed then."""
        return self.train_end + timedelta(days=self.gap_days)

    @property
    def test_end(self) -> datetime:
        return self.test_start + timedelta(days=self.test_days)

    @classmethod
    def ending_at(
        cls, end: datetime, *, train_days: float, gap_days: float, test_days: float, calibration_days: float = 0.0
    ) -> TimeSplit:
        """The split whose test period ends at ``end`` (exclusive): the latest one a dataset allows."""
        start = end - timedelta(days=test_days + gap_days + train_days)
        return cls(start, train_days, gap_days, test_days, calibration_days)

    def train_mask(self, timestamps: pd.Series) -> BoolArray:
        stamps = _utc(timestamps)
        return ((stamps >= self.train_start) & (stamps < self.train_end)).to_numpy()

    def fit_mask(self, timestamps: pd.Series) -> BoolArray:
        """The training period before the calibration slice."""
        stamps = _utc(timestamps)
        return ((stamps >= self.train_start) & (stamps < self.fit_end)).to_numpy()

    def calibration_mask(self, timestamps: pd.Series) -> BoolArray:
        stamps = _utc(timestamps)
        return ((stamps >= self.fit_end) & (stamps < self.train_end)).to_numpy()

    def test_mask(self, timestamps: pd.Series) -> BoolArray:
        stamps = _utc(timestamps)
        return ((stamps >= self.test_start) & (stamps < self.test_end)).to_numpy()

    def to_lineage(self) -> SplitLineage:
        """The periods as the lineage records them."""
        return SplitLineage(
            train_start=self.train_start.isoformat(),
            fit_end=self.fit_end.isoformat(),
            train_end=self.train_end.isoformat(),
            gap_days=self.gap_days,
            test_start=self.test_start.isoformat(),
            test_end=self.test_end.isoformat(),
        )


def _utc(timestamps: pd.Series) -> pd.Series:
    return pd.to_datetime(timestamps, utc=True)


def labels_known_at(
    frame: pd.DataFrame,
    cutoff: datetime,
    *,
    label_delay_days: float,
    labels: pd.DataFrame | None = None,
    label_column: str = "is_fraud",
) -> tuple[npt.NDArray[np.int8], BoolArray]:
    """The label of each row as known at ``cutoff``, and whether that label had matured.

    Without a label feed, a transaction's label becomes known ``label_delay_days`` after it (the handbook's
    rule): rows younger than that at the cutoff are immature. With a label feed (``transaction_id``,
    ``is_fraud``, ``reported_at``), a row is a fraud only if its fraud report arrived by the cutoff, and is
    mature when it is older than the delay or a report about it has arrived.
    """
    stamps = _utc(frame["timestamp"])
    old_enough = (stamps + pd.Timedelta(days=label_delay_days) <= cutoff).to_numpy()
    if labels is None:
        if label_column not in frame.columns:
            raise SplitError(f"no label feed given and the frame has no {label_column!r} column")
        return frame[label_column].to_numpy().astype(np.int8), old_enough
    needed = {"transaction_id", "is_fraud", "reported_at"} - set(labels.columns)
    if needed:
        raise SplitError(f"the label feed lacks columns {sorted(needed)}")
    reported = labels[_utc(labels["reported_at"]) <= cutoff]
    frauds = set(reported.loc[reported["is_fraud"].astype(bool), "transaction_id"].astype(str))
    any_report = set(reported["transaction_id"].astype(str))
    ids = frame["transaction_id"].astype(str)
    known = ids.isin(frauds).to_numpy().astype(np.int8)
    return known, old_enough | ids.isin(any_report).to_numpy()


def training_rows(
    frame: pd.DataFrame,
    split: TimeSplit,
    *,
    label_delay_days: float,
    labels: pd.DataFrame | None = None,
) -> tuple[BoolArray, npt.NDArray[np.int8]]:
    """Rows of the training period whose label had matured at the cutoff, and those labels.

    Refuses a split whose gap is shorter than the label delay: its last training days would have no labels.
    """
    if split.gap_days < label_delay_days:
        raise SplitError(
            f"the gap ({split.gap_days} days) is shorter than the label delay ({label_delay_days} days); "
            "labels of the last training days are not known at the cutoff: widen the gap"
        )
    in_period = split.train_mask(frame["timestamp"])
    known, mature = labels_known_at(frame, split.test_start, label_delay_days=label_delay_days, labels=labels)
    rows = in_period & mature
    if not rows.any():
        raise SplitError(f"no mature training rows between {split.train_start} and {split.train_end}")
    return rows, known


def drop_known_compromised_cards(
    frame: pd.DataFrame,
    test_mask: BoolArray,
    *,
    label_delay_days: int = 7,
    history_start: datetime | None = None,
    label_column: str = "is_fraud",
) -> BoolArray:
    """The test mask without the cards already known to be compromised on each test day (handbook rule).

    For a test day T, a card is known compromised when it had a fraud on a day from ``history_start``
    (the training start in the handbook) up to T - (delay + 1) days: that fraud's label had arrived by T.
    Such cards are blocked in practice, so scoring them says nothing about the model.
    """
    days = _utc(frame["timestamp"]).dt.floor("D")
    fraud = frame[label_column].to_numpy().astype(bool)
    if history_start is not None:
        fraud &= (days >= pd.Timestamp(history_start).floor("D")).to_numpy()
    fraud_days = pd.DataFrame({"card": frame["card_token"].astype(str), "day": days})[fraud]
    first_fraud_day = fraud_days.groupby("card")["day"].min()
    cards = frame["card_token"].astype(str)
    known_since = cards.map(first_fraud_day)
    known_by = days - pd.Timedelta(days=label_delay_days + 1)
    blocked: BoolArray = (known_since.notna() & (known_since <= known_by)).to_numpy(dtype=bool)
    kept: BoolArray = test_mask & ~blocked
    return kept
