"""MLPClassifier: layer weights, biases, the hidden activation and the output link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.fitted import require_fitted
from model_engine.errors import ConversionError

Activation = Literal["relu", "tanh", "logistic", "identity"]
ACTIVATIONS: tuple[Activation, ...] = ("relu", "tanh", "logistic", "identity")


@dataclass(frozen=True)
class MLPParams:
    """Dense layers ``h = act(h @ weights[i] + biases[i])``; the last layer uses ``output`` instead of ``act``.

    ``output`` is "logistic" for two classes (one unit; probabilities ``[1 - p, p]``) and "softmax" beyond.
    """

    weights: tuple[npt.NDArray[np.float64], ...]
    biases: tuple[npt.NDArray[np.float64], ...]
    activation: Activation
    output: Literal["logistic", "softmax"]
    n_classes: int


def mlp_params(model: Any) -> MLPParams:
    """Read a fitted single-label MLPClassifier."""
    require_fitted(model)
    activation = model.activation
    if activation not in ACTIVATIONS:
        raise ConversionError(f"MLPClassifier activation {activation!r} is not one of {ACTIVATIONS}")
    output = model.out_activation_
    n_classes = len(model.classes_)
    single_label = int(getattr(model, "n_outputs_", 1)) == (1 if output == "logistic" else n_classes)
    if output not in ("logistic", "softmax") or not single_label:
        raise ConversionError(
            f"MLPClassifier with output {output!r} and {n_classes} classes is not supported: only single-label "
            "binary (logistic) and multiclass (softmax) classifiers compile"
        )
    return MLPParams(
        weights=tuple(np.asarray(w, dtype=np.float64).copy() for w in model.coefs_),
        biases=tuple(np.asarray(b, dtype=np.float64).copy() for b in model.intercepts_),
        activation=activation,
        output=output,
        n_classes=n_classes,
    )
