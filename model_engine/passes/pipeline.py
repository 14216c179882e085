"""The default optimisation pipeline used by ``compile_model``."""

from __future__ import annotations

from model_engine.passes.algebraic import fold_algebraic
from model_engine.passes.cse import eliminate_common_subexpressions
from model_engine.passes.dce import eliminate_dead_nodes
from model_engine.passes.features import eliminate_unused_features
from model_engine.passes.folding import fold_constants
from model_engine.passes.fusion import fuse_elementwise
from model_engine.passes.infra import GraphPass, PassManager
from model_engine.passes.precision import to_float32
from model_engine.passes.trees import make_lower_trees
from model_engine.passes.types import infer_types


def default_passes(*, dtype: str = "float32", tree_strategy: str = "auto", fuse: bool = True) -> list[GraphPass]:
    """Simplify in float64 (folds are most accurate there), then lower precision, trees and fuse."""
    passes: list[GraphPass] = [
        infer_types,
        fold_constants,
        fold_algebraic,
        eliminate_common_subexpressions,
        eliminate_dead_nodes,
        eliminate_unused_features,
    ]
    if dtype == "float32":
        passes.append(to_float32)
    elif dtype != "float64":
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    passes.append(make_lower_trees(tree_strategy))
    if fuse:
        passes.append(fuse_elementwise)
    passes.append(eliminate_dead_nodes)
    return passes


def default_pipeline(*, dtype: str = "float32", tree_strategy: str = "auto", verify: bool = True) -> PassManager:
    """The default passes, repeated to a fixed point."""
    return PassManager(default_passes(dtype=dtype, tree_strategy=tree_strategy), verify=verify, fixed_point=True)
