"""The run's HTML page: candidates, the chosen model's slices, the gate's checks and the plots, escaped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle.evaluation import evaluate, plot_roc
from lifecycle.registry import Check, Verdict
from lifecycle.training.html_report import write_html_report


def test_page_holds_candidates_verdict_and_plots(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="10min", tz="UTC"),
            "card_token": [f"c{i % 300}" for i in range(n)],
            "amount": rng.gamma(2.0, 40.0, size=n),
            "is_fraud": rng.random(n) < 0.05,
        }
    )
    scores = np.clip(frame["is_fraud"] * 0.5 + rng.random(n) * 0.5, 0, 1).to_numpy()
    plot = plot_roc({"model": (scores, frame["is_fraud"].to_numpy())}, tmp_path / "roc.png")
    verdict = Verdict.decide(
        content_id="sha256:abc",
        artifact_files={},
        checks=[Check.measured("value:auc_roc", 0.5, "auc_roc >= 0.8", False)],
        thresholds_version="1",
        thresholds_digest="0" * 64,
        champion_content_id=None,
        decided_by="tester",
    )
    page = write_html_report(
        tmp_path / "report.html",
        title="run <1>",
        candidates={"lr": evaluate(scores, frame)},
        chosen="lr",
        plots=[plot],
        verdict=verdict,
    )
    text = page.read_text()
    assert "run &lt;1&gt;" in text
    assert "src='roc.png'" in text
    assert "value:auc_roc" in text
    assert "refused" in text
