"""Graph passes (``graph -> PassResult(graph, modified)``) and the manager that runs them."""

from __future__ import annotations

from model_engine.passes.algebraic import fold_algebraic
from model_engine.passes.cse import eliminate_common_subexpressions
from model_engine.passes.dce import eliminate_dead_nodes
from model_engine.passes.features import eliminate_unused_features
from model_engine.passes.folding import fold_constants
from model_engine.passes.fusion import fuse_elementwise
from model_engine.passes.infra import GraphPass, PassConstraint, PassManager, PassResult, PassStat, PipelineResult
from model_engine.passes.pipeline import PASS_CONSTRAINTS, default_passes, default_pipeline
from model_engine.passes.precision import to_float32
from model_engine.passes.trees import lower_trees, make_lower_trees
from model_engine.passes.types import infer_types

__all__ = [
    "PASS_CONSTRAINTS",
    "GraphPass",
    "PassConstraint",
    "PassManager",
    "PassResult",
    "PassStat",
    "PipelineResult",
    "default_passes",
    "default_pipeline",
    "eliminate_common_subexpressions",
    "eliminate_dead_nodes",
    "eliminate_unused_features",
    "fold_algebraic",
    "fold_constants",
    "fuse_elementwise",
    "infer_types",
    "lower_trees",
    "make_lower_trees",
    "to_float32",
]
