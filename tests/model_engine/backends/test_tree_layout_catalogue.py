"""The binned tree layout never changes an answer: every tree model of the converter catalogue (scikit-learn's
trees, forests and boosters, XGBoost and LightGBM with their categorical splits, string-category pipelines),
compiled with the compact tree lowering that the binned layout serves, scores exactly as the float records and the
NumPy reference do, in the graph's float64 and float32 alike.

Two levels: the whole compiled model on scoring inputs (NaN, missing and unseen categories) plus rows whose
columns sit at the trees' thresholds and one representable step either side; and the model's own tree node alone
on rows whose every column is a bin edge, a neighbour of one, NaN or an infinity, so rows hit the edges of derived
columns too (one-hot and categorical-membership columns, scaled inputs) that no raw input reaches exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pytest

from model_engine import CompiledModel, compile_model
from model_engine.backends.numba_backend import NumbaBackend
from model_engine.backends.numba_trees import choose_layout
from model_engine.backends.numpy_backend import run_graph
from model_engine.ir import Graph, Node
from model_engine.ops import GraphBuilder
from tests.model_engine.converters import booster_cases, string_cases
from tests.model_engine.converters.cases import TREE_CASES

Array = np.ndarray[Any, Any]
N_SCORING = 300
MAX_EDGES_PER_COLUMN = 40  # rows at thresholds: at most this many thresholds per column (sampled, seeded)
STRING_TREE_PIPELINES = ("imputer_onehot_tree", "imputer_constant_onehot_extra_trees", "ordinal_unknown_forest",
                         "ordinal_infrequent_gbm", "hgb_native_categorical")  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """A fitted tree model of the catalogue, its signature and scoring inputs (a matrix or a frame)."""

    id: str
    model: Callable[[], Any]
    signature: Sequence[str]
    scoring: Callable[[], Any]


def _catalogue() -> list[Entry]:
    entries = [
        Entry(case.id, case.model, case.feature_names, partial(case.inputs, N_SCORING, seed=7)) for case in TREE_CASES
    ]
    entries += [
        Entry(f"booster_{name}", partial(booster_cases.fitted, name), booster_cases.NAMES,
              lambda: booster_cases.booster_data(N_SCORING, seed=9)[0])
        for name in booster_cases.MODELS
    ]  # fmt: skip
    entries += [
        Entry(f"booster_categorical_{library}", partial(booster_cases.fitted_categorical, library),
              booster_cases.CATEGORICAL_NAMES,
              partial(booster_cases.categorical_frame, N_SCORING, 9, scoring=True, unknown=True))
        for library in booster_cases.CATEGORICAL_MODELS
    ]  # fmt: skip
    entries += [
        Entry(f"strings_{name}", partial(string_cases.fitted, name), string_cases.FEATURES,
              partial(string_cases.transactions, N_SCORING, seed=9, scoring=True))
        for name in STRING_TREE_PIPELINES
    ]  # fmt: skip
    return entries


CATALOGUE = _catalogue()


def _needs_library(entry: Entry) -> None:
    if entry.id.startswith("booster_"):
        pytest.importorskip("xgboost" if "xgboost" in entry.id else "lightgbm")


def compiled(entry: Entry, dtype: str) -> CompiledModel:
    _needs_library(entry)
    return compile_model(entry.model(), entry.signature, dtype=dtype, tree_strategy="compact")


def tree_nodes(graph: Graph) -> list[Node]:
    nodes = [n for n in graph.nodes if n.op == "tree_traverse_compact"]
    assert nodes, f"no compact tree node in {graph.op_counts()}"
    return nodes


def edges_by_column(graph: Graph, node: Node) -> dict[int, Array]:
    """Each tree column's distinct split thresholds, in the graph's dtype: the binned layout's bin edges."""
    feature, threshold, left = (graph.constants[name] for name in node.inputs[1:4])
    split = left >= 0
    return {int(f): np.unique(threshold[split & (feature == f)]) for f in np.unique(feature[split]).tolist()}


def neighbours(edges: Array) -> Array:
    """The edges and the representable numbers either side of each (in the edges' dtype)."""
    up = np.nextafter(edges, edges.dtype.type(np.inf))
    down = np.nextafter(edges, edges.dtype.type(-np.inf))
    return np.concatenate([edges, up, down])


def sampled(values: Array, rng: np.random.Generator) -> Array:
    finite = values[np.isfinite(values)]
    if len(finite) > MAX_EDGES_PER_COLUMN:
        finite = rng.choice(finite, MAX_EDGES_PER_COLUMN, replace=False)
    return finite


def rows_at_thresholds(model: CompiledModel, x: Array) -> Array:
    """``x`` and, for each column the trees read straight from the input, copies of its first rows with that
    column set to each of its thresholds and one step either side (NaN rows included by ``x``)."""
    rng = np.random.default_rng(0)
    extra: list[Array] = []
    for node in tree_nodes(model.graph):
        if node.inputs[0] != model.graph.inputs[0].name:
            continue  # the trees read derived columns: covered at the node level below
        for column, edges in edges_by_column(model.graph, node).items():
            for value in neighbours(sampled(edges, rng)):
                row = x[len(extra) % len(x)].copy()
                row[column] = value
                extra.append(row)
    return np.concatenate([x, np.asarray(extra, dtype=x.dtype).reshape(-1, x.shape[1])])


def run_layout(graph: Graph, x: Array, layout: str) -> list[Array]:
    return NumbaBackend(tree_layout=layout).prepare(graph, tile_rows=64).run(x)


@pytest.mark.parametrize("dtype", ["auto", "float32"])
@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.id)
def test_binned_models_score_as_the_exact_path(entry: Entry, dtype: str) -> None:
    model = compiled(entry, dtype)
    for node in tree_nodes(model.graph):  # the default layout is the binned one for every catalogue model
        feature, threshold, left = (model.graph.constants[name] for name in node.inputs[1:4])
        width = int(model.graph.type_of(node.inputs[0]).shape[1] or 0)
        assert choose_layout(feature, threshold, left, width) == "binned"
    x = rows_at_thresholds(model, model.prepare_input(entry.scoring()))
    binned = run_layout(model.graph, x, "binned")
    records = run_layout(model.graph, x, "records")
    for got, exact in zip(binned, records, strict=True):
        np.testing.assert_array_equal(got, exact)  # same kernels around the trees: identical bits
    for got, reference in zip(binned, run_graph(model.graph, x), strict=True):  # the epilogues round apart
        np.testing.assert_allclose(got, reference, rtol=0, atol=1e-6 if model.dtype == "float32" else 1e-12)
    np.testing.assert_array_equal(
        model.predict_proba(entry.scoring()), model.predict_proba(entry.scoring(), backend="numba")
    )


def tree_alone(graph: Graph, node: Node) -> Graph:
    """A graph of the model's tree node alone, reading its own input matrix, giving its raw sums (the
    probability epilogue, numba's and NumPy's own code, may round apart: the leaves may not)."""
    b = GraphBuilder()
    source = graph.type_of(node.inputs[0])
    x = b.input("x", source.dtype, int(source.shape[1] or 0))
    consts = [b.constant(graph.constants[name], name=name) for name in node.inputs[1:]]
    attrs: dict[str, Any] = {**node.attrs, "post_transform": "none"}
    b.output("raw", b.op(node.op, x, *consts, **attrs))
    return b.build()


def edge_rows(graph: Graph, node: Node, n_rows: int) -> Array:
    """Rows whose every column is drawn from its bin edges, their neighbours, NaN and the infinities."""
    rng = np.random.default_rng(1)
    source = graph.type_of(node.inputs[0])
    dtype = source.dtype.numpy
    width = int(source.shape[1] or 0)
    specials = np.asarray([np.nan, np.nan, np.inf, -np.inf, 0.0], dtype=dtype)
    edges = edges_by_column(graph, node)
    columns = [
        rng.choice(np.concatenate([neighbours(sampled(edges[f], rng)), specials]) if f in edges else specials,
                   size=n_rows)
        for f in range(width)
    ]  # fmt: skip
    return np.ascontiguousarray(np.stack(columns, axis=1), dtype=dtype)


@pytest.mark.parametrize("dtype", ["auto", "float32"])
@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.id)
def test_binned_tree_nodes_reach_the_reference_leaves_at_every_edge(entry: Entry, dtype: str) -> None:
    model = compiled(entry, dtype)
    for node in tree_nodes(model.graph):
        graph = tree_alone(model.graph, node)
        for n_rows in (1, 5, 1037):  # one row, the trees-side-by-side walk, several row blocks
            x = edge_rows(model.graph, node, n_rows)
            (expected,) = run_graph(graph, x)
            (binned,) = run_layout(graph, x, "binned")
            (records,) = run_layout(graph, x, "records")
            np.testing.assert_array_equal(binned, expected)  # same leaves, same order of summation
            np.testing.assert_array_equal(records, expected)
