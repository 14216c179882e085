"""Contributions: per-row additive attributions of a model's margin to its input features.

For every row ``base_value + values.sum(axis=1) == margin``: exactly (to float64 rounding) for linear models and
tree ensembles, within the stated integration tolerance for an MLP (see ``docs/converters.md``). ``quantity`` states
what ``margin`` is: for a single classifier (and a calibration with one Platt map) :data:`SCORE_LOGIT`, the logit of
the positive class, so ``sigmoid(margin)`` is the model's score; for calibrated models and soft votes whose score
is not additive on any scale, the stated quantity their explainers chose (:mod:`.ensembles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

METHODS = ("linear", "tree_shap", "integrated_gradients")
"""The attribution methods; an ensemble's method joins its members' with "+" (``"linear+tree_shap"``)."""
SCORE_LOGIT = "the logit of the score"
"""The quantity explained when ``sigmoid(margin)`` is the model's score."""


@dataclass(frozen=True)
class Contributions:
    """Additive contributions to the margin for N rows and the F input features of a model's signature;
    ``quantity`` states what the margin is (:data:`SCORE_LOGIT` unless an ensemble's explainer says otherwise).

    >>> c = Contributions(("amount", "hour"), np.array([[1.5, -0.25]]), np.array([-2.0]), np.array([-0.75]),
    ...                   "linear")
    >>> c.top(0, 1)
    [('amount', 1.5)]
    """

    features: tuple[str, ...]
    values: npt.NDArray[np.float64]
    base_value: npt.NDArray[np.float64]
    margin: npt.NDArray[np.float64]
    method: str
    quantity: str = SCORE_LOGIT

    @property
    def is_score_logit(self) -> bool:
        """Whether ``sigmoid(margin)`` is the model's score."""
        return self.quantity == SCORE_LOGIT

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(str(f) for f in self.features))
        values = _frozen(self.values, 2, "values")
        base, margin = _frozen(self.base_value, 1, "base_value"), _frozen(self.margin, 1, "margin")
        if values.shape[1] != len(self.features):
            raise ValueError(f"values has {values.shape[1]} columns for {len(self.features)} features")
        if not values.shape[0] == base.shape[0] == margin.shape[0]:
            raise ValueError(f"values, base_value and margin cover {values.shape[0]}, {base.shape[0]} and "
                             f"{margin.shape[0]} rows; they must agree")  # fmt: skip
        if not set(self.method.split("+")) <= set(METHODS):
            raise ValueError(f"method must be one of {METHODS} (or several joined by '+'), got {self.method!r}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "base_value", base)
        object.__setattr__(self, "margin", margin)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def top(self, row: int, k: int) -> list[tuple[str, float]]:
        """The ``k`` features that moved row ``row``'s margin most from the base value, largest ``|value|`` first.

        Each entry is ``(feature, signed contribution)``: positive raised the score, negative lowered it. Features
        that contributed exactly zero (or NaN, from a NaN input to a model without missing-value handling) are left
        out, so fewer than ``k`` may come back; ties keep signature order.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        if not -len(self) <= row < len(self):
            raise IndexError(f"row {row} is out of range for {len(self)} rows")
        values = self.values[row]
        candidates = np.flatnonzero(np.isfinite(values) & (values != 0.0))
        order = candidates[np.argsort(-np.abs(values[candidates]), kind="stable")]
        return [(self.features[i], float(values[i])) for i in order[:k]]


def _frozen(array: Any, ndim: int, what: str) -> npt.NDArray[np.float64]:
    out = np.array(array, dtype=np.float64, copy=True)
    if out.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimension(s), got shape {out.shape}")
    out.flags.writeable = False
    return out
