"""Fused preprocessing regions (column selection, concat, scalers, one-hot, bucketize) against the NumPy
backend: exact for data movement, one-hot and bins; 1e-6 absolute for the scaler arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the Triton backend tests need torch (the 'gpu' extra)")
pytest.importorskip("triton", reason="the Triton backend tests need triton (the 'gpu' extra)")

from model_engine.backends import get_backend
from model_engine.backends.triton.backend import TritonBackend
from model_engine.ir import DType, Graph
from model_engine.ops import GraphBuilder

pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")


def _rows() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(45, 4)).astype(np.float32)
    x[:, 3] = rng.integers(0, 4, size=45)
    x[::7, 0] = np.nan
    x[5, 3] = 9.0  # an unknown category
    x[6, 1] = 0.5  # exactly on a bin edge
    return x


def _preprocessing_graph(*, extra_user: bool) -> Graph:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT32, 4)
    num = b.op("gather_columns", x, indices=(0, 1))
    fill = b.constant(np.array([0.25, -1.0], dtype=np.float32), "fill")
    mean = b.constant(np.array([[0.1, 0.2]], dtype=np.float32), "mean")
    scale = b.constant(np.array([2.0, 0.5], dtype=np.float32), "scale")
    imputed = b.op("where", b.op("isnan", num), fill, num)
    scaled = b.op("div", b.op("sub", imputed, mean), scale)
    category = b.op("gather_columns", x, indices=(3,))
    onehot = b.op("one_hot", category, categories=(0.0, 1.0, 2.0, 3.0))
    edges = b.constant(np.array([-1.0, 0.0, 0.5, 1.0], dtype=np.float32), "edges")
    right = b.op("bucketize", b.op("gather_columns", x, indices=(1,)), edges, right=True)
    left = b.op("bucketize", b.op("gather_columns", x, indices=(0,)), edges, right=False)
    features = b.op("concat", scaled, onehot, right, left)
    b.output("features", features)
    if extra_user:
        b.output("total", b.op("reduce_sum", scaled))  # a second reader of an inner value
    return b.build()


@pytest.mark.parametrize("extra_user", [False, True])
def test_region_matches_numpy(extra_user: bool) -> None:
    graph = _preprocessing_graph(extra_user=extra_user)
    executable = TritonBackend().prepare(graph)
    kinds = [kind for kind, _ in executable.lowering()]
    assert kinds[0] == "columnar"
    assert kinds.count("columnar") == 1
    x = _rows()
    expected = get_backend("numpy").prepare(graph).run(x)
    got = executable.run(x)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-6)


def test_one_hot_as_row_gather() -> None:
    """category_index + gather_rows (what a one-hot feeding a product folds into), unknown values included."""
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT32, 4)
    index = b.op("category_index", b.op("gather_columns", x, indices=(3,)), categories=(2.0, 0.0, 1.0))
    table = b.constant(np.array([[1.5, -2.0], [0.25, 3.0], [4.0, 0.5], [0.0, 0.0]], dtype=np.float32), "table")
    b.output("y", b.op("add", b.op("gather_rows", table, index), b.op("gather_columns", x, indices=(0, 1))))
    graph = b.build()
    executable = TritonBackend().prepare(graph)
    assert [kind for kind, _ in executable.lowering()] == ["columnar"]
    x_rows = _rows()
    expected = get_backend("numpy").prepare(graph).run(x_rows)[0]
    np.testing.assert_array_equal(executable.run(x_rows)[0], expected)


def test_value_needed_early_outside_keeps_nodes_separate() -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT32, 3)
    selected = b.op("gather_columns", x, indices=(0, 1))
    total = b.op("reduce_sum", selected)  # not fusable, produced between the candidate region's nodes
    b.output("y", b.op("concat", selected, total))
    graph = b.build()
    executable = TritonBackend().prepare(graph)
    assert "columnar" not in [kind for kind, _ in executable.lowering()]
    x_rows = _rows()[:, :3]
    np.testing.assert_array_equal(executable.run(x_rows)[0], get_backend("numpy").prepare(graph).run(x_rows)[0])
