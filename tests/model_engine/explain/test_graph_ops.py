"""The graph parts of explanations: the attribution ops' reference kernels and column provenance."""

from __future__ import annotations

import numpy as np
import pytest

from model_engine.backends.numpy_backend import run_graph
from model_engine.errors import OpTypeError, VerifyError
from model_engine.explain.provenance import column_sources
from model_engine.ir import DType
from model_engine.ops import GraphBuilder, verify_graph


def test_linear_terms_and_segment_sum_reference() -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 3)
    terms = b.op("linear_terms", x, b.constant(np.array([2.0, -1.0, 0.5])), b.constant(np.array([1.0, 0.0, 2.0])),
                 b.scalar(0.25, DType.FLOAT64))  # fmt: skip
    b.output("terms", terms)
    b.output("grouped", b.op("segment_sum", terms, segments=(0, 1, 0, 2), n_segments=3))
    terms_out, grouped = run_graph(b.build(), np.array([[1.0, 2.0, 4.0], [0.0, np.nan, 2.0]]))
    np.testing.assert_array_equal(terms_out, [[0.0, -2.0, 1.0, 0.25], [-2.0, np.nan, 0.0, 0.25]])
    np.testing.assert_array_equal(grouped, [[1.0, -2.0, 0.25], [-2.0, np.nan, 0.25]])


def test_attribution_ops_refuse_bad_shapes_and_segments() -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 3)
    with pytest.raises(OpTypeError, match="weight"):
        b.op("linear_terms", x, b.constant(np.ones(2)), b.constant(np.zeros(3)), b.scalar(0.0, DType.FLOAT64))
    with pytest.raises(OpTypeError, match="segments"):
        b.op("segment_sum", x, segments=(0, 3, 1), n_segments=3)
    with pytest.raises(OpTypeError, match="segments"):
        b.op("segment_sum", x, segments=(0, 1), n_segments=3)


def test_column_sources_follow_each_column_back_to_its_input() -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 4)
    scaled = b.op("div", b.op("sub", x, b.constant(np.ones(4))), b.constant(np.full(4, 2.0)))
    code = b.op("gather_columns", x, indices=(3,))
    onehot = b.op("one_hot", code, categories=(0.0, 1.0, 2.0))
    flags = b.op("cast", b.op("isnan", b.op("gather_columns", x, indices=(1,))), to="float64")
    routed = b.op("matmul", onehot, b.constant(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])))
    kept = b.op("concat", b.op("gather_columns", scaled, indices=(0, 2)), routed, flags)
    constant = b.op("mul", code, b.scalar(0.0, DType.FLOAT64))
    mixed = b.op("matmul", scaled, b.constant(np.array([[1.0], [0.0], [1.0], [0.0]])))
    b.output("kept", kept)
    b.output("mixed", b.op("concat", mixed, b.op("reduce_sum", onehot)))
    b.output("constant", constant)
    graph = b.build()
    expected = np.zeros((5, 4), dtype=bool)
    expected[0, 0] = expected[1, 2] = expected[2, 3] = expected[3, 3] = expected[4, 1] = True
    np.testing.assert_array_equal(column_sources(graph, graph.outputs["kept"]), expected)
    np.testing.assert_array_equal(column_sources(graph, graph.outputs["mixed"]), [[1, 0, 1, 0], [0, 0, 0, 1]])
    # multiplying by zero still reads the column: provenance is structural, never guessed from values
    np.testing.assert_array_equal(column_sources(graph, graph.outputs["constant"]), [[0, 0, 0, 1]])


def _stump_tables(b: GraphBuilder) -> list:
    tables = {
        "feature": np.array([1, 0, 0], dtype=np.int32),
        "threshold": np.array([0.5, 0.0, 0.0]),
        "left": np.array([1, -1, -1], dtype=np.int32),
        "right": np.array([2, -1, -1], dtype=np.int32),
        "value": np.array([[0.0], [1.0], [3.0]]),
        "missing_go_left": np.array([True, False, False]),
        "tree_roots": np.array([0], dtype=np.int32),
        "cover": np.array([4.0, 1.0, 3.0]),
    }
    return [b.constant(v, name=k) for k, v in tables.items()]


def test_tree_shap_of_a_stump_gives_the_split_feature_the_whole_move() -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 2)
    b.output("shap", b.op("tree_shap", x, *_stump_tables(b), output=0, base_score=0.5))
    (out,) = run_graph(b.build(), np.array([[9.0, 0.0], [9.0, 1.0], [9.0, np.nan]]))
    expected_value = (1.0 * 1.0 + 3.0 * 3.0) / 4.0 + 0.5  # leaves weighted by cover, plus the base score
    np.testing.assert_allclose(out, [[0.0, 1.0 - 2.5, expected_value], [0.0, 3.0 - 2.5, expected_value],
                                     [0.0, 1.0 - 2.5, expected_value]])  # fmt: skip


@pytest.mark.parametrize(("name", "array"), [("cover", np.array([4.0, 0.0, 3.0])),
                                             ("left", np.array([1, 5, -1], dtype=np.int32))])  # fmt: skip
def test_verify_refuses_tree_shap_tables_that_would_misbehave(name: str, array: np.ndarray) -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 2)
    b.output("shap", b.op("tree_shap", x, *_stump_tables(b), output=0))
    graph = b.build()
    constants = {**graph.constants, name: array}
    with pytest.raises(VerifyError, match="tree"):
        verify_graph(graph.with_nodes(graph.nodes, constants=constants))


# a complete tree of depth 3 over columns 0, 1, 2 (internal nodes 0..6, leaves 7..14)
_FEATURES = [0, 1, 2, 2, 1, 1, 0]
_LEAF_VALUES = [1.0, 3.0, -2.0, 5.0, 10.0, 20.0, -4.0, 7.0]
_LEAF_COVERS = [1.0, 3.0, 2.0, 4.0, 5.0, 1.0, 2.0, 2.0]


def _depth_three_tables(b: GraphBuilder) -> list:
    cover = np.zeros(15)
    cover[7:] = _LEAF_COVERS
    for node in range(6, -1, -1):
        cover[node] = cover[2 * node + 1] + cover[2 * node + 2]
    internal = np.arange(7)
    tables = {
        "feature": np.array(_FEATURES + [0] * 8, dtype=np.int32),
        "threshold": np.full(15, 0.5),
        "left": np.array((2 * internal + 1).tolist() + [-1] * 8, dtype=np.int32),
        "right": np.array((2 * internal + 2).tolist() + [-1] * 8, dtype=np.int32),
        "value": np.array([0.0] * 7 + _LEAF_VALUES)[:, None],
        "missing_go_left": np.zeros(15, dtype=bool),
        "tree_roots": np.array([0], dtype=np.int32),
        "cover": cover,
    }
    return [b.constant(v, name=k) for k, v in tables.items()], cover


def _conditional_expectation(x: np.ndarray, known: set[int], players: tuple[int, ...], cover: np.ndarray,
                             node: int = 0) -> float:  # fmt: skip
    """TreeSHAP's E[f | x_S]: follow x on splits of a known player's column, else average the children by cover."""
    if node >= 7:
        return _LEAF_VALUES[node - 7]
    left, right = 2 * node + 1, 2 * node + 2
    column = _FEATURES[node]
    if players[column] in known:
        return _conditional_expectation(x, known, players, cover, left if x[column] <= 0.5 else right)
    below = (cover[left] * _conditional_expectation(x, known, players, cover, left)
             + cover[right] * _conditional_expectation(x, known, players, cover, right))  # fmt: skip
    return float(below / cover[node])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_tree_shap_groups_make_columns_one_player(backend: str) -> None:
    """Columns 0 and 1 as one player G, column 2 as H: the values are the two-player game's Shapley values
    (computed here from its four coalitions), reported in G's first column; as three players the two columns would
    share a different total wherever a path splits on both of them and on column 2."""
    from model_engine.backends.base import get_backend

    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 3)
    tables, cover = _depth_three_tables(b)
    groups = (0, 0, 2)
    b.output("grouped", b.op("tree_shap", x, *tables, output=0, groups=groups))
    b.output("alone", b.op("tree_shap", x, *tables, output=0))
    rows = np.array([[a, c, d] for a in (0.0, 1.0) for c in (0.0, 1.0) for d in (0.0, 1.0)])
    grouped, alone = get_backend(backend).prepare(b.build()).run(rows)
    differs = 0.0
    for row, x_row in enumerate(rows):
        v = {known: _conditional_expectation(x_row, set(known), groups, cover) for known in ((), (0,), (2,), (0, 2))}
        phi_g = ((v[(0,)] - v[()]) + (v[(0, 2)] - v[(2,)])) / 2
        phi_h = ((v[(2,)] - v[()]) + (v[(0, 2)] - v[(0,)])) / 2
        np.testing.assert_allclose(grouped[row], [phi_g, 0.0, phi_h, v[()]], rtol=1e-12, atol=1e-12)
        differs = max(differs, abs(alone[row, 0] + alone[row, 1] - phi_g))
    assert differs > 0.1
    np.testing.assert_allclose(alone.sum(axis=1), grouped.sum(axis=1), rtol=1e-12)


def test_tree_shap_refuses_groups_that_are_not_representatives() -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 3)
    tables, _ = _depth_three_tables(b)
    for groups in ((0, 0), (1, 0, 2), (0, 0, 3), (0, 1, True)):
        with pytest.raises(OpTypeError, match="groups"):
            b.op("tree_shap", x, *tables, output=0, groups=groups)
