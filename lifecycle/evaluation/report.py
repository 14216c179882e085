"""One evaluation: every metric, overall and per slice, as a typed record (stored in lineage, read by the gate).

>>> import numpy as np, pandas as pd
>>> frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=4, freq="h", tz="UTC"),
...                       "card_token": ["a", "b", "c", "d"], "amount": [10.0, 20.0, 300.0, 40.0],
...                       "is_fraud": [0, 0, 1, 0]})
>>> report = evaluate(np.array([0.1, 0.2, 0.9, 0.3]), frame, EvaluationConfig(k=2, alert_rate=0.25))
>>> report.overall.auc_roc, report.overall.card_precision_at_k
(1.0, 0.5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifecycle.evaluation.card_precision import CardPrecision, card_precision_at_k
from lifecycle.evaluation.errors import EvaluationError
from lifecycle.evaluation.metrics import (
    ReliabilityCurve,
    alert_threshold,
    as_scores_and_labels,
    average_precision,
    brier_score,
    reliability_curve,
    roc_auc,
)
from lifecycle.evaluation.slices import SliceSpec, slice_masks
from lifecycle.records import RECORD_CONFIG


@dataclass(frozen=True)
class EvaluationConfig:
    """What to measure: the card budget ``k``, the bank's alert rate, calibration bins and the slices."""

    __pydantic_config__ = RECORD_CONFIG

    k: int = 100
    alert_rate: float = 0.005
    calibration_bins: int = 10
    slices: SliceSpec = field(default_factory=SliceSpec)
    label_column: str = "is_fraud"

    def __post_init__(self) -> None:
        if self.k < 1:
            raise EvaluationError(f"k must be at least 1, got {self.k}")
        if not 0.0 < self.alert_rate <= 1.0:
            raise EvaluationError(f"alert_rate must lie in (0, 1], got {self.alert_rate!r} (0.005 is 0.5 %)")
        if self.calibration_bins < 1:
            raise EvaluationError(f"calibration_bins must be at least 1, got {self.calibration_bins}")


@dataclass(frozen=True)
class Metrics:
    """The metrics of one population. Ranking metrics are ``None`` where undefined (no fraud, or no genuine)."""

    __pydantic_config__ = RECORD_CONFIG

    transactions: int
    frauds: int
    auc_roc: float | None
    average_precision: float | None
    card_precision_at_k: float | None
    recall_at_alert_rate: float | None
    brier: float
    ece: float


@dataclass(frozen=True)
class EvaluationReport:
    """Overall metrics, per-slice metrics, and the curves behind them."""

    __pydantic_config__ = RECORD_CONFIG

    config: EvaluationConfig
    overall: Metrics
    slices: dict[str, Metrics]
    card_precision: CardPrecision
    reliability: ReliabilityCurve
    threshold_at_alert_rate: float
    #: Slices not cut, or cut short, and why (e.g. too little history to tell new cards from old ones).
    slice_notes: dict[str, str] = field(default_factory=dict)


def _alerts(s: npt.NDArray[np.float64], alert_rate: float) -> npt.NDArray[np.bool_]:
    """The transactions inside the bank's budget of ``ceil(alert_rate * n)`` alerts, highest scores first.

    Ties at the cut are broken by input order (as :func:`recall_at_alert_rate` does): a threshold test
    (``score >= cut``) would admit every tied score and let a model with coarse or constant scores exceed the
    budget and claim the recall of a larger one.
    """
    alerted = np.zeros(s.size, dtype=np.bool_)
    alerted[np.argsort(-s, kind="mergesort")[: math.ceil(alert_rate * s.size)]] = True
    return alerted


def _metrics(
    s: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    cards: npt.NDArray[Any],
    days: npt.NDArray[Any],
    alerted: npt.NDArray[np.bool_],
    config: EvaluationConfig,
) -> tuple[Metrics, CardPrecision, ReliabilityCurve]:
    frauds = int(y.sum())
    both = 0 < frauds < y.size
    cp = card_precision_at_k(s, y, cards, days, k=config.k)
    curve = reliability_curve(s, y, n_bins=config.calibration_bins)
    # Recall at the alert rate uses the overall alerts: the bank's budget is set on all traffic, and a slice's
    # recall is the share of its frauds that the overall budget catches.
    recall = float(y[alerted].sum() / frauds) if frauds else None
    metrics = Metrics(
        transactions=int(y.size),
        frauds=frauds,
        auc_roc=roc_auc(s, y) if both else None,
        average_precision=average_precision(s, y) if frauds else None,
        card_precision_at_k=cp.mean,
        recall_at_alert_rate=recall,
        brier=brier_score(s, y),
        ece=curve.expected_calibration_error,
    )
    return metrics, cp, curve


def evaluate(
    scores: npt.ArrayLike,
    frame: pd.DataFrame,
    config: EvaluationConfig | None = None,
    first_seen: pd.Series | None = None,
) -> EvaluationReport:
    """Evaluate fraud probabilities ``scores`` on ``frame`` (contract columns plus the label column)."""
    config = config or EvaluationConfig()
    needed = [c for c in (config.label_column, "card_token", "timestamp", "amount") if c not in frame.columns]
    if needed:
        raise EvaluationError(f"the evaluated frame lacks columns {needed}")
    s, y = as_scores_and_labels(scores, frame[config.label_column].to_numpy(dtype=np.float64))
    if s.size == 0:
        raise EvaluationError("nothing to evaluate: the test set is empty")
    cards = frame["card_token"].astype(str).to_numpy()
    days = pd.to_datetime(frame["timestamp"], utc=True).dt.strftime("%Y-%m-%d").to_numpy()
    threshold = alert_threshold(s, config.alert_rate)
    alerted = _alerts(s, config.alert_rate)
    overall, cp, curve = _metrics(s, y, cards, days, alerted, config)
    per_slice: dict[str, Metrics] = {}
    slices = slice_masks(frame, config.slices, first_seen)
    for name, mask in slices.masks.items():
        per_slice[name] = _metrics(s[mask], y[mask], cards[mask], days[mask], alerted[mask], config)[0]
    return EvaluationReport(
        config=config,
        overall=overall,
        slices=per_slice,
        card_precision=cp,
        reliability=curve,
        threshold_at_alert_rate=threshold,
        slice_notes=slices.notes,
    )
