"""Output links shared by the classifiers: a logit to two-class probabilities, raw scores to softmax."""

from __future__ import annotations

from model_engine.ir import Value
from model_engine.ops import GraphBuilder


def binary_probabilities(builder: GraphBuilder, logit: Value) -> Value:
    """``[1 - sigmoid(z), sigmoid(z)]`` for a logit column ``z`` [N, 1], as scikit-learn computes it."""
    return probabilities_from_logistic(builder, builder.op("sigmoid", logit))


def probabilities_from_logistic(builder: GraphBuilder, p: Value) -> Value:
    """``[1 - p, p]`` for a probability column ``p`` [N, 1]."""
    one = builder.scalar(1.0, builder.type_of(p).dtype)
    return builder.op("concat", builder.op("sub", one, p), p)
