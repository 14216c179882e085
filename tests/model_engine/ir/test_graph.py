"""The IR and its checks: builder typing, verify_graph on broken graphs, JSON round trip, producer/user links."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model_engine.errors import GraphError, OpTypeError, UnknownOpError, VerifyError
from model_engine.ir import DType, Graph, Node, TensorType, Value, graph_from_json, graph_to_json
from model_engine.ops import GraphBuilder, verify_graph


def logistic_graph() -> Graph:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 3)
    w = b.constant(np.array([[0.5], [-1.0], [2.0]]), name="coef")
    z = b.op("add", b.op("matmul", x, w), b.scalar(0.1, DType.FLOAT64))
    p = b.op("sigmoid", z)
    clipped = b.op("minimum", p, b.scalar(float("inf"), DType.FLOAT64))
    b.output("probabilities", b.op("concat", b.op("sub", b.scalar(1.0, DType.FLOAT64), clipped), clipped))
    return b.build()


def test_builder_infers_types_and_links() -> None:
    g = logistic_graph()
    assert g.type_of(g.outputs["probabilities"]) == TensorType(DType.FLOAT64, (None, 2))
    matmul = g.nodes[0]
    assert matmul.op == "matmul"
    assert g.producer(matmul.output.name) is matmul
    assert [n.op for n in g.users(matmul.output.name)] == ["add"]
    assert g.producer("x") is None
    assert g.is_constant("coef")


def test_builder_reports_type_errors_where_made() -> None:
    b = GraphBuilder()
    x = b.input("x", DType.FLOAT64, 3)
    with pytest.raises(OpTypeError, match="inner dimensions"):
        b.op("matmul", x, b.constant(np.ones((4, 1))))
    with pytest.raises(OpTypeError, match="one dtype"):
        b.op("add", x, b.constant(np.ones(3, dtype=np.float32)))
    with pytest.raises(UnknownOpError, match="vocabulary"):
        b.op("conv2d", x)
    with pytest.raises(OpTypeError, match="no attribute"):
        b.op("exp", x, axis=1)


def test_json_round_trip_is_exact() -> None:
    g = logistic_graph()
    doc = json.loads(json.dumps(graph_to_json(g), allow_nan=False))
    g2 = graph_from_json(doc, g.constants)
    verify_graph(g2)
    assert graph_to_json(g2) == graph_to_json(g)
    assert str(g2) == str(g)


def test_from_json_rejects_mismatched_constants() -> None:
    g = logistic_graph()
    constants = dict(g.constants)
    constants["coef"] = np.ones((3, 1), dtype=np.float32)
    with pytest.raises(GraphError, match="coef"):
        graph_from_json(graph_to_json(g), constants)
    del constants["coef"]
    with pytest.raises(GraphError, match="missing"):
        graph_from_json(graph_to_json(g), constants)


def test_from_json_refuses_a_malformed_document_with_a_graph_error() -> None:
    g = logistic_graph()
    doc = graph_to_json(g)
    doc["nodes"][0]["attrs"] = ["not", "an", "object"]
    with pytest.raises(GraphError, match="malformed graph JSON"):
        graph_from_json(doc, g.constants)


def _broken(g: Graph, nodes: list[Node]) -> Graph:
    return g.with_nodes(nodes)


def test_verify_catches_use_before_definition() -> None:
    g = logistic_graph()
    nodes = list(g.nodes)
    nodes[0], nodes[1] = nodes[1], nodes[0]
    with pytest.raises(VerifyError, match="before it is defined"):
        verify_graph(_broken(g, nodes))


def test_verify_catches_wrong_declared_type() -> None:
    g = logistic_graph()
    first = g.nodes[0]
    wrong = first.replace(outputs=(Value(first.output.name, TensorType(DType.FLOAT32, (None, 1))),))
    with pytest.raises(VerifyError, match="declares outputs"):
        verify_graph(_broken(g, [wrong, *g.nodes[1:]]))


def test_verify_catches_duplicates_unknown_ops_and_dangling_outputs() -> None:
    g = logistic_graph()
    with pytest.raises(VerifyError, match="twice"):
        verify_graph(_broken(g, [*g.nodes, g.nodes[-1]]))
    bad_op = g.nodes[0].replace(op="frobnicate")
    with pytest.raises(UnknownOpError):
        verify_graph(_broken(g, [bad_op, *g.nodes[1:]]))
    with pytest.raises(VerifyError, match="undefined value"):
        verify_graph(g.with_nodes(g.nodes, outputs={"probabilities": "nope"}))


def test_constants_are_frozen_and_attrs_immutable() -> None:
    g = logistic_graph()
    with pytest.raises(ValueError, match="read-only"):
        g.constants["coef"][0, 0] = 3.0
    node = Node("n", "gather_columns", ("x",), (), {"indices": (0, 2)})
    assert node.attrs["indices"] == (0, 2)
    with pytest.raises(TypeError):
        node.attrs["indices"] = (1,)  # type: ignore[index]


def test_symbolic_batch_only_on_axis_zero() -> None:
    with pytest.raises(GraphError, match="batch"):
        TensorType(DType.FLOAT32, (3, None))
    assert str(TensorType(DType.INT32, (None, 4))) == "int32[N, 4]"
