"""Fused elementwise programs: the compiled loops agree with the NumPy reference on awkward values."""

from __future__ import annotations

import numpy as np
import pytest

from model_engine.backends import get_backend
from model_engine.backends.numpy_backend import run_graph
from model_engine.ir import DType
from model_engine.ops import GraphBuilder
from model_engine.passes import fuse_elementwise

F32 = DType.FLOAT32
EDGE = np.array([[-np.inf, -50.0, -1.0, -0.0, 0.0, 1e-30, 0.5, 2.0, 80.0, np.inf, np.nan]], dtype=np.float32)


@pytest.mark.parametrize(
    "chain",
    [
        ("exp", "log", "sqrt", "abs"),
        ("sigmoid", "tanh", "relu", "neg"),
        ("relu", "sigmoid"),
    ],
)
def test_unary_chains_match_the_reference(chain: tuple[str, ...]) -> None:
    b = GraphBuilder()
    x = b.input("x", F32, EDGE.shape[1])
    v = x
    for op in chain:
        v = b.op(op, v)
    b.output("y", v)
    graph = fuse_elementwise(b.build()).graph
    assert graph.op_counts() == {"fused_elementwise": 1}
    (got,) = get_backend("numba").prepare(graph).run(EDGE)
    np.testing.assert_allclose(got, run_graph(graph, EDGE)[0], rtol=2e-6, atol=1e-7, equal_nan=True)


def test_binary_ops_immediates_and_where_match_the_reference() -> None:
    b = GraphBuilder()
    x = b.input("x", F32, EDGE.shape[1])
    row = b.constant(np.linspace(-2, 2, EDGE.shape[1]).astype(np.float32))
    big = b.op("maximum", b.op("div", x, row), b.scalar(-np.inf, F32))
    small = b.op("minimum", b.op("mul", x, b.scalar(np.nan, F32)), b.op("sub", x, row))
    b.output("y", b.op("where", b.op("isnan", x), b.op("add", big, row), b.op("where", b.op("less_equal", x, row),
                                                                                  small, big)))  # fmt: skip
    graph = fuse_elementwise(b.build()).graph
    assert set(graph.op_counts()) == {"fused_elementwise"}  # `big` has two readers: it stays a value of its own
    (got,) = get_backend("numba").prepare(graph).run(np.repeat(EDGE, 3, axis=0))
    np.testing.assert_allclose(got, run_graph(graph, np.repeat(EDGE, 3, axis=0))[0], rtol=1e-6, equal_nan=True)
