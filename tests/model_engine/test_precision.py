"""The default precision is exact for the data a pipeline was fitted on: float64 where float32 would move a
decision or lose digits, float32 where it provably keeps every decision and the probe stays within tolerance."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, StandardScaler
from typer.testing import CliRunner

from model_engine import Signature, compile_model
from model_engine.converters import convert_estimator
from model_engine.passes.exactness import first_inexact_decision
from model_engine.precision import PROBE_TOLERANCE
from scoring_api.cli import app

NAMES = [f"f{i}" for i in range(6)]


def _data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 6)) * np.array([1.0, 10.0, 0.1, 3.0, 100.0, 1.0])
    y = (X[:, 0] + X[:, 1] / 10 - X[:, 3] / 3 + rng.normal(size=rows) * 0.5 > 0).astype(int)
    return X, y


def test_a_histogram_booster_fitted_on_float64_data_scores_exactly_by_default() -> None:
    # The reported case: values in cents land on the booster's float64 split thresholds, which float32 rounding
    # moves across (about 0.2 off predict_proba on 4,000 rows under the old float32 default).
    X, y = _data(4000)
    model = make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=60, random_state=0))
    model.fit(np.round(X, 2), y)
    X_new = np.round(_data(4000, seed=1)[0], 2)
    compiled = compile_model(model, NAMES)
    assert compiled.metadata["precision"]["dtype"] == "float64"
    assert "split" in compiled.metadata["precision"]["reason"]
    np.testing.assert_allclose(compiled.predict_proba(X_new), model.predict_proba(X_new), rtol=0, atol=1e-5)
    forced = compile_model(model, NAMES, dtype="float32")  # what the old default did: the inputs do bite
    assert np.abs(forced.predict_proba(X_new) - model.predict_proba(X_new)).max() > 1e-3


def test_the_same_booster_fitted_on_float32_data_computes_in_float32() -> None:
    X, y = _data(2000)
    X32 = X.astype(np.float32)
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X32, y)
    compiled = compile_model(model, NAMES, input_dtype="float32")
    assert compiled.metadata["precision"]["dtype"] == "float32"
    X_new = _data(2000, seed=1)[0].astype(np.float32)
    np.testing.assert_allclose(compiled.predict_proba(X_new), model.predict_proba(X_new), rtol=0, atol=1e-5)


def test_a_model_without_decisions_computes_in_float32_within_the_probe_tolerance() -> None:
    X, y = _data(500)
    compiled = compile_model(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), NAMES)
    precision = compiled.metadata["precision"]
    assert precision["dtype"] == "float32"
    assert precision["probe_max_abs_diff"] <= PROBE_TOLERANCE


def test_a_probe_where_float32_loses_digits_keeps_float64() -> None:
    model = LogisticRegression().fit(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), [0, 1, 0, 1])
    model.coef_ = np.array([[1e6, -1e6]])
    model.intercept_ = np.array([0.0])
    base = np.linspace(1.0, 2.0, 64)
    probe = np.column_stack([base + 1e-7, base])  # z = 0.1: float32 rounding of x moves it by as much
    compiled = compile_model(model, ["a", "b"], probe=probe)
    assert compiled.metadata["precision"]["dtype"] == "float64"
    assert "differ from float64" in compiled.metadata["precision"]["reason"]
    # float32 would be off by about 0.02 here. In float64 the engine adds each row's products in one fixed order
    # (a row scores the same in any batch), without BLAS's fused multiply-adds: with this cancellation (1e6 * x
    # - 1e6 * y) both roundings lie about 1e-10 from the exact margin, so they agree to about 3e-11.
    np.testing.assert_allclose(compiled.predict_proba(probe), model.predict_proba(probe), rtol=0, atol=1e-10)


def test_an_asked_precision_is_kept_and_said() -> None:
    X, y = _data(300)
    compiled = compile_model(RandomForestClassifier(3, max_depth=4, random_state=0).fit(X, y), NAMES, dtype="float32")
    assert compiled.metadata["precision"] == {"dtype": "float32", "reason": "asked for", "probe_max_abs_diff": None}
    assert compiled.dtype == "float32"


@pytest.mark.parametrize(
    ("exact_columns", "verdict"),
    [((False,) * 6, "splits on input column"), ((True,) * 6, None)],
)
def test_tree_splits_need_exact_columns(exact_columns: tuple[bool, ...], verdict: str | None) -> None:
    X, y = _data(300)
    graph = convert_estimator(RandomForestClassifier(3, max_depth=4, random_state=0).fit(X, y), 6, dtype="float64")
    problem = first_inexact_decision(graph, exact_columns)
    assert problem is None if verdict is None else verdict in problem


def test_bins_after_arithmetic_need_float64_even_for_float32_inputs() -> None:
    X, y = _data(300)
    model = make_pipeline(StandardScaler(), KBinsDiscretizer(4, encode="ordinal", quantile_method="linear"),
                          LogisticRegression()).fit(X, y)  # fmt: skip
    graph = convert_estimator(model, 6, dtype="float64")
    assert "bucketize" in (first_inexact_decision(graph, (True,) * 6) or "")


def test_category_codes_are_exact_in_float32() -> None:
    frame = pd.DataFrame({"amount": np.linspace(1, 100, 200), "channel": ["pos", "ecom", "atm", "ecom"] * 50})
    y = (frame["channel"] == "ecom").to_numpy().astype(int)
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    model = make_pipeline(
        make_column_transformer((StandardScaler(), ["amount"]), (OneHotEncoder(handle_unknown="ignore"), ["channel"])),
        LogisticRegression(),
    ).fit(frame, y)
    compiled = compile_model(model, Signature(("amount", "channel")))
    assert compiled.signature.dtypes == ("float64", "category")
    assert compiled.metadata["precision"]["dtype"] == "float32"


def test_compile_and_inspect_say_which_precision_and_why(tmp_path: Path) -> None:
    X, y = _data(1000)
    frame = pd.DataFrame(X, columns=NAMES)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(frame, y)
    joblib.dump(model, tmp_path / "model.joblib")
    runner = CliRunner()
    compiled = runner.invoke(app, ["artifact", "compile", str(tmp_path / "model.joblib"), str(tmp_path / "art")])
    assert compiled.exit_code == 0, compiled.output
    assert "precision float64: inputs are float64" in compiled.output
    inspected = runner.invoke(app, ["artifact", "inspect", str(tmp_path / "art"), "--no-graph"])
    assert inspected.exit_code == 0, inspected.output
    assert "precision  float64: inputs are float64" in inspected.output
    new = pd.DataFrame(_data(1000, seed=3)[0], columns=NAMES)
    new.to_parquet(tmp_path / "in.parquet")
    scored = runner.invoke(app, ["artifact", "score", str(tmp_path / "art"), str(tmp_path / "in.parquet"),
                                 str(tmp_path / "out.csv"), "--backend", "numba"])  # fmt: skip
    assert scored.exit_code == 0, scored.output
    out = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(out["score"], model.predict_proba(new)[:, 1], rtol=0, atol=1e-5)
    as_float32 = runner.invoke(app, ["artifact", "compile", str(tmp_path / "model.joblib"), str(tmp_path / "art32"),
                                     "--input-dtype", "float32"])  # fmt: skip
    assert "precision float32" in as_float32.output
