"""The closed op vocabulary: each op's kind, type inference and NumPy reference kernel; op groups as data; the
graph builder and graph verification, which both type ops by this vocabulary.

Importing this package registers every op; look them up with :func:`get_op`.
"""

from __future__ import annotations

from model_engine.ops import (
    attribution,
    elementwise,
    fused,
    gradients,
    linalg,
    reductions,
    structural,
    tree_shap,
    trees,
)
from model_engine.ops.builder import GraphBuilder
from model_engine.ops.groups import GroupOp
from model_engine.ops.registry import OpDef, OpKind, all_ops, get_op
from model_engine.ops.trees import float32_thresholds
from model_engine.ops.verify import verify_graph

__all__ = [
    "GraphBuilder",
    "GroupOp",
    "OpDef",
    "OpKind",
    "all_ops",
    "attribution",
    "elementwise",
    "float32_thresholds",
    "fused",
    "get_op",
    "gradients",
    "linalg",
    "reductions",
    "structural",
    "tree_shap",
    "trees",
    "verify_graph",
]
