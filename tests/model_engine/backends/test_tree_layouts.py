"""The numba backend's tree layouts (binned, float records) decide exactly like the NumPy reference: every row
reaches the same leaves and sums them in the same order, for rows placed exactly at split thresholds and one
representable step either side, NaN (missing to either side), infinities, in float32 and float64, at row counts
that cross the eight-row lanes and the row blocks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from model_engine.backends.numba_backend import NumbaBackend
from model_engine.backends.numba_trees import MAX_BINNED_EDGES, choose_layout, pack_binned
from model_engine.backends.numpy_backend import run_graph
from model_engine.ir import DType, Graph
from model_engine.ops import GraphBuilder
from model_engine.passes import make_lower_trees

Array = np.ndarray[Any, Any]
N_FEATURES = 4
LAYOUTS = ["binned", "records"]
ROW_COUNTS = [1, 7, 8, 9, 77, 1100]  # one row, below/at/above the lanes, several row blocks


def random_tables(rng: np.random.Generator, n_trees: int, pool: Array, dtype: str) -> dict[str, Array]:
    """Node tables of random unbalanced trees whose thresholds come from ``pool`` [F, K] (shared between
    trees, as in a real ensemble), with infinite thresholds and NaN sent either way."""
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    missing: list[bool] = []
    roots: list[int] = []

    def grow(depth: int) -> int:
        node = len(feature)
        feature.append(0)
        threshold.append(0.0)
        left.append(-1)
        right.append(-1)
        missing.append(False)
        if depth < 9 and rng.random() < 0.8 - 0.05 * depth:
            f = int(rng.integers(N_FEATURES))
            feature[node] = f
            threshold[node] = float(pool[f, rng.integers(pool.shape[1])])
            missing[node] = bool(rng.random() < 0.5)
            left[node] = grow(depth + 1)
            right[node] = grow(depth + 1)
        return node

    for _ in range(n_trees):
        roots.append(grow(0))
    n = len(feature)
    return {
        "feature": np.asarray(feature, dtype=np.int32),
        "threshold": np.asarray(threshold, dtype=dtype),
        "left": np.asarray(left, dtype=np.int32),
        "right": np.asarray(right, dtype=np.int32),
        "value": rng.normal(size=(n, 1)).astype(dtype),
        "missing_go_left": np.asarray(missing, dtype=bool),
        "tree_roots": np.asarray(roots, dtype=np.int32),
    }


def threshold_pool(rng: np.random.Generator, per_feature: int, dtype: str) -> Array:
    pool = np.round(rng.normal(size=(N_FEATURES, per_feature)), 2).astype(dtype)
    pool[:, 0] = np.inf  # x <= +inf: every number goes left, NaN as the split says
    pool[:, 1] = -np.inf
    return pool


def compact_graph(tables: dict[str, Array], dtype: str) -> Graph:
    b = GraphBuilder()
    x = b.input("x", DType(dtype), N_FEATURES)
    consts = [b.constant(tables[k], name=k) for k in tables]
    b.output("raw", b.op("tree_ensemble", x, *consts))
    return make_lower_trees("compact")(b.build()).graph


def adversarial_rows(rng: np.random.Generator, pool: Array, n_rows: int) -> Array:
    """Rows whose values are split thresholds, the representable numbers either side, NaN and infinities."""
    finite = pool[np.isfinite(pool)]
    choices = np.concatenate([
        finite, np.nextafter(finite, finite.dtype.type(np.inf)), np.nextafter(finite, finite.dtype.type(-np.inf)),
        np.asarray([np.nan, np.nan, np.inf, -np.inf, 0.0], dtype=pool.dtype),
    ])  # fmt: skip
    return rng.choice(choices, size=(n_rows, N_FEATURES)).astype(pool.dtype)


@pytest.mark.parametrize("n_rows", ROW_COUNTS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_reach_the_reference_leaves_bit_for_bit(layout: str, dtype: str, n_rows: int) -> None:
    rng = np.random.default_rng(n_rows)
    pool = threshold_pool(rng, 12, dtype)
    graph = compact_graph(random_tables(rng, 21, pool, dtype), dtype)  # 21 trees: two tree lanes and a rest
    x = adversarial_rows(rng, pool, n_rows)
    (expected,) = run_graph(graph, x)
    (got,) = NumbaBackend(tree_layout=layout).prepare(graph).run(x)
    np.testing.assert_array_equal(got, expected)  # same leaves, same summation order: identical sums


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_columns_with_more_than_254_thresholds_bin_to_uint16(dtype: str) -> None:
    rng = np.random.default_rng(3)
    pool = threshold_pool(rng, 400, dtype)
    pool[:, 2:] = np.sort(rng.normal(size=(N_FEATURES, 398)), axis=1)  # distinct thresholds, not rounded
    tables = random_tables(rng, 400, pool, dtype)
    args = [tables[k] for k in tables]
    assert pack_binned(*args, n_features=N_FEATURES).bins_like.dtype == np.uint16
    graph = compact_graph(tables, dtype)
    x = adversarial_rows(rng, pool, 300)
    (got,) = NumbaBackend(tree_layout="binned").prepare(graph).run(x)
    np.testing.assert_array_equal(got, run_graph(graph, x)[0])


def test_binning_holds_ordinary_ensembles_and_says_why_not_otherwise() -> None:
    split = np.zeros(MAX_BINNED_EDGES + 1, dtype=np.int32)
    distinct = np.arange(MAX_BINNED_EDGES + 1, dtype=np.float64)
    edges = slice(MAX_BINNED_EDGES)
    assert choose_layout(split[edges], distinct[edges], split[edges], 1) == "binned"
    assert choose_layout(split, distinct, split, 1) == "records"
    with pytest.raises(ValueError, match="65535 distinct thresholds"):
        choose_layout(split, distinct, split, 1, layout="binned")
    nan_threshold = np.array([np.nan, 1.0])
    assert choose_layout(split[:2], nan_threshold, split[:2], 1) == "records"
    assert choose_layout(split[:2], nan_threshold, split[:2], 1, layout="records") == "records"
    with pytest.raises(ValueError, match="tree_layout must be one of"):
        NumbaBackend(tree_layout="fastest")
