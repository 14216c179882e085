"""CalibratedClassifierCV (binary) and FrozenEstimator: each calibrated classifier's score through its fitted
calibration map, averaged over the calibrated classifiers, as scikit-learn computes ``predict_proba``.

The score is the estimator's decision function when it has one (logistic regression, gradient boosting, a
pipeline ending in one: emitted here before their link) and its positive-class probability otherwise (forests,
MLPs, soft voting). Platt's map is one multiply-add and a sigmoid. The isotonic map, linear interpolation between
knots clipped at both ends, is a sum of clipped ramps over the knot intervals whose value changes:
``y0 + sum_i slope_i * (clip(f, x_i, x_i+1) - x_i)``, existing elementwise ops and a row sum; it agrees with
scikit-learn's interpolation to float64 rounding. scikit-learn interpolates in the knots' dtype: knots fitted on
float32 scores make it round the score to float32 first (and the probability after), and the graph does the same
(two casts), since a steep segment turns that rounding into a difference of 1e-4 and more. A graph compiled in
float32 rounds the knots and the scores of float64 ones likewise: compile calibrated models in float64 where
parity matters (the parity tests state both tolerances).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from model_engine.converters.boosters import emit_booster_decision_function, installed_boosters
from model_engine.converters.boosting import emit_gradient_boosting
from model_engine.converters.constants import float_dtype, weights
from model_engine.converters.hist_boosting import emit_hist_gradient_boosting
from model_engine.converters.linear import emit_linear_scores
from model_engine.converters.links import probabilities_from_logistic
from model_engine.converters.params import logistic_params
from model_engine.converters.params.calibration import CalibratedMember, CalibrationMap, calibrated_members
from model_engine.converters.registry import convert, register_converter
from model_engine.errors import ConversionError
from model_engine.ir import DType, Value
from model_engine.ops import GraphBuilder


def emit_decision_function(estimator: Any, builder: GraphBuilder, x: Value) -> Value:
    """The binary decision function of ``estimator`` on ``x`` ([N, 1]): what scikit-learn calibrates."""
    if isinstance(estimator, Pipeline):
        steps = [s for _, s in estimator.steps if s is not None and not (isinstance(s, str) and s == "passthrough")]
        y = x
        for step in steps[:-1]:
            y = convert(step, builder, y)
        return emit_decision_function(steps[-1], builder, y)
    if len(getattr(estimator, "classes_", ())) != 2:
        raise ConversionError(f"only a binary {type(estimator).__name__} has a one-column decision function")
    if isinstance(estimator, LogisticRegression):
        return emit_linear_scores(logistic_params(estimator), builder, x)
    if isinstance(estimator, HistGradientBoostingClassifier):
        return emit_hist_gradient_boosting(estimator, builder, x, raw=True)
    if isinstance(estimator, GradientBoostingClassifier):
        return emit_gradient_boosting(estimator, builder, x, raw=True)
    if type(estimator) in installed_boosters():
        return emit_booster_decision_function(estimator, builder, x)
    raise ConversionError(
        f"the decision function of {type(estimator).__name__} does not compile, and scikit-learn calibrates it "
        "rather than its probabilities; calibrate a supported estimator"
    )


def _score(member: CalibratedMember, builder: GraphBuilder, x: Value) -> Value:
    if member.response == "decision_function":
        return emit_decision_function(member.estimator, builder, x)
    probabilities = convert(member.estimator, builder, x)
    return builder.op("gather_columns", probabilities, indices=(1,))


def emit_calibration_map(calibration: CalibrationMap, builder: GraphBuilder, f: Value) -> Value:
    """The calibrated probability [N, 1] of the scores ``f`` [N, 1]."""
    dtype = float_dtype(builder, f)
    if calibration.method == "sigmoid":
        # expit(-(a * f + b)), with the negation folded into the constants (negating is exact).
        z = builder.op("mul", f, builder.scalar(-calibration.a, dtype))
        return builder.op("sigmoid", builder.op("add", z, builder.scalar(-calibration.b, dtype)))
    x, y = calibration.x, calibration.y
    if calibration.precision == DType.FLOAT32.value and dtype is DType.FLOAT64:
        f = _rounded_to_float32(builder, f)
    if x.size < 2:
        raise ConversionError("an isotonic calibrator with one knot maps every score to one value; recalibrate")
    rising = np.flatnonzero(np.diff(y) != 0.0)  # flat intervals add nothing to the sum
    if rising.size == 0:
        raise ConversionError("an isotonic calibrator whose knots share one value is constant; recalibrate")
    low, high = x[rising], x[rising + 1]
    slope = (y[rising + 1] - y[rising]) / (high - low)
    lo = weights(builder, low[None, :], dtype, "isotonic.low")
    clipped = builder.op(
        "minimum", builder.op("maximum", f, lo), weights(builder, high[None, :], dtype, "isotonic.high")
    )
    ramps = builder.op("mul", builder.op("sub", clipped, lo), weights(builder, slope[None, :], dtype, "isotonic.slope"))
    p = builder.op("add", builder.op("reduce_sum", ramps), builder.scalar(float(y[0]), dtype))
    if calibration.precision == DType.FLOAT32.value and dtype is DType.FLOAT64:
        p = _rounded_to_float32(builder, p)
    return p


def _rounded_to_float32(builder: GraphBuilder, f: Value) -> Value:
    """``f`` (float64) rounded to the nearest float32, kept in float64."""
    return builder.op("cast", builder.op("cast", f, to=DType.FLOAT32.value), to=DType.FLOAT64.value)


@register_converter(CalibratedClassifierCV)
def convert_calibrated_classifier(model: Any, builder: GraphBuilder, x: Value) -> Value:
    members = calibrated_members(model)
    total: Value | None = None
    for member in members:
        p = emit_calibration_map(member.calibration, builder, _score(member, builder, x))
        total = p if total is None else builder.op("add", total, p)
    assert total is not None
    if len(members) > 1:
        total = builder.op("div", total, builder.scalar(float(len(members)), float_dtype(builder, x)))
    return probabilities_from_logistic(builder, total)


@register_converter(FrozenEstimator)
def convert_frozen(model: Any, builder: GraphBuilder, x: Value) -> Value:
    return convert(model.estimator, builder, x)
