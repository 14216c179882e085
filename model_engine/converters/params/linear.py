"""LogisticRegression: the weight matrix, intercepts and the link (sigmoid for two classes, softmax beyond)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.fitted import require_fitted
from model_engine.errors import ConversionError


@dataclass(frozen=True)
class LinearParams:
    """``z = x @ weight + bias`` (``weight`` is [F, K]); probabilities are ``link(z)``.

    Binary models have K = 1 and link "sigmoid" (probabilities ``[1 - p, p]``); multiclass models have one
    column per class and link "softmax".
    """

    weight: npt.NDArray[np.float64]
    bias: npt.NDArray[np.float64]
    link: Literal["sigmoid", "softmax"]
    n_classes: int


def logistic_params(model: Any) -> LinearParams:
    """Read a fitted LogisticRegression (binary or multinomial)."""
    require_fitted(model)
    n_classes = len(model.classes_)
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64).reshape(-1)
    if n_classes == 2:
        return LinearParams(weight=coef.T.copy(), bias=intercept.copy(), link="sigmoid", n_classes=2)
    if coef.shape[0] != n_classes:
        raise ConversionError(
            f"LogisticRegression has {coef.shape[0]} coefficient rows for {n_classes} classes; only binary and "
            "multinomial models are supported"
        )
    # scikit-learn >= 1.8 always uses softmax for multiclass; older releases could still fit one-vs-rest.
    multi_class = getattr(model, "multi_class", None)
    if multi_class == "ovr" or (multi_class == "auto" and model.solver == "liblinear"):
        raise ConversionError(
            "one-vs-rest LogisticRegression is not supported; refit with a multinomial solver such as lbfgs"
        )
    return LinearParams(weight=coef.T.copy(), bias=intercept.copy(), link="softmax", n_classes=n_classes)
