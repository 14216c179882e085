"""The run's HTML page: the lineage an analyst asks for, how the model was chosen, the served model's slices
(saying why a metric is missing), the candidates, every gate check with its outcome and reason, and the plots,
all escaped."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle.evaluation import evaluate, plot_roc
from lifecycle.registry import Check, Verdict
from lifecycle.training.html_report import write_html_report
from tests.lifecycle.registry import support


def test_page_holds_lineage_selection_slices_verdict_and_plots(tmp_path: Path) -> None:
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
    frame.loc[frame["amount"] >= 250, "is_fraud"] = True  # a slice of frauds only: its AUC is undefined
    scores = np.clip(frame["is_fraud"] * 0.5 + rng.random(n) * 0.5, 0, 1).to_numpy()
    plot = plot_roc({"model": (scores, frame["is_fraud"].to_numpy())}, tmp_path / "roc.png")
    verdict = Verdict.decide(
        content_id="sha256:abc",
        artifact_files={},
        checks=[
            Check.measured("value:auc_roc", 0.5, "auc_roc >= 0.8", False),
            Check.skipped("change:auc_roc", "auc_roc >= champion - 0.02", "no champion yet <first model>"),
        ],
        thresholds_version="1",
        thresholds_digest="0" * 64,
        champion_content_id=None,
        decided_by="tester",
    )
    report = evaluate(scores, frame)
    page = write_html_report(
        tmp_path / "report.html",
        title="run <1>",
        lineage=replace(support.lineage(), code_version="abc123<script>"),
        served=report,
        candidates={"lr": report},
        verdict=verdict,
        plots=[plot],
    )
    text = page.read_text()
    assert "run &lt;1&gt;" in text
    assert "abc123&lt;script&gt;" in text
    assert "f" * 64 in text  # the data fingerprint
    assert verdict.thresholds_digest in text
    assert "the only candidate" in text  # the selection rule
    assert "every transaction is a fraud" in text
    assert "src='roc.png'" in text
    assert "value:auc_roc" in text
    assert "<td class='skipped'>skipped</td><td>no champion yet &lt;first model&gt;</td>" in text
