"""The closed op vocabulary: each op's kind, type inference and NumPy reference kernel.

Importing this package registers every op; look them up with :func:`get_op`.
"""

from __future__ import annotations

from model_engine.ops import elementwise, fused, linalg, reductions, structural, trees
from model_engine.ops.registry import OpDef, OpKind, all_ops, get_op
from model_engine.ops.trees import float32_thresholds

__all__ = [
    "OpDef",
    "OpKind",
    "all_ops",
    "elementwise",
    "float32_thresholds",
    "fused",
    "get_op",
    "linalg",
    "reductions",
    "structural",
    "trees",
]
