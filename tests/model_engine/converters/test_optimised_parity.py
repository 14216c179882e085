"""Parity survives optimisation: every case's graph, run through the default pass pipeline (folds, unused-feature
elimination, float32 lowering, tree lowering, fusion), still matches scikit-learn within the stated tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from model_engine.converters import convert_estimator
from model_engine.passes.pipeline import default_pipeline
from tests.model_engine.converters.cases import ALL_CASES, Case
from tests.model_engine.converters.engine import available_backends, run
from tests.model_engine.converters.test_parity import TOLERANCE, sklearn_output

N_ROWS = 131


@pytest.mark.slow
@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_optimised_graph_matches_sklearn(case: Case, dtype: str, backend: str) -> None:
    source = convert_estimator(case.model(), case.feature_names if case.named else case.n_features, dtype="float64")
    result = default_pipeline(dtype=dtype).run(source)
    columns = np.arange(case.n_features)
    for stat in result.stats:  # unused-feature elimination narrows the input; applications compose
        kept = stat.notes.get("kept_columns")
        if kept is not None:
            columns = columns[list(kept)]
    x = case.inputs(N_ROWS, seed=11)
    expected = sklearn_output(case, x.astype(dtype))
    got = run(result.graph, np.ascontiguousarray(x[:, columns]).astype(dtype), backend)
    np.testing.assert_allclose(got, expected, rtol=0.0, atol=TOLERANCE[dtype])
