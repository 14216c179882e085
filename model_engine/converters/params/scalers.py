"""Scalers as per-feature affine maps: ``y = (x - offset) / scale`` or ``y = x * scale + offset``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.fitted import require_fitted

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AffineParams:
    """A per-feature affine map.

    ``divide`` selects the form scikit-learn itself evaluates, so the engine rounds the same way:
    ``(x - offset) / scale`` when true (StandardScaler), ``x * scale + offset`` when false (MinMaxScaler).
    ``clip`` bounds the result when the scaler clips (MinMaxScaler(clip=True)).
    """

    offset: F64
    scale: F64
    divide: bool
    clip: tuple[float, float] | None = None

    @property
    def n_features(self) -> int:
        return int(self.offset.shape[0])


def standard_scaler_params(scaler: Any) -> AffineParams:
    """StandardScaler: ``(x - mean_) / scale_``, each part only when ``with_mean``/``with_std`` is set."""
    require_fitted(scaler)
    n = int(scaler.n_features_in_)
    offset = np.asarray(scaler.mean_, dtype=np.float64) if scaler.with_mean else np.zeros(n)
    scale = np.asarray(scaler.scale_, dtype=np.float64) if scaler.with_std else np.ones(n)
    return AffineParams(offset=offset.copy(), scale=scale.copy(), divide=True)


def min_max_params(scaler: Any) -> AffineParams:
    """MinMaxScaler: ``x * scale_ + min_``, clipped to ``feature_range`` when ``clip=True``."""
    require_fitted(scaler)
    low, high = scaler.feature_range
    return AffineParams(
        offset=np.asarray(scaler.min_, dtype=np.float64).copy(),
        scale=np.asarray(scaler.scale_, dtype=np.float64).copy(),
        divide=False,
        clip=(float(low), float(high)) if scaler.clip else None,
    )
