"""An evaluation report holds every metric overall and per slice and is stored as a typed record; plots are
written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from lifecycle.evaluation import (
    EvaluationConfig,
    EvaluationError,
    SliceSpec,
    evaluate,
    first_seen_times,
    plot_card_precision,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
    plot_score_distributions,
    recall_at_alert_rate,
    reliability_curve,
)
from lifecycle.evaluation.report import EvaluationReport
from lifecycle.records import from_document, to_document


def _frame(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 5, n), unit="D"),
            "card_token": rng.integers(0, 400, n).astype(str),
            "amount": rng.exponential(80.0, n),
            "channel": rng.choice(["pos", "ecom"], n),
            "country": rng.choice(["BE", "FR", "NL"], n, p=[0.6, 0.3, 0.1]),
            "is_fraud": rng.random(n) < 0.05,
        }
    )
    scores = np.clip(rng.normal(0.2 + 0.5 * frame["is_fraud"], 0.2), 0, 1)
    return frame, scores


def test_overall_and_slice_metrics() -> None:
    frame, scores = _frame()
    spec = SliceSpec(max_countries=2, new_card_days=1.0)
    report = evaluate(scores, frame, EvaluationConfig(k=20, alert_rate=0.05, slices=spec))
    y = frame["is_fraud"].to_numpy()
    assert report.overall.auc_roc == pytest.approx(roc_auc_score(y, scores))
    ecom = (frame["channel"] == "ecom").to_numpy()
    assert report.slices["channel=ecom"].average_precision == pytest.approx(
        average_precision_score(y[ecom], scores[ecom])
    )
    assert report.slices["channel=ecom"].transactions == int(ecom.sum())
    assert {"channel=pos", "country=BE", "country=FR", "country=other", "card=new", "card=established"} <= set(
        report.slices
    )
    assert any(name.startswith("amount=") for name in report.slices)
    # A slice's recall uses the overall alert threshold: the frauds it catches over the slice's frauds.
    caught = (scores >= report.threshold_at_alert_rate) & y & ecom
    assert report.slices["channel=ecom"].recall_at_alert_rate == pytest.approx(caught.sum() / (y & ecom).sum())
    # Stored in lineage as JSON and read back as the same record (infinite amount band edge included).
    document = to_document(report)
    assert document["overall"]["frauds"] == int(y.sum())
    assert from_document(EvaluationReport, document) == report


def test_new_cards_are_judged_against_the_full_history() -> None:
    frame, scores = _frame()
    history = frame.assign(timestamp=frame["timestamp"] - pd.Timedelta(days=365))
    report = evaluate(scores, frame, first_seen=first_seen_times([history, frame]))
    assert "card=new" not in report.slices
    assert report.slices["card=established"].transactions == len(frame)


def test_plots_are_written(tmp_path: Path) -> None:
    frame, scores = _frame()
    y = frame["is_fraud"].to_numpy()
    plots = [
        plot_roc({"model": (scores, y)}, tmp_path / "roc.png"),
        plot_precision_recall({"model": (scores, y)}, tmp_path / "pr.png"),
        plot_reliability({"model": reliability_curve(scores, y)}, tmp_path / "calibration.png"),
        plot_card_precision({"model": evaluate(scores, frame).card_precision}, tmp_path / "cp.png"),
        plot_score_distributions(scores, y, tmp_path / "scores.png"),
    ]
    for plot in plots:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"alert_rate": 0.0}, {"alert_rate": 5.0}, {"calibration_bins": 0}])
def test_bad_configuration_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(EvaluationError):
        EvaluationConfig(**kwargs)  # type: ignore[arg-type]


def test_recall_at_alert_rate_never_exceeds_the_budget_on_tied_scores() -> None:
    """A constant score ties every transaction at the cut: the budget still holds ceil(rate * n) alerts, so the
    recall is that of a random pick of the budget, not 1.0 (which a ``score >= threshold`` test would give)."""
    frame, _ = _frame()
    scores = np.full(len(frame), 0.5)
    report = evaluate(scores, frame, EvaluationConfig(alert_rate=0.05))
    y = frame["is_fraud"].to_numpy()
    recall = report.overall.recall_at_alert_rate
    assert recall is not None
    assert recall == pytest.approx(recall_at_alert_rate(scores, y, 0.05))
    assert recall < 0.5
    # Slices share the overall alerts: their caught frauds add up to the overall caught frauds.
    ecom, pos = report.slices["channel=ecom"], report.slices["channel=pos"]
    caught = (ecom.recall_at_alert_rate or 0.0) * ecom.frauds + (pos.recall_at_alert_rate or 0.0) * pos.frauds
    assert caught == pytest.approx(recall * report.overall.frauds)


def test_card_age_slices_need_enough_history_to_tell_new_from_old() -> None:
    frame, scores = _frame()  # five days of transactions, no earlier history
    report = evaluate(scores, frame, EvaluationConfig(slices=SliceSpec(new_card_days=30.0)))
    # Every transaction comes less than 30 days after the history starts: no card slice, and the report says why.
    assert "card=new" not in report.slices
    assert "card=established" not in report.slices
    (note,) = report.slice_notes.values()
    assert "3,000 of 3,000 transactions are in neither card slice" in note
    short = evaluate(scores, frame, EvaluationConfig(slices=SliceSpec(new_card_days=2.0)))
    judged = short.slices["card=new"].transactions + short.slices["card=established"].transactions
    assert 0 < judged < len(frame)
    history = frame.assign(timestamp=frame["timestamp"] - pd.Timedelta(days=60))
    full = evaluate(scores, frame, EvaluationConfig(slices=SliceSpec(new_card_days=30.0)), first_seen_times([history]))
    assert full.slice_notes == {}
