"""The default optimisation pipeline used by ``compile_model``, and the ordering constraints it obeys."""

from __future__ import annotations

from model_engine.passes.algebraic import fold_algebraic
from model_engine.passes.cse import eliminate_common_subexpressions
from model_engine.passes.dce import eliminate_dead_nodes
from model_engine.passes.features import eliminate_unused_features
from model_engine.passes.folding import fold_constants
from model_engine.passes.fusion import fuse_elementwise
from model_engine.passes.infra import GraphPass, PassConstraint, PassManager
from model_engine.passes.precision import to_float32
from model_engine.passes.trees import make_lower_trees
from model_engine.passes.types import infer_types

PASS_CONSTRAINTS: tuple[PassConstraint, ...] = (
    PassConstraint("fold_constants", "to_float32", "constants fold most accurately in float64"),
    PassConstraint("fold_algebraic", "to_float32", "scalers fold into weights most accurately in float64"),
    PassConstraint(
        "fold_algebraic", "fuse_elementwise", "fusion hides the affine chains and one-hot products the folds rewrite"
    ),
    PassConstraint(
        "eliminate_dead_nodes", "eliminate_unused_features", "a dead node would keep the input columns it reads"
    ),
)
"""What any pass list run by ``compile_model`` must respect; :func:`default_passes` does."""


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
    """The default passes, repeated to a fixed point, under :data:`PASS_CONSTRAINTS`."""
    passes = default_passes(dtype=dtype, tree_strategy=tree_strategy)
    return PassManager(passes, verify=verify, fixed_point=True, constraints=PASS_CONSTRAINTS)
