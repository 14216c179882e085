"""SimpleImputer: which columns survive, the value each takes when missing, and the missing-indicator columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.fitted import require_fitted
from model_engine.errors import ConversionError


@dataclass(frozen=True)
class ImputerParams:
    """``out = concat(where(isnan(x[:, keep]), fill, x[:, keep]), isnan(x[:, indicator]))``.

    scikit-learn drops columns that had no observed value at fit time (their statistic is NaN) unless
    ``keep_empty_features`` is set; ``keep`` lists the surviving input columns. ``indicator`` lists the columns of
    the appended MissingIndicator (``add_indicator=True``), empty when there is none.
    """

    n_features: int
    keep: npt.NDArray[np.int64]
    fill: npt.NDArray[np.float64]
    indicator: npt.NDArray[np.int64]
    has_indicator: bool

    @property
    def n_outputs(self) -> int:
        return int(self.keep.shape[0] + self.indicator.shape[0])


def imputer_params(imputer: Any) -> ImputerParams:
    """Read a fitted SimpleImputer that imputes NaN (the only missing marker a float graph input can carry)."""
    require_fitted(imputer)
    missing = imputer.missing_values
    if not (isinstance(missing, float) and np.isnan(missing)):
        raise ConversionError(
            f"SimpleImputer(missing_values={missing!r}) is not supported: the compiled graph marks missing values "
            "as NaN only; refit the imputer with missing_values=np.nan"
        )
    try:
        statistics = np.asarray(imputer.statistics_, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConversionError(
            "SimpleImputer holds non-numeric statistics; encode categorical columns to numbers before imputing"
        ) from None
    n = int(statistics.shape[0])
    if imputer.keep_empty_features:
        keep = np.arange(n, dtype=np.int64)
    else:
        keep = np.flatnonzero(~np.isnan(statistics)).astype(np.int64)
    indicator = np.zeros(0, dtype=np.int64)
    if imputer.add_indicator:
        indicator = np.asarray(imputer.indicator_.features_, dtype=np.int64).copy()
    return ImputerParams(
        n_features=n,
        keep=keep,
        fill=statistics[keep].copy(),
        indicator=indicator,
        has_indicator=bool(imputer.add_indicator),
    )
