"""compile_model reads an estimator's inputs by name: a signature in another order, or with features the
estimator never saw, cannot silently feed it the wrong columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from model_engine import compile_model
from model_engine.errors import ModelEngineError, PassError
from model_engine.passes import GraphPass, infer_types, to_float32

FLOAT32_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def named_data() -> tuple[pd.DataFrame, np.ndarray]:
    x, y = make_classification(n_samples=300, n_features=5, random_state=0)
    return pd.DataFrame(x.astype(np.float32), columns=[f"f{i}" for i in range(5)]), y


def test_a_signature_in_another_order_reads_columns_by_name(named_data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = named_data
    model = LogisticRegression().fit(frame, y)
    order = ["f4", "extra", "f2", "f0", "f3", "f1"]
    served = frame.assign(extra=np.float32(7.0))[order]
    compiled = compile_model(model, order)
    got = compiled.predict_proba(served.to_numpy())
    np.testing.assert_allclose(got, model.predict_proba(frame), atol=FLOAT32_TOLERANCE)


def test_a_signature_missing_a_fitted_feature_is_refused(named_data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = named_data
    model = LogisticRegression().fit(frame, y)
    with pytest.raises(ModelEngineError, match=r"fitted on features \['f0'\]"):
        compile_model(model, ["f4", "f3", "f2", "f1", "other"])


def test_a_transformer_is_refused_with_a_reason(named_data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, _ = named_data
    with pytest.raises(ModelEngineError, match="not a classifier"):
        compile_model(StandardScaler().fit(frame), list(frame.columns))


@pytest.mark.parametrize(
    ("dtype", "wrong", "right"),
    [("float32", [infer_types], [infer_types, to_float32]), ("float64", [infer_types, to_float32], [infer_types])],
)
def test_an_explicit_pass_list_must_give_the_asked_precision(
    named_data: tuple[pd.DataFrame, np.ndarray], dtype: str, wrong: list[GraphPass], right: list[GraphPass]
) -> None:
    frame, y = named_data
    model = LogisticRegression().fit(frame, y)
    with pytest.raises(PassError, match=f"dtype='{dtype}' was asked"):
        compile_model(model, list(frame.columns), dtype=dtype, passes=wrong)
    assert compile_model(model, list(frame.columns), dtype=dtype, passes=right).dtype == dtype
