"""Decision trees, random forests, extra trees and gradient boosting as one concatenated node table.

Every tree of an ensemble is appended to the same arrays; ``tree_roots`` holds the index of each tree's root and
children are absolute indices (``-1`` marks a leaf). A row goes left when ``x[feature] <= threshold``; a NaN goes
left where ``missing_go_left`` is set. ``value`` has one row per node (leaf rows are the ones read) and one column
per ensemble output. ``cover`` is the training weight that reached each node (scikit-learn's
``weighted_n_node_samples``, the histogram booster's sample counts): explanations weigh a split's children by it.

scikit-learn's ``tree_``-based estimators cast their input to float32 before comparing it with float64
thresholds. :func:`sklearn_float32_threshold` moves each threshold to the largest float64 ``t'`` with
``x <= t'`` exactly when ``float32(x) <= t``, so float64 graphs decide like scikit-learn for every float64 input,
and rounding ``t'`` toward minus infinity to float32 gives the same float32 threshold as rounding ``t``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.fitted import require_fitted
from model_engine.errors import ConversionError

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]


@dataclass(frozen=True)
class TreeEnsembleParams:
    """Node tables plus how tree outputs combine: ``post_transform(aggregation(leaf values) + base_score)``.

    ``post_transform`` "sigmoid" has one output (the positive-class logit, probabilities ``[1 - p, p]``);
    "softmax" and "none" have one output per class.
    """

    feature: I32
    threshold: F64
    left: I32
    right: I32
    value: F64
    missing_go_left: npt.NDArray[np.bool_]
    tree_roots: I32
    aggregation: Literal["sum", "mean"]
    post_transform: Literal["none", "sigmoid", "softmax"]
    base_score: F64
    n_classes: int
    cover: F64 | None = None

    @property
    def n_nodes(self) -> int:
        return int(self.feature.shape[0])

    @property
    def n_trees(self) -> int:
        return int(self.tree_roots.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.value.shape[1])


def sklearn_float32_threshold(threshold: F64) -> F64:
    """The float64 threshold that decides a float64 ``x`` like scikit-learn's ``float32(x) <= threshold``."""
    t = np.asarray(threshold, dtype=np.float64)
    low = t.astype(np.float32)
    low = np.where(low.astype(np.float64) > t, np.nextafter(low, np.float32(-np.inf)), low)
    high = np.nextafter(low, np.float32(np.inf))
    finite_high = np.isfinite(high)
    # Above the largest float32, the rounding boundary lies half an ulp (2**103) above it.
    high64 = np.where(finite_high, high.astype(np.float64), low.astype(np.float64) + 2.0**104)
    midpoint = (low.astype(np.float64) + high64) / 2.0
    # float32(midpoint) rounds to even: if that is `low`, the midpoint itself still decides left.
    with np.errstate(over="ignore"):
        mid_rounds_low = midpoint.astype(np.float32) == low
    out = np.where(mid_rounds_low, midpoint, np.nextafter(midpoint, -np.inf))
    return np.where(np.isfinite(t), out, t)


@dataclass
class _TableBuilder:
    """Accumulates trees into concatenated node tables."""

    n_outputs: int
    features: list[I32]
    thresholds: list[F64]
    lefts: list[I32]
    rights: list[I32]
    values: list[F64]
    missing: list[npt.NDArray[np.bool_]]
    roots: list[int]
    covers: list[F64 | None]
    size: int = 0

    @classmethod
    def empty(cls, n_outputs: int) -> _TableBuilder:
        return cls(n_outputs, [], [], [], [], [], [], [], [])

    def add(
        self,
        feature: Any,
        threshold: F64,
        left: Any,
        right: Any,
        value: F64,
        missing_go_left: Any,
        cover: Any = None,
    ) -> None:
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        leaf = left < 0
        self.roots.append(self.size)
        self.features.append(np.where(leaf, 0, feature).astype(np.int32))
        self.thresholds.append(np.where(leaf, 0.0, threshold).astype(np.float64))
        self.lefts.append(np.where(leaf, -1, left + self.size).astype(np.int32))
        self.rights.append(np.where(leaf, -1, right + self.size).astype(np.int32))
        self.values.append(np.asarray(value, dtype=np.float64).reshape(left.shape[0], self.n_outputs))
        self.missing.append(np.asarray(missing_go_left, dtype=bool) & ~leaf)
        self.covers.append(None if cover is None else np.asarray(cover, dtype=np.float64).reshape(left.shape[0]))
        self.size += int(left.shape[0])

    def build(self, **combine: Any) -> TreeEnsembleParams:
        return TreeEnsembleParams(
            feature=np.concatenate(self.features),
            threshold=np.concatenate(self.thresholds),
            left=np.concatenate(self.lefts),
            right=np.concatenate(self.rights),
            value=np.concatenate(self.values),
            missing_go_left=np.concatenate(self.missing),
            tree_roots=np.asarray(self.roots, dtype=np.int32),
            cover=None if any(c is None for c in self.covers) else np.concatenate(self.covers),  # type: ignore[arg-type]
            **combine,
        )


def _missing_go_left(tree: Any) -> Any:
    # Trees from scikit-learn < 1.3 have no missing-value routing; they never saw NaN, send it right like >= 1.3.
    return getattr(tree, "missing_go_to_left", np.zeros(tree.node_count, dtype=bool))


def _add_sklearn_tree(tables: _TableBuilder, tree: Any, value: F64) -> None:
    tables.add(
        tree.feature,
        sklearn_float32_threshold(tree.threshold),
        tree.children_left,
        tree.children_right,
        value,
        _missing_go_left(tree),
        tree.weighted_n_node_samples,
    )


def _class_fractions(tree: Any, n_classes: int) -> F64:
    """Leaf class probabilities: each node's class weights over their sum (scikit-learn's ``predict_proba``)."""
    value = np.asarray(tree.value, dtype=np.float64)[:, 0, :n_classes]
    total = value.sum(axis=1, keepdims=True)
    return value / np.where(total == 0.0, 1.0, total)


def _single_output(model: Any) -> None:
    if getattr(model, "n_outputs_", 1) != 1:
        raise ConversionError(f"{type(model).__name__} with {model.n_outputs_} outputs is not supported (one only)")


def decision_tree_params(model: Any) -> TreeEnsembleParams:
    """DecisionTreeClassifier: one tree, its leaves' class fractions."""
    require_fitted(model)
    _single_output(model)
    return _forest_tables([model], len(model.classes_), "sum")


def forest_params(model: Any) -> TreeEnsembleParams:
    """RandomForestClassifier / ExtraTreesClassifier: the mean of the trees' class fractions."""
    require_fitted(model)
    _single_output(model)
    return _forest_tables(model.estimators_, len(model.classes_), "mean")


def _forest_tables(trees: Sequence[Any], n_classes: int, aggregation: Literal["sum", "mean"]) -> TreeEnsembleParams:
    tables = _TableBuilder.empty(n_classes)
    for estimator in trees:
        _add_sklearn_tree(tables, estimator.tree_, _class_fractions(estimator.tree_, n_classes))
    return tables.build(
        aggregation=aggregation, post_transform="none", base_score=np.zeros(n_classes), n_classes=n_classes
    )


def gradient_boosting_params(model: Any) -> TreeEnsembleParams:
    """GradientBoostingClassifier: constant prior raw score plus ``learning_rate`` times every stage's trees."""
    require_fitted(model)
    init = model.init_
    constant_prior = type(init).__name__ == "DummyClassifier" and init.strategy != "stratified"
    if not (isinstance(init, str) and init == "zero") and not constant_prior:
        raise ConversionError(
            f"GradientBoostingClassifier(init={type(init).__name__}) is not supported: only the default prior "
            "(DummyClassifier) or init='zero' compile, because the init estimator must be a constant"
        )
    # Exponential loss maps raw scores to probabilities with expit(2 * raw); folding the 2 in keeps one sigmoid.
    loss = model.loss
    if loss not in ("log_loss", "exponential"):
        raise ConversionError(f"GradientBoostingClassifier(loss={loss!r}) is not supported")
    factor = 2.0 if loss == "exponential" else 1.0
    n_classes = len(model.classes_)
    n_outputs = int(model.estimators_.shape[1])
    base = np.asarray(model._raw_predict_init(np.zeros((1, model.n_features_in_))), dtype=np.float64)[0]
    tables = _TableBuilder.empty(n_outputs)
    for stage in model.estimators_:
        for k, estimator in enumerate(stage):
            tree = estimator.tree_
            value = np.zeros((tree.node_count, n_outputs))
            value[:, k] = np.asarray(tree.value, dtype=np.float64)[:, 0, 0] * model.learning_rate * factor
            _add_sklearn_tree(tables, tree, value)
    return tables.build(
        aggregation="sum",
        post_transform="sigmoid" if n_outputs == 1 else "softmax",
        base_score=base * factor,
        n_classes=n_classes,
    )
