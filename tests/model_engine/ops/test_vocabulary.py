"""The op vocabulary: every op documented and typed; reference kernels of the structural and tree ops."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from model_engine.backends.numpy_backend import run_graph
from model_engine.errors import OpTypeError, VerifyError
from model_engine.ir import DType, Graph
from model_engine.ops import GraphBuilder, OpKind, all_ops, float32_thresholds, verify_graph
from model_engine.passes import make_lower_trees
from tests.model_engine.graphs import forest_graph


def test_every_op_has_kind_and_doc() -> None:
    ops = all_ops()
    assert {"matmul", "tree_ensemble", "fused_elementwise", "one_hot", "gather_rows"} <= set(ops)
    for op in ops.values():
        assert isinstance(op.kind, OpKind)
        assert op.doc, op.name


def test_float32_thresholds_round_down_and_decide_exactly() -> None:
    rng = np.random.default_rng(0)
    t64 = rng.normal(size=2000) * 10.0 ** rng.integers(-3, 4, size=2000)
    t32 = float32_thresholds(t64)
    assert t32.dtype == np.float32
    assert np.all(t32.astype(np.float64) <= t64)
    # the float32 neighbours of each threshold decide the same against t32 as against t64
    for x in (t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))):
        np.testing.assert_array_equal(x <= t32, x.astype(np.float64) <= t64)


def test_structural_ops_reference() -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 3)
    col = b.op("gather_columns", x, indices=(2,))
    hot = b.op("one_hot", col, categories=(1.0, 2.0, 5.0))
    idx = b.op("category_index", col, categories=(1.0, 2.0, 5.0))
    table = b.constant(np.array([[10.0], [20.0], [50.0], [0.0]]))
    rows = b.op("gather_rows", table, idx)
    bins = b.op("bucketize", b.op("gather_columns", x, indices=(0,)), b.constant(np.array([0.0, 1.0])))
    b.output("out", b.op("concat", hot, rows, bins))
    x_val = np.array([[-1.0, 0.0, 5.0], [0.5, 0.0, 2.0], [1.0, 0.0, 7.0]])
    (out,) = run_graph(b.build(), x_val)
    np.testing.assert_array_equal(out, [[0, 0, 1, 50, 0], [0, 1, 0, 20, 1], [0, 0, 0, 0, 2]])


@pytest.mark.parametrize("transform", ["none", "sigmoid"])
def test_tree_ensemble_reference_follows_thresholds_and_nan_routing(transform: str) -> None:
    # tree 0: x0 <= 0.5 ? (x1 <= 2 ? 1 : 2) : 3 ; NaN at the root goes right, at node 1 goes left
    # tree 1: a single leaf worth 10
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 2)
    tables = {
        "feature": np.array([0, 1, 0, 0, 0, 0], dtype=np.int32),
        "threshold": np.array([0.5, 2.0, 0, 0, 0, 0]),
        "left": np.array([1, 3, -1, -1, -1, -1], dtype=np.int32),
        "right": np.array([2, 4, -1, -1, -1, -1], dtype=np.int32),
        "value": np.array([[0.0], [0.0], [3.0], [1.0], [2.0], [10.0]]),
        "missing_go_left": np.array([False, True, False, False, False, False]),
        "tree_roots": np.array([0, 5], dtype=np.int32),
    }
    consts = [b.constant(v, name=k) for k, v in tables.items()]
    b.output("y", b.op("tree_ensemble", x, *consts, post_transform=transform, base_score=(0.5,)))
    x_val = np.array([[0.5, 2.0], [0.5, 2.0000001], [0.6, 0.0], [np.nan, 0.0], [0.0, np.nan]])
    (out,) = run_graph(b.build(), x_val)
    raw = np.array([1.0, 2.0, 3.0, 3.0, 1.0]) + 10.0 + 0.5
    if transform == "none":
        np.testing.assert_array_equal(out[:, 0], raw)
    else:
        p = 1.0 / (1.0 + np.exp(-raw))
        np.testing.assert_allclose(out, np.stack([1 - p, p], axis=1), rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    "arg",
    [("c", 2**63, "int64"), ("c", "1.0", "float64"), ("c", 1.0, "float16"), ("r", 1), ("q", 0)],
    ids=["int-beyond-int64", "string-immediate", "unknown-dtype", "undefined-register", "unknown-kind"],
)
def test_fused_programs_refuse_malformed_arguments(arg: tuple[object, ...]) -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 2)
    with pytest.raises(OpTypeError, match="fused_elementwise"):
        b.op("fused_elementwise", x, program=(("add", (("r", 0), arg)),))


def _corrupt(name: str, edit: Callable[[np.ndarray], None]) -> Callable[[Graph], Graph]:
    def apply(graph: Graph) -> Graph:
        constants = dict(graph.constants)
        array = constants[name].copy()
        edit(array)
        constants[name] = array
        return graph.with_nodes(graph.nodes, constants=constants)

    return apply


def _first_split(graph: Graph) -> int:
    return int(np.flatnonzero(graph.constants["left"] >= 0)[0])


CORRUPTIONS = {
    "feature-beyond-x": lambda g: _corrupt("feature", lambda a: a.__setitem__(_first_split(g), 5))(g),
    "negative-feature": lambda g: _corrupt("feature", lambda a: a.__setitem__(_first_split(g), -1))(g),
    "child-loops-back": lambda g: _corrupt("left", lambda a: a.__setitem__(_first_split(g), _first_split(g)))(g),
    "child-beyond-table": lambda g: _corrupt("right", lambda a: a.__setitem__(_first_split(g), a.shape[0]))(g),
    "root-beyond-table": lambda g: _corrupt("tree_roots", lambda a: a.__setitem__(0, 10**6))(g),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_verify_refuses_node_tables_that_would_index_out_of_range_or_loop(corruption: str) -> None:
    graph = forest_graph(max_depth=3, n_trees=2)  # 5 features
    broken = CORRUPTIONS[corruption](graph)
    with pytest.raises(VerifyError, match="tree"):
        verify_graph(broken)


@pytest.mark.parametrize("strategy", ["perfect", "gemm"])
def test_verify_refuses_lowered_tables_reading_a_column_beyond_x(strategy: str) -> None:
    lowered = make_lower_trees(strategy)(forest_graph(max_depth=3, n_trees=2)).graph
    (node,) = lowered.nodes
    broken = _corrupt(node.inputs[1], lambda a: a.reshape(-1).__setitem__(0, 5))(lowered)
    with pytest.raises(VerifyError, match="feature"):
        verify_graph(broken)
