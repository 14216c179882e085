"""Calibrated models and soft votes: exact additive explanations of a stated quantity, built from their members'.

Neither score is additive on any scale (a calibrated probability is a map of the base model's score, a vote
averages probabilities), so each explainer states the quantity its margin is (``Head.quantity``), chosen so that the
members' exact attributions add up to it (to float rounding):

* ``CalibratedClassifierCV`` with Platt's sigmoid: a calibrated classifier's probability is ``sigmoid(-(a f + b))``
  of the score ``f`` it maps, so its logit ``-(a f + b)`` is affine in ``f``: the contributions to ``f`` scale by
  ``-a`` and the base value maps to ``-(a base + b)``. With one calibrated classifier (around a ``FrozenEstimator``,
  as the training serves them) the margin is the score's logit, as for a single classifier. Cross-validated, the
  score is the mean of several sigmoids, additive in nothing: the margin is the mean of the calibrated
  classifiers' logits, and its contributions the mean of theirs.
* isotonic: a monotone, flat-in-blocks map, not additive: the margin is the base model's uncalibrated score logit
  (the mean of the folds' base models' when cross-validated), of which its calibrated score is a non-decreasing
  function, so it ranks as the score does (a soft vote as base: its probability, which the calibrator maps).
* ``VotingClassifier(voting="soft")``: the margin is the weighted mean of the members' margins (each member's stated
  quantity), its contributions the weighted mean of theirs.

``f`` is the decision function where scikit-learn calibrates it (the margin; half of it for an exponential-loss
GradientBoosting; for LightGBM its raw score, the margin over its ``sigmoid`` scale), else the positive-class
probability: a margin's contributions are mapped onto ``p = sigmoid(margin)`` by one factor per row, the secant
``(p - p0) / (m - m0)`` of the sigmoid between the base value and the margin (its slope ``p0 (1 - p0)`` where they
coincide), as a forest's are mapped onto the logit (:mod:`.trees`): each feature keeps its sign and share. A soft
vote's probability is the weighted mean of its members' probabilities, with theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.ensemble import GradientBoostingClassifier
from sklearn.pipeline import Pipeline

from model_engine.converters.boosters import booster_margin_scale, installed_boosters
from model_engine.converters.params.calibration import CalibratedMember, calibrated_members
from model_engine.converters.voting import soft_vote_members
from model_engine.errors import ExplanationUnavailableError
from model_engine.explain.contributions import METHODS, SCORE_LOGIT
from model_engine.explain.heads import EstimatorExplainer, Head
from model_engine.ir import DType, Value
from model_engine.ops import GraphBuilder

PROBABILITY = "the score (the positive-class probability)"
"""The quantity of a head explaining the probability itself (what a calibrator maps for most estimators)."""
PROBABILITY_NOTE = "mapped onto the probability by the secant of the sigmoid"
"""The note (``scale``) of a head whose contributions were mapped onto the probability."""


def explain_calibrated(model: Any, builder: GraphBuilder, z: Value, probability: bool,
                       explain: EstimatorExplainer) -> Head:  # fmt: skip
    members = calibrated_members(model)
    method = members[0].calibration.method
    n = len(members)
    if method == "sigmoid":
        heads = [_platt_logit(member, builder, z, explain) for member in members]
        if probability:
            heads = [onto_probability(builder, head) for head in heads]
        if n == 1:
            quantity = heads[0].quantity
        else:
            quantity = PROBABILITY if probability else (
                f"the mean of the {n} cross-validated calibrated classifiers' score logits (the score is the mean "
                "of their sigmoids)"
            )  # fmt: skip
    else:
        if probability:
            raise ExplanationUnavailableError(
                "the probability of an isotonic-calibrated model is not additive and cannot be mapped from a margin; "
                "calibrate the outer model only"
            )
        heads = [_uncalibrated(member, builder, z, explain) for member in members]
        base = "the base model's " + ("score logit" if heads[0].quantity == SCORE_LOGIT else "probability")
        quantity = (
            f"the uncalibrated score: {base}, of which the calibrated score is a non-decreasing function (isotonic)"
            if n == 1
            else f"the mean over the {n} cross-validated folds of {base}, of which each fold's calibrated score is a "
            "non-decreasing function (isotonic)"
        )
    notes = {"calibration": method, "calibrated_classifiers": n, "members": [dict(h.notes) for h in heads]}
    return combined(builder, heads, [1.0 / n] * n, 0.0, quantity, notes)


def explain_soft_vote(model: Any, builder: GraphBuilder, z: Value, probability: bool,
                      explain: EstimatorExplainer) -> Head:  # fmt: skip
    members = soft_vote_members(model)
    heads = [explain(estimator, builder, z, probability) for estimator, _ in members]
    total = sum(w for _, w in members)
    weights = [w / total for _, w in members]
    quantity = PROBABILITY if probability else (
        "the weighted mean of the members' margins (weights " + ", ".join(f"{w:.6g}" for w in weights) + "): "
        + "; ".join(h.quantity for h in heads)
    )  # fmt: skip
    notes = {"weights": weights, "members": [dict(h.notes) for h in heads]}
    return combined(builder, heads, weights, 0.0, quantity, notes)


def onto_probability(builder: GraphBuilder, head: Head) -> Head:
    """A score-logit head mapped onto the probability ``sigmoid(margin)`` by the secant factor (module docstring)."""
    if head.quantity != SCORE_LOGIT:
        raise ExplanationUnavailableError(
            f"the probability cannot be explained from a margin that is not the score's logit ({head.quantity})"
        )
    dtype = DType.FLOAT64
    values, base = _split(builder, head.attributions)
    p, p0 = builder.op("sigmoid", head.margin), builder.op("sigmoid", base)
    total = builder.op("reduce_sum", values)
    secant = builder.op("div", builder.op("sub", p, p0), total)
    tangent = builder.op("mul", p0, builder.op("sub", builder.scalar(1.0, dtype), p0))
    moved = builder.op("greater", builder.op("abs", total), builder.scalar(0.0, dtype))
    factor = builder.op("where", moved, secant, tangent)
    attributions = builder.op("concat", builder.op("mul", values, factor), p0)
    notes = {**head.notes, "scale": PROBABILITY_NOTE}
    return Head(attributions, p, head.explained, head.method, notes, PROBABILITY)


def combined(builder: GraphBuilder, heads: Sequence[Head], weights: Sequence[float], offset: float, quantity: str,
             notes: dict[str, Any]) -> Head:  # fmt: skip
    """``offset + sum(w_i * margin_i)``, explained by the weighted contributions of every head's columns (their
    ``explained`` columns side by side, which :mod:`.build` sums back per feature) and the weighted base values."""
    dtype = DType.FLOAT64
    columns, bases, margins = [], [], []
    for i, (head, weight) in enumerate(zip(heads, weights, strict=True)):
        w = builder.scalar(weight, dtype, f"explain.weight{i}")
        values, base = _split(builder, head.attributions)
        columns.append(values if weight == 1.0 else builder.op("mul", values, w))
        bases.append(base if weight == 1.0 else builder.op("mul", base, w))
        margins.append(head.margin if weight == 1.0 else builder.op("mul", head.margin, w))
    base, margin = _sum(builder, bases), _sum(builder, margins)
    if offset != 0.0:
        shift = builder.scalar(offset, dtype, "explain.offset")
        base, margin = builder.op("add", base, shift), builder.op("add", margin, shift)
    explained = heads[0].explained if len(heads) == 1 else builder.op("concat", *(h.explained for h in heads))
    methods = {part for h in heads for part in h.method.split("+")}
    method = "+".join(m for m in METHODS if m in methods)
    return Head(builder.op("concat", *columns, base), margin, explained, method, notes, quantity)


def _platt_logit(member: CalibratedMember, builder: GraphBuilder, z: Value, explain: EstimatorExplainer) -> Head:
    """The calibrated classifier's logit ``-(a f + b)``, explained from its score ``f``'s contributions."""
    if member.response == "decision_function":
        head = explain(member.estimator, builder, z, False)
        scale = _decision_function_per_margin(member.estimator)
    else:
        head, scale = explain(member.estimator, builder, z, True), 1.0
    a, b = member.calibration.a, member.calibration.b
    return combined(builder, [head], [-a * scale], -b, SCORE_LOGIT, dict(head.notes))


def _uncalibrated(member: CalibratedMember, builder: GraphBuilder, z: Value, explain: EstimatorExplainer) -> Head:
    """The base model's score logit, or its probability where its margin is not that logit (a soft vote)."""
    head = explain(member.estimator, builder, z, False)
    return head if head.quantity == SCORE_LOGIT else explain(member.estimator, builder, z, True)


def _decision_function_per_margin(estimator: Any) -> float:
    """The decision function scikit-learn calibrates, per unit of the margin explained: half of it for an
    exponential-loss GradientBoosting, ``1 / sigmoid`` for LightGBM (its raw score, before the sigmoid's scale)."""
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    if isinstance(estimator, GradientBoostingClassifier) and estimator.loss == "exponential":
        return 0.5
    if type(estimator) in installed_boosters():
        return 1.0 / booster_margin_scale(estimator)
    return 1.0


def _split(builder: GraphBuilder, attributions: Value) -> tuple[Value, Value]:
    """The attribution columns and the base value (last)."""
    width = int(builder.type_of(attributions).shape[1] or 0) - 1
    values = builder.op("gather_columns", attributions, indices=tuple(range(width)))
    return values, builder.op("gather_columns", attributions, indices=(width,))


def _sum(builder: GraphBuilder, terms: Sequence[Value]) -> Value:
    total = terms[0]
    for term in terms[1:]:
        total = builder.op("add", total, term)
    return total
