"""Full-size parity on a real GPU (skipped without CUDA): the kernels compiled, against the NumPy backend.

Tolerances as in the interpreter tests: 1e-5 absolute on probabilities, leaf choice identical; plus bit-identical
repeats and batch splits (the summation order belongs to the model).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="the GPU tests need torch (the 'gpu' extra)")
pytest.importorskip("triton", reason="the GPU tests need triton (the 'gpu' extra)")

import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (CUDA)"),
]

N_FEATURES = 30
NAMES = [f"f{i}" for i in range(N_FEATURES)]


def _rows(n: int, seed: int = 1) -> np.ndarray[Any, Any]:
    x = np.random.default_rng(seed).normal(size=(n, N_FEATURES)).astype(np.float32)
    x[::97, 3] = np.nan
    return x


def _compiled(estimator: Any) -> Any:
    from sklearn.datasets import make_classification

    from model_engine.compile import compile_model

    X, y = make_classification(20_000, N_FEATURES, n_informative=12, weights=[0.99], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y)
    return compile_model(estimator, NAMES, dtype="float32")


def test_mlp_30_64_32_1_full_size() -> None:
    from sklearn.neural_network import MLPClassifier

    model = _compiled(MLPClassifier((64, 32), max_iter=20, random_state=0))
    x = np.nan_to_num(_rows(300_001))
    expected = model.predict_proba(x, backend="numpy")
    got = model.predict_proba(x, backend="triton")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_forest_500_trees_depth_8_full_size_and_deterministic() -> None:
    from sklearn.ensemble import RandomForestClassifier

    from model_engine.backends import get_backend
    from model_engine.backends.triton.backend import TritonBackend

    model = _compiled(RandomForestClassifier(500, max_depth=8, random_state=0, n_jobs=-1))
    x = model.prepare_input(_rows(100_003))
    expected = get_backend("numpy").prepare(model.graph).run(x)[0]
    executable = TritonBackend(min_rows=0).prepare(model.graph)
    got = executable.run(x)[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert np.array_equal(executable.run(x)[0], got)
    assert np.array_equal(executable.run(x[5_000:9_000])[0], got[5_000:9_000])


def test_forest_kernel_leaves_full_size() -> None:
    from model_engine.backends.triton.forest_launch import TreeEnsembleKernel
    from model_engine.backends.triton.forest_layout import ForestOutput, pack_compact, pack_perfect
    from model_engine.ops.trees import traverse_tables

    from .cases import adversarial_rows, random_tables

    rng = np.random.default_rng(3)
    tables = random_tables(rng, n_trees=200, max_depth=8, n_features=N_FEATURES, n_outputs=1)
    x = adversarial_rows(rng, tables, 20_000, N_FEATURES)
    expected = traverse_tables(
        x, tables.feature, tables.threshold, tables.left, tables.right, tables.missing_go_left, tables.roots
    )
    for layout in (pack_perfect(tables), pack_compact(tables)):
        kernel = TreeEnsembleKernel(
            layout, n_features=N_FEATURES, aggregation="sum", base_score=np.zeros(1),
            output=ForestOutput.BINARY_SIGMOID, device=torch.device("cuda"),
        )  # fmt: skip
        leaves = torch.empty((x.shape[0], tables.n_trees), dtype=torch.int32, device="cuda")
        kernel(torch.from_numpy(x).cuda(), leaves=leaves)
        got = leaves.cpu().numpy()
        if hasattr(layout, "node_ids"):
            assert np.array_equal(layout.node_ids[got], expected)
        else:
            values = layout.leaf_value[np.arange(tables.n_trees) * (1 << layout.depth) + got, 0]
            assert np.array_equal(values, tables.value[expected, 0])
