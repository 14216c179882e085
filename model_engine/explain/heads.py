"""What an explainer emits for a classifier family (:class:`Head`); the catalogue of explainers is :mod:`.catalogue`.

An explainer is ``explain(classifier, builder, z) -> Head``: given the fitted final step of a pipeline and the
graph value ``z`` it reads (``[N, K]``, after the pipeline's transformers), it emits on ``builder`` the margin (the
positive class's logit) and the attributions ``[N, K' + 1]`` of the columns of ``Head.explained`` (``z`` itself, or
``z`` widened by columns the classifier derives) with the base value last. ``Head.quantity`` states what the margin
is: the score's logit for every single classifier; an ensemble's explainer (:mod:`.ensembles`) states its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from model_engine.explain.contributions import SCORE_LOGIT
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


@dataclass(frozen=True)
class Head:
    """What an explainer emitted: attributions of ``explained``'s columns (base last), the margin, the method."""

    attributions: Value
    margin: Value
    explained: Value
    method: str
    notes: Mapping[str, Any] = field(default_factory=dict)
    quantity: str = SCORE_LOGIT


HeadExplainer = Callable[[Any, GraphBuilder, Value], Head]
EstimatorExplainer = Callable[[Any, GraphBuilder, Value, bool], Head]
"""``explain(estimator, builder, z, probability) -> Head``: any explainable estimator (a pipeline included) on the
columns ``z`` in the model's precision; with ``probability`` its head explains the positive-class probability
instead of the margin (what a calibrator maps for estimators without a decision function)."""
EnsembleExplainer = Callable[[Any, GraphBuilder, Value, bool, EstimatorExplainer], Head]
"""An ensemble's explainer: its members are explained through the given :data:`EstimatorExplainer`."""
