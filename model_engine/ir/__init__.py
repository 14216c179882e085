"""The typed graph IR: tensor types, values, nodes, graphs and their JSON form.

The IR is the lowest layer of the engine: it imports nothing above it. Writing graphs op by op
(:class:`~model_engine.ops.GraphBuilder`) and checking them (:func:`~model_engine.ops.verify_graph`) need the op
vocabulary, so they live in :mod:`model_engine.ops`.
"""

from __future__ import annotations

from model_engine.ir.graph import AttrValue, Graph, Node, Value
from model_engine.ir.serialize import graph_from_json, graph_to_json
from model_engine.ir.types import DType, TensorType, broadcast_shapes

__all__ = [
    "AttrValue",
    "DType",
    "Graph",
    "Node",
    "TensorType",
    "Value",
    "broadcast_shapes",
    "graph_from_json",
    "graph_to_json",
]
