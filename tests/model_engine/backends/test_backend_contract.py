"""Every CPU backend runs the same graphs as the NumPy reference: parity, row tiles, determinism, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from model_engine.backends import get_backend
from model_engine.backends.numba_trees import pack_records
from model_engine.backends.numpy_backend import run_graph
from model_engine.backends.plan import plan_memory
from model_engine.errors import BackendUnavailableError, SignatureError
from model_engine.ir import Graph
from model_engine.passes import default_pipeline
from tests.model_engine.graphs import (
    boosted_graph,
    forest_graph,
    one_hot_mlp_graph,
    random_graph,
    random_input,
    scaler_logistic_graph,
)

BACKENDS = ["numpy", "numba"]
GRAPHS: dict[str, Callable[[], Graph]] = {
    "scaler_logistic": scaler_logistic_graph,
    "one_hot_mlp": one_hot_mlp_graph,
    "forest_perfect": lambda: forest_graph(max_depth=4),
    "forest_compact": lambda: forest_graph(max_depth=None, n_trees=4),
    "boosted_gemm": boosted_graph,
    "random": lambda: random_graph(np.random.default_rng(5)),
}
TOLERANCE = {"float32": 1e-5, "float64": 1e-9}


def _compiled(name: str, dtype: str) -> tuple[Graph, Graph, list[int]]:
    source = GRAPHS[name]()
    result = default_pipeline(dtype=dtype).run(source)
    kept = list(range(source.inputs[0].type.shape[1] or 0))
    for stat in result.stats:
        if "kept_columns" in stat.notes:
            kept = [kept[i] for i in stat.notes["kept_columns"]]
    return source, result.graph, kept


def _data(graph: Graph, rows: int = 50) -> np.ndarray[Any, Any]:
    width = graph.inputs[0].type.shape[1] or 0
    return random_input(width, n_rows=rows, seed=11).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("graph_name", list(GRAPHS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_matches_reference(backend: str, graph_name: str, dtype: str) -> None:
    source, graph, kept = _compiled(graph_name, dtype)
    X = _data(source)
    expected = run_graph(source, X)[0]
    executable = get_backend(backend).prepare(graph)
    x = np.ascontiguousarray(X[:, kept], dtype=graph.inputs[0].type.dtype.numpy)
    (got,) = executable.run(x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE[dtype])
    for rows in (1, 0):
        (part,) = executable.run(x[:rows])
        np.testing.assert_allclose(part, got[:rows], rtol=0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("graph_name", list(GRAPHS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_row_scores_bit_for_bit_the_same_alone_in_tiles_and_in_any_batch(
    backend: str, graph_name: str, dtype: str
) -> None:
    """The per-row promise an audited decision's replay rests on: no row's result depends on its batch."""
    _, graph, _ = _compiled(graph_name, dtype)
    width = graph.inputs[0].type.shape[1] or 0
    x = random_input(width, n_rows=101, seed=2).astype(np.float32).astype(graph.inputs[0].type.dtype.numpy)
    executable = get_backend(backend).prepare(graph)
    whole = executable.run(x)[0]
    np.testing.assert_array_equal(get_backend(backend).prepare(graph, tile_rows=7).run(x)[0], whole)
    alone = np.concatenate([executable.run(x[i : i + 1])[0] for i in range(len(x))])
    np.testing.assert_array_equal(alone, whole)
    np.testing.assert_array_equal(executable.run(x[37:90])[0], whole[37:90])
    np.testing.assert_array_equal(executable.run(x.copy())[0], whole)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_rejects_inputs_that_do_not_match_the_graph(backend: str) -> None:
    _, graph, _ = _compiled("scaler_logistic", "float32")
    executable = get_backend(backend).prepare(graph)
    with pytest.raises(SignatureError, match="float32"):
        executable.run(np.zeros((3, 5), dtype=np.float32))
    with pytest.raises(SignatureError):
        executable.run(np.zeros((3, 6), dtype=np.float64))


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(BackendUnavailableError, match="numpy"):
        get_backend("tpu")


def test_memory_plan_shares_bytes_between_values_that_are_not_alive_together() -> None:
    _, graph, _ = _compiled("one_hot_mlp", "float32")
    plan = plan_memory(graph, tile_rows=256)
    assert 0 < plan.arena_bytes < plan.unshared_bytes  # some values do share bytes
    assert plan_memory(graph, tile_rows=512).arena_bytes == 2 * plan.arena_bytes  # sized by the tile alone
    buffers = list(plan.buffers.values())
    for a in buffers:
        assert a.offset % 64 == 0
        for b in buffers:
            overlap_time = not (a.last < b.first or b.last < a.first)
            overlap_bytes = a.offset < b.offset + b.nbytes and b.offset < a.offset + a.nbytes
            assert a is b or not (overlap_time and overlap_bytes)


def test_numba_refuses_an_ensemble_too_large_for_its_node_records() -> None:
    nodes = np.broadcast_to(np.int64(-1), (1 << 24,))  # the size alone is checked, before any data is read
    threshold = np.broadcast_to(np.float32(0.0), (1 << 24,))
    with pytest.raises(BackendUnavailableError, match="backend 'numpy'"):
        pack_records(nodes, threshold, nodes, nodes, nodes, np.zeros((1, 1)), np.zeros(1, dtype=np.int64))
