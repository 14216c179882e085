"""Device ops (torch on the device) against the NumPy reference kernels: exact for data movement and tree_gemm
decisions, 1e-6 absolute for the float reductions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="the Triton backend tests need torch (the 'gpu' extra)")
pytest.importorskip("triton", reason="the Triton backend tests need triton (the 'gpu' extra)")

import torch

from model_engine.backends.triton.torch_ops import TORCH_OPS
from model_engine.ops.registry import get_op

Array = np.ndarray[Any, Any]


def _compare(device: torch.device, op: str, attrs: dict[str, Any], *arrays: Array, atol: float = 0.0) -> None:
    (expected,) = get_op(op).reference(attrs, *arrays)
    got = TORCH_OPS[op](attrs, *(torch.from_numpy(np.array(a, order="C")).to(device) for a in arrays))
    got_np = got.cpu().numpy()
    assert got_np.dtype == expected.dtype, op
    np.testing.assert_allclose(got_np, expected, rtol=0, atol=atol, equal_nan=True)


def _column() -> Array:
    return np.array([[0.0], [1.0], [2.0], [2.5], [np.nan], [-1.0], [7.0]], dtype=np.float32)


def test_data_movement_ops(device: torch.device) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 4)).astype(np.float32)
    _compare(device, "gather_columns", {"indices": (3, 0, 0)}, x)
    _compare(device, "concat", {}, x, x[:, :1])
    _compare(device, "one_hot", {"categories": (0.0, 2.0, 7.0)}, _column())
    _compare(device, "category_index", {"categories": (2.0, 0.0)}, _column())
    index = np.array([[0], [2], [1], [2]], dtype=np.int32)
    _compare(device, "gather_rows", {}, rng.normal(size=(3, 5)).astype(np.float32), index)
    _compare(device, "cast", {"to": "int32"}, np.array([[1.7], [-1.7], [0.0]], dtype=np.float32))
    _compare(device, "cast", {"to": "float32"}, np.array([[True], [False]]))


@pytest.mark.parametrize("right", [True, False])
def test_bucketize_edges_and_nan(device: torch.device, right: bool) -> None:
    edges = np.array([0.0, 1.0, 2.5], dtype=np.float32)
    _compare(device, "bucketize", {"right": right}, _column(), edges)


def test_reductions_and_matmul(device: torch.device) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(11, 5)).astype(np.float32)
    for op in ("softmax", "reduce_sum", "reduce_max"):
        _compare(device, op, {}, x, atol=1e-6)
    _compare(device, "matmul", {}, x, rng.normal(size=(5, 3)).astype(np.float32), atol=1e-5)


def test_tree_gemm_of_a_compiled_shallow_ensemble(device: torch.device) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    from model_engine.compile import compile_model

    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    model = compile_model(
        GradientBoostingClassifier(n_estimators=4, max_depth=2).fit(X, X[:, 0] > 0), list("abc"), dtype="float32"
    )
    (node,) = [n for n in model.graph.nodes if n.op == "tree_gemm"]
    tables = [model.graph.constants[name] for name in node.inputs[1:]]
    rows = model.prepare_input(X[:13].astype(np.float32))
    rows[0, 0] = np.nan
    _compare(device, "tree_gemm", dict(node.attrs), rows, *tables, atol=1e-6)
