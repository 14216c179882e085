"""The typed graph IR: tensor types, values, nodes, graphs, their JSON form and the builder."""

from __future__ import annotations

from model_engine.ir.graph import AttrValue, Graph, Node, Value
from model_engine.ir.types import DType, TensorType, broadcast_shapes

from model_engine.ir.builder import GraphBuilder  # isort: skip  (after graph: builder needs it loaded)

__all__ = ["AttrValue", "DType", "Graph", "GraphBuilder", "Node", "TensorType", "Value", "broadcast_shapes"]
