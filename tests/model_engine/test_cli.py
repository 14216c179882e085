"""``fraud artifact compile|inspect|score`` through the real command line application."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from typer.testing import CliRunner

from scoring_api.cli import app


def test_compile_inspect_score(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)).astype(np.float32), columns=["a", "b", "c", "d"])
    y = (frame["a"] > 0).astype(int)
    model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(frame, y)
    joblib.dump(model, tmp_path / "model.joblib")
    runner = CliRunner()

    compiled = runner.invoke(app, ["artifact", "compile", str(tmp_path / "model.joblib"), str(tmp_path / "art")])
    assert compiled.exit_code == 0, compiled.output
    assert "content id sha256:" in compiled.output

    inspected = runner.invoke(app, ["artifact", "inspect", str(tmp_path / "art")])
    assert inspected.exit_code == 0, inspected.output
    assert "lower_trees" in inspected.output
    assert "consistent" in inspected.output
    assert "accidental damage only" in inspected.output  # an unsigned manifest proves nothing of origin

    scored_in = frame.assign(transaction_id=[f"t{i}" for i in range(len(frame))])
    scored_in.to_csv(tmp_path / "in.csv", index=False)
    scored = runner.invoke(app, ["artifact", "score", str(tmp_path / "art"), str(tmp_path / "in.csv"),
                                 str(tmp_path / "out.parquet"), "--backend", "numpy"])  # fmt: skip
    assert scored.exit_code == 0, scored.output
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == ["transaction_id", "score"]
    np.testing.assert_allclose(out["score"], model.predict_proba(frame)[:, 1], atol=1e-5)

    (tmp_path / "art" / "graph.json").write_text("{}")
    broken = runner.invoke(app, ["artifact", "inspect", str(tmp_path / "art")])
    assert broken.exit_code == 1
    assert "modified" in broken.output or "truncated" in broken.output


@pytest.mark.parametrize(("option", "value"), [("--dtype", "float16"), ("--tree-strategy", "fastest")])
def test_compile_refuses_an_unknown_choice_as_a_usage_error(tmp_path: Path, option: str, value: str) -> None:
    joblib.dump({"not": "a model"}, tmp_path / "model.joblib")
    result = CliRunner().invoke(app, ["artifact", "compile", str(tmp_path / "model.joblib"), str(tmp_path / "art"),
                                      "--features", "a,b", option, value])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert value in result.output
    assert option in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "art").exists()


def test_inspect_does_not_vouch_for_an_artifact_a_forger_made_consistent(tmp_path: Path) -> None:
    # Issue 12, point 10: the manifest is unkeyed, so a forger who recomputes the golden batch and the manifest
    # (here: another model saved under the original's lineage, scoring 1.0 everywhere) got "verified" from
    # `fraud artifact inspect`. It now says what it checked: consistency, against accidents only.
    from sklearn.linear_model import LogisticRegression

    from model_engine import compile_model, load_model, save_model

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 2)), columns=["a", "b"])
    forged = LogisticRegression().fit(X, (X["a"] > 0).astype(int))
    forged.coef_[:] = 0.0
    forged.intercept_[:] = 50.0  # every score 1.0
    save_model(compile_model(forged, ["a", "b"]), tmp_path / "forged", golden_input=X.to_numpy()[:16])
    assert np.allclose(load_model(tmp_path / "forged", backend="numpy").score(X.to_numpy()), 1.0)
    inspected = CliRunner().invoke(app, ["artifact", "inspect", str(tmp_path / "forged"), "--no-graph"])
    assert inspected.exit_code == 0, inspected.output
    assert "verified" not in inspected.output
    assert "accidental damage only" in inspected.output
    assert "unsigned" in inspected.output
