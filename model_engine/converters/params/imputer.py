"""SimpleImputer: which columns survive, the value each takes when missing, and the missing-indicator columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.categories import CodesOf, no_vocabulary, numeric_or_codes
from model_engine.converters.params.fitted import require_fitted
from model_engine.errors import ConversionError
from model_engine.signature import is_missing


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


def imputer_params(imputer: Any, codes_of: CodesOf = no_vocabulary) -> ImputerParams:
    """Read a fitted SimpleImputer of missing values (NaN, None or pandas' NA: a float graph input marks them all
    NaN); string statistics of categorical columns become their vocabulary codes (``codes_of``)."""
    require_fitted(imputer)
    missing = imputer.missing_values
    if not is_missing(missing):
        raise ConversionError(
            f"SimpleImputer(missing_values={missing!r}) is not supported: the compiled graph marks missing values "
            "as NaN only; refit the imputer with missing_values=np.nan"
        )
    fitted = np.asarray(imputer.statistics_, dtype=object)
    statistics = np.array(
        [np.nan if is_missing(v) else numeric_or_codes([v], j, codes_of)[0] for j, v in enumerate(fitted)],
        dtype=np.float64,
    )
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
