"""Every pass, four ways: the expected change, a second run changes nothing, an honest ``modified`` flag, and
numerically unchanged outputs. Plus random graphs through the whole default pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from model_engine import compile_model
from model_engine.backends.numpy_backend import run_graph
from model_engine.errors import PassError
from model_engine.ir import DType, Graph, Value, graph_to_json
from model_engine.ops import GraphBuilder, verify_graph
from model_engine.passes import (
    PASS_CONSTRAINTS,
    PassConstraint,
    PassManager,
    PassResult,
    default_passes,
    default_pipeline,
    eliminate_common_subexpressions,
    eliminate_dead_nodes,
    eliminate_unused_features,
    fold_algebraic,
    fold_constants,
    fuse_elementwise,
    infer_types,
    make_lower_trees,
    to_float32,
)
from model_engine.passes.infra import GraphPass, pass_name
from tests.model_engine.graphs import (
    F64,
    binary_output,
    boosted_graph,
    forest_graph,
    one_hot_mlp_graph,
    random_graph,
    random_input,
    scaler_logistic_graph,
)

Array = np.ndarray[Any, Any]


def _constant_fold_graph() -> Graph:
    b = GraphBuilder()
    x = b.input("x", F64, 3)
    c = b.op("mul", b.constant(np.array([1.0, 2.0, 3.0])), b.scalar(2.0, F64))
    binary_output(b, b.op("sigmoid", b.op("matmul", b.op("add", x, c), b.constant(np.ones((3, 1))))))
    return b.build()


def _cse_graph() -> Graph:
    b = GraphBuilder()
    x = b.input("x", F64, 2)
    w1, w2 = b.constant(np.ones((2, 1)), name="w"), b.constant(np.ones((2, 1)), name="w")
    left = b.op("matmul", b.op("tanh", x), w1)
    right = b.op("matmul", b.op("tanh", x), w2)
    binary_output(b, b.op("sigmoid", b.op("add", left, right)))
    return b.build()


def _dead_graph() -> Graph:
    b = GraphBuilder()
    x = b.input("x", F64, 2)
    b.op("exp", b.op("mul", x, b.constant(np.ones(2))))  # read by nothing
    binary_output(b, b.op("sigmoid", b.op("matmul", x, b.constant(np.ones((2, 1))))))
    return b.build()


def _unused_feature_graph() -> Graph:
    b = GraphBuilder()
    x = b.input("x", F64, 6)
    picked = b.op("gather_columns", x, indices=(4, 1))
    w = np.zeros((6, 1))
    w[3] = 0.5
    z = b.op("add", b.op("matmul", picked, b.constant(np.ones((2, 1)))), b.op("matmul", x, b.constant(w)))
    binary_output(b, b.op("sigmoid", z))
    return b.build()


def _retyped_graph() -> Graph:
    """A float64 graph whose input was switched to float32 without re-inferring (invalid until infer_types)."""
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT32, 2)
    y = b.op("exp", b.op("cast", x, to="float64"))
    b.output("y", b.op("cast", y, to="float32"))
    g = b.build()
    cast = g.nodes[0].replace(attrs={"to": "float32"})
    return g.with_nodes([cast, *g.nodes[1:]])


def _reference_retyped() -> Graph:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT32, 2)
    b.output("y", b.op("cast", b.op("exp", b.op("cast", x, to="float32")), to="float32"))
    return b.build()


def _ops(graph: Graph) -> set[str]:
    return set(graph.op_counts())


def _same(a: Graph, b: Graph) -> bool:
    """Structure, types and every constant's bytes: a pass that only rewrites weights is a change too."""
    if graph_to_json(a) != graph_to_json(b) or a.constants.keys() != b.constants.keys():
        return False
    return all(
        a.constants[k].dtype == b.constants[k].dtype and np.array_equal(a.constants[k], b.constants[k], equal_nan=True)
        for k in a.constants
    )


@dataclass(frozen=True)
class Case:
    id: str
    graph_pass: GraphPass
    make: Callable[[], Graph]
    expect: Callable[[Graph, Graph], bool]
    untouched: Callable[[], Graph]  # a graph the pass has nothing to do on
    atol: float = 1e-12
    reference: Callable[[], Graph] | None = None  # when the input graph itself cannot run


CASES = [
    Case("infer_types", infer_types, _retyped_graph,
         lambda a, b: b.type_of(b.nodes[1].output.name).dtype is DType.FLOAT32, _dead_graph,
         atol=1e-6, reference=_reference_retyped),
    Case("to_float32", to_float32, forest_graph,
         lambda a, b: all(v.type.dtype is DType.FLOAT32 for v in b.inputs)
         and b.constants[b.nodes[0].inputs[2]].dtype == np.float32, _reference_retyped,
         atol=1e-6),
    Case("fold_constants", fold_constants, _constant_fold_graph, lambda a, b: len(b.nodes) == len(a.nodes) - 1,
         _dead_graph),
    Case("fold_algebraic.scaler", fold_algebraic, scaler_logistic_graph,
         lambda a, b: not {"sub", "div"} <= _ops(b) and "div" not in _ops(b), _dead_graph, atol=1e-12),
    Case("fold_algebraic.one_hot", fold_algebraic, one_hot_mlp_graph,
         lambda a, b: "one_hot" not in _ops(b) and "gather_rows" in _ops(b), _dead_graph),
    Case("cse", eliminate_common_subexpressions, _cse_graph,
         lambda a, b: b.op_counts()["tanh"] == 1 and b.op_counts()["matmul"] == 1, _dead_graph),
    Case("dce", eliminate_dead_nodes, _dead_graph, lambda a, b: "exp" not in _ops(b), _cse_graph),
    Case("unused_features", eliminate_unused_features, _unused_feature_graph,
         lambda a, b: b.inputs[0].type.shape == (None, 3), _cse_graph),
    Case("lower_trees.perfect", make_lower_trees("auto"), lambda: forest_graph(max_depth=4),
         lambda a, b: _ops(b) == {"tree_traverse_perfect"}, _dead_graph),
    Case("lower_trees.compact", make_lower_trees("auto"), lambda: forest_graph(max_depth=None, n_trees=3),
         lambda a, b: _ops(b) == {"tree_traverse_compact"}, _dead_graph),
    Case("lower_trees.gemm", make_lower_trees("auto"), boosted_graph,
         lambda a, b: _ops(b) == {"tree_gemm"}, _dead_graph),
    Case("lower_trees.forced_gemm", make_lower_trees("gemm"), lambda: forest_graph(max_depth=6),
         lambda a, b: _ops(b) == {"tree_gemm"}, _dead_graph),
    Case("lower_trees.forced_compact", make_lower_trees("compact"), boosted_graph,
         lambda a, b: _ops(b) == {"tree_traverse_compact"}, _dead_graph),
    Case("lower_trees.forced_perfect", make_lower_trees("perfect"), lambda: forest_graph(max_depth=None, n_trees=2),
         lambda a, b: _ops(b) == {"tree_traverse_perfect"}, _dead_graph),
    Case("fuse_elementwise", fuse_elementwise, scaler_logistic_graph,
         lambda a, b: "fused_elementwise" in _ops(b) and len(b.nodes) < len(a.nodes), forest_graph),
]  # fmt: skip


def _inputs_for(graph: Graph) -> list[Array]:
    x = graph.inputs[0]
    width = x.type.shape[1]
    assert width is not None
    # NaN only where the model defines it (trees route it); a NaN times a dropped zero weight is not kept
    nan = any(n.op.startswith("tree") for n in graph.nodes)
    data = random_input(width, seed=3, nan=nan).astype(np.float32).astype(x.type.dtype.numpy)
    return [data]


def _run(graph: Graph, data: Array) -> Array:
    x = graph.inputs[0].type
    return run_graph(graph, data.astype(x.dtype.numpy))[0]


def _columns(result: PassResult, data: Array) -> Array:
    kept = result.notes.get("kept_columns")
    return data if kept is None else data[:, list(kept)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pass_makes_the_expected_change(case: Case) -> None:
    before = case.make()
    result = case.graph_pass(before)
    verify_graph(result.graph)
    assert result.modified
    assert case.expect(before, result.graph)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_second_run_changes_nothing(case: Case) -> None:
    once = case.graph_pass(case.make()).graph
    twice = case.graph_pass(once)
    assert not twice.modified
    assert _same(twice.graph, once)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_modified_flag_is_honest(case: Case) -> None:
    before = case.make()
    result = case.graph_pass(before)
    assert not _same(result.graph, before)
    untouched = case.untouched()
    quiet = case.graph_pass(untouched)
    assert not quiet.modified
    assert _same(quiet.graph, untouched)


def test_every_pass_has_a_contract_case() -> None:
    """A pass added to the package or the default pipeline without a case above fails here."""
    from model_engine import passes

    exported = {
        name for name in passes.__all__
        if name.islower() and name not in {"default_passes", "default_pipeline", "make_lower_trees"}
    }  # fmt: skip
    in_pipeline = {pass_name(p) for dtype in ("float32", "float64") for p in default_passes(dtype=dtype)}
    covered = {pass_name(c.graph_pass) for c in CASES}
    assert exported | in_pipeline <= covered, sorted((exported | in_pipeline) - covered)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_outputs_numerically_unchanged(case: Case) -> None:
    before = case.make()
    result = case.graph_pass(before)
    (data,) = _inputs_for(before)
    expected = _run(case.reference() if case.reference else before, data)
    got = _run(result.graph, _columns(result, data))
    np.testing.assert_allclose(got, expected, rtol=0, atol=case.atol)


def test_manager_names_the_pass_that_breaks_the_graph() -> None:
    def break_outputs(graph: Graph) -> PassResult:
        return PassResult(graph.with_nodes(graph.nodes, outputs={"probabilities": "missing"}), True)

    with pytest.raises(PassError, match="break_outputs"):
        PassManager([infer_types, break_outputs]).run(scaler_logistic_graph())


def test_manager_reaches_a_fixed_point_or_says_which_pass_oscillates() -> None:
    result = default_pipeline().run(one_hot_mlp_graph())
    assert result.modified
    assert not any(s.modified for s in result.stats[-len(default_pipeline().passes) :])

    flip = {"n": 0}

    def oscillate(graph: Graph) -> PassResult:
        flip["n"] += 1
        inputs = [Value(graph.inputs[0].name, graph.inputs[0].type)]
        return PassResult(graph.with_nodes(graph.nodes, inputs=inputs), True)

    with pytest.raises(PassError, match="oscillate"):
        PassManager([oscillate], fixed_point=True, max_iterations=3).run(scaler_logistic_graph())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_survive_the_whole_pipeline(seed: int, dtype: str) -> None:
    rng = np.random.default_rng(seed)
    graph = random_graph(rng)
    result = default_pipeline(dtype=dtype).run(graph)
    verify_graph(result.graph)
    data = random_input(5, seed=seed).astype(np.float32).astype(np.float64)
    expected = run_graph(graph, data)[0]
    x = data
    for stat in result.stats:
        if "kept_columns" in stat.notes:
            x = x[:, list(stat.notes["kept_columns"])]
    got = run_graph(result.graph, x.astype(result.graph.inputs[0].type.dtype.numpy))[0]
    atol = 1e-9 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)
    again = default_pipeline(dtype=dtype).run(result.graph)
    assert not again.modified


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("strategy", ["auto", "gemm", "perfect", "compact"])
def test_the_default_order_respects_every_constraint(dtype: str, strategy: str) -> None:
    names = [pass_name(p) for p in default_passes(dtype=dtype, tree_strategy=strategy)]
    assert [str(c) for c in PASS_CONSTRAINTS if c.violated_by(names)] == []
    PassManager(default_passes(dtype=dtype, tree_strategy=strategy), constraints=PASS_CONSTRAINTS)


@pytest.mark.parametrize("constraint", PASS_CONSTRAINTS, ids=str)
def test_a_reordered_pipeline_that_breaks_a_constraint_is_refused(constraint: PassConstraint) -> None:
    passes = default_passes(dtype="float32")
    names = [pass_name(p) for p in passes]
    first, second = names.index(constraint.before), names.index(constraint.after)
    reordered = list(passes)
    reordered[first], reordered[second] = passes[second], passes[first]
    with pytest.raises(PassError, match=f"{constraint.before} must run before {constraint.after}"):
        PassManager(reordered, constraints=PASS_CONSTRAINTS)
    with pytest.raises(PassError, match="is refused"):
        compile_model(LogisticRegression().fit(np.eye(3), [0, 1, 1]), ["a", "b", "c"], passes=reordered)


def test_a_constraint_holds_when_only_a_later_repetition_comes_after() -> None:
    constraint = PassConstraint("eliminate_dead_nodes", "eliminate_unused_features", "test")
    assert not constraint.violated_by(["eliminate_dead_nodes", "eliminate_unused_features", "eliminate_dead_nodes"])
    assert constraint.violated_by(["eliminate_unused_features", "eliminate_dead_nodes"])
    assert not constraint.violated_by(["eliminate_unused_features"])
