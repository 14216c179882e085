"""The public entry point: ``compile_model`` on every classifier case (default passes, float32) matches
scikit-learn's ``predict_proba`` on each CPU backend, for arrays and for DataFrames with named columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model_engine.compile import compile_model
from tests.model_engine.converters.cases import CLASSIFIER_CASES, Case
from tests.model_engine.converters.engine import available_backends
from tests.model_engine.converters.test_parity import ATOL_FLOAT32, sklearn_output

N_ROWS = 131


@pytest.mark.slow
@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("case", CLASSIFIER_CASES, ids=lambda c: c.id)
def test_compiled_model_matches_sklearn(case: Case, backend: str) -> None:
    compiled = compile_model(case.model(), case.feature_names, backend=backend)
    x = case.inputs(N_ROWS, seed=21).astype(np.float32)
    expected = sklearn_output(case, x)
    np.testing.assert_allclose(compiled.predict_proba(x), expected, rtol=0.0, atol=ATOL_FLOAT32)
    frame = pd.DataFrame(x, columns=case.feature_names)
    np.testing.assert_allclose(compiled.predict_proba(frame), expected, rtol=0.0, atol=ATOL_FLOAT32)
