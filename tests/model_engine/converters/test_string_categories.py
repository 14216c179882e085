"""String-category pipelines of every family compile from their DataFrames and match ``predict_proba`` within 1e-5,
with unknown, infrequent and missing categories at scoring time; the same through ``fraud artifact score`` on
Parquet and CSV, for pandas categorical columns and for the column mappings a serving path sends."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from typer.testing import CliRunner

from model_engine import compile_model
from model_engine.signature import CATEGORY
from scoring_api.cli import app
from tests.model_engine.converters.string_cases import CATEGORICAL, FEATURES, PIPELINES, fitted, labels, transactions

ATOL = 1e-5


def expected(model: Any, frame: pd.DataFrame) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown-category warnings are the point
        return np.asarray(model.predict_proba(frame))


@pytest.mark.parametrize("name", list(PIPELINES))
def test_string_category_pipeline_matches_predict_proba(name: str) -> None:
    model = fitted(name)
    compiled = compile_model(model, FEATURES)
    assert [compiled.signature.dtypes[FEATURES.index(c)] for c in CATEGORICAL] == [CATEGORY, CATEGORY]
    assert set(compiled.signature.vocabularies["channel"]) >= {"pos", "ecom", "atm", "moto"}
    frame = transactions(500, seed=3, scoring=True)
    np.testing.assert_allclose(compiled.predict_proba(frame), expected(model, frame), rtol=0, atol=ATOL)
    for backend in ("numpy", "numba"):
        np.testing.assert_allclose(compiled.score(frame, backend=backend), expected(model, frame)[:, 1], atol=ATOL)


def test_pandas_categorical_columns_and_column_mappings_score_alike() -> None:
    model = fitted("onehot_ignore_logreg")
    compiled = compile_model(model, FEATURES)
    frame = transactions(200, seed=4, scoring=True)
    reference = expected(model, frame)
    as_category = frame.astype({"channel": "category", "country": "category"})
    np.testing.assert_allclose(compiled.predict_proba(as_category), reference, rtol=0, atol=ATOL)
    mapping = {column: frame[column].tolist() for column in frame.columns}  # a serving request's columns
    np.testing.assert_allclose(compiled.predict_proba(mapping), reference, rtol=0, atol=ATOL)


def test_hgb_on_pandas_categorical_dtype_compiles() -> None:
    train = transactions(600, seed=0, scoring=False).astype({"channel": "category", "country": "category"})
    model = HistGradientBoostingClassifier(max_iter=8, categorical_features="from_dtype", random_state=0)
    model.fit(train, labels(train))
    compiled = compile_model(model, FEATURES)
    frame = transactions(300, seed=5, scoring=True)
    known = {c: train[c].cat.categories for c in CATEGORICAL}  # unknown values become missing, as pandas would
    categorical = frame.assign(**{c: frame[c].where(frame[c].isin(known[c])) for c in CATEGORICAL})
    categorical = categorical.astype({c: pd.CategoricalDtype(known[c]) for c in CATEGORICAL})
    np.testing.assert_allclose(compiled.predict_proba(frame), expected(model, categorical), rtol=0, atol=ATOL)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_fraud_artifact_score_reads_string_columns(tmp_path: Path, suffix: str) -> None:
    model = fitted("ordinal_unknown_forest")
    joblib.dump(model, tmp_path / "model.joblib")
    runner = CliRunner()
    made = runner.invoke(app, ["artifact", "compile", str(tmp_path / "model.joblib"), str(tmp_path / "art")])
    assert made.exit_code == 0, made.output
    frame = transactions(300, seed=6, scoring=True)
    frame["country"] = frame["country"].where(frame["country"] != "c03", "0042")  # a code CSV would read as 42
    source = tmp_path / f"in{suffix}"
    frame.to_parquet(source) if suffix == ".parquet" else frame.to_csv(source, index=False)
    scored = runner.invoke(app, ["artifact", "score", str(tmp_path / "art"), str(source), str(tmp_path / "out.csv")])
    assert scored.exit_code == 0, scored.output
    out = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(out["score"], expected(model, frame)[:, 1], rtol=0, atol=ATOL)
    inspected = runner.invoke(app, ["artifact", "inspect", str(tmp_path / "art"), "--no-graph"])
    assert "channel: category" in inspected.output
