"""The public entry point under its default options: ``compile_model`` on every classifier case matches
scikit-learn's ``predict_proba`` within 1e-5 on each CPU backend, for a model fitted on float64 data scored with
float64 inputs and for one fitted on float32 data scored with float32 inputs (the precision is chosen per model:
see model_engine.precision), for arrays and for DataFrames with named columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model_engine.compile import compile_model
from tests.model_engine.converters.cases import CLASSIFIER_CASES, Case
from tests.model_engine.converters.engine import available_backends
from tests.model_engine.converters.test_parity import sklearn_output

N_ROWS = 131
ATOL = 1e-5  # the parity target of the default options, whatever the family and the input dtype


@pytest.mark.slow
@pytest.mark.parametrize("input_dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("case", CLASSIFIER_CASES, ids=lambda c: c.id)
def test_compiled_model_matches_sklearn_under_default_options(case: Case, backend: str, input_dtype: str) -> None:
    model = case.model(input_dtype)
    compiled = compile_model(model, case.feature_names, input_dtype=input_dtype, backend=backend)
    x = case.inputs(N_ROWS, seed=21).astype(input_dtype)
    expected = sklearn_output(case, x, input_dtype)
    np.testing.assert_allclose(compiled.predict_proba(x), expected, rtol=0.0, atol=ATOL)
    frame = pd.DataFrame(x, columns=case.feature_names)
    np.testing.assert_allclose(compiled.predict_proba(frame), expected, rtol=0.0, atol=ATOL)
