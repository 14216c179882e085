"""Explanations: per-row additive contributions of the input features to a model's margin, as graph ops.

``compile_model`` builds an :class:`ExplanationGraph` beside the scoring graph (``build.build_explanation``) and
:meth:`CompiledModel.explain <model_engine.CompiledModel.explain>` runs it, giving :class:`Contributions`: the
linear terms of a logistic regression, TreeSHAP values of a tree ensemble, integrated gradients of an MLP, and for
calibrated models and soft votes their members' composed as :mod:`.ensembles` states (``Contributions.quantity``
says what the margin is: :data:`SCORE_LOGIT` unless an ensemble's explainer states another quantity).
"""

from __future__ import annotations

from model_engine.explain.contributions import METHODS, SCORE_LOGIT, Contributions
from model_engine.explain.explanation import ExplanationGraph

__all__ = ["METHODS", "SCORE_LOGIT", "Contributions", "ExplanationGraph"]
