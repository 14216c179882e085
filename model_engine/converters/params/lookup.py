"""Category-to-row encoders (OrdinalEncoder, TargetEncoder) as lookup tables read through their own transform.

Each input feature maps every category to a row of outputs, and unknown and missing values to a row each. The
rows are read by calling the fitted encoder's ``transform`` on its own categories, on one value it never saw and
on a missing value, so infrequent grouping, ``unknown_value``, ``encoded_missing_value``, target means and the
encoders' handling of missing categories are reproduced exactly as fitted, whatever the release. Where
``transform`` refuses a value (``handle_unknown="error"``) the compiled graph cannot raise per row: that row is
NaN, so the failure stays visible in the scores.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.categories import F64, CodesOf, no_vocabulary, numeric_or_codes
from model_engine.converters.params.fitted import require_fitted
from model_engine.errors import ConversionError
from model_engine.signature import is_missing

UNSEEN_TEXT = "\x00never seen at fit"


@dataclass(frozen=True)
class LookupParams:
    """Per input feature ``j``: ``categories[j]`` (as numbers or vocabulary codes, missing ones left out),
    ``known[j]`` [K_j, M] the output row of each, ``unknown[j]`` and ``missing[j]`` [M] the rows of an unknown
    and of a missing value. The output is the features' blocks of M columns side by side."""

    categories: tuple[F64, ...]
    known: tuple[F64, ...]
    unknown: tuple[F64, ...]
    missing: tuple[F64, ...]

    @property
    def width(self) -> int:
        return int(self.known[0].shape[1]) if self.known else 0


def _is_numeric(column: list[Any]) -> bool:
    return np.asarray([v for v in column if not is_missing(v)]).dtype.kind in "fiub"


def _transform(encoder: Any, columns: list[list[Any]]) -> npt.NDArray[np.float64]:
    """``encoder.transform`` of the rows whose column ``j`` holds ``columns[j]`` (named as fitted, each column of
    the kind its fitted categories have)."""
    import pandas as pd

    names = getattr(encoder, "feature_names_in_", None)
    kinds = [_is_numeric(list(categories)) for categories in encoder.categories_]
    series = [
        pd.Series(col, dtype=np.float64 if numeric else object) for col, numeric in zip(columns, kinds, strict=True)
    ]
    data: Any = pd.concat(series, axis=1, keys=list(names)) if names is not None else None
    if data is None:
        numeric = all(s.dtype == np.float64 for s in series)
        data = np.column_stack([s.to_numpy(dtype=np.float64 if numeric else object) for s in series])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown-category warnings are the point here
        return np.asarray(encoder.transform(data), dtype=np.float64)


def _transform_or_nan(encoder: Any, columns: list[list[Any]], width: int) -> npt.NDArray[np.float64]:
    try:
        return _transform(encoder, columns)
    except ValueError:  # handle_unknown="error": the graph cannot raise per row, so the row is NaN
        return np.full((len(columns[0]), width), np.nan)


def _unseen(categories: list[Any]) -> Any:
    numbers = [c for c in categories if not is_missing(c)]
    if numbers and np.asarray(numbers).dtype.kind in "fiub":
        return float(np.max(np.asarray(numbers, dtype=np.float64))) + 1.0
    return UNSEEN_TEXT


def lookup_params(encoder: Any, codes_of: CodesOf = no_vocabulary) -> LookupParams:
    """Read a fitted column-wise category encoder into its lookup tables (see the module docstring)."""
    require_fitted(encoder)
    fitted = [list(c) for c in encoder.categories_]
    n = len(fitted)
    present = [[c for c in cats if not is_missing(c)] for cats in fitted]
    if any(not cats for cats in present):
        raise ConversionError(f"{type(encoder).__name__} has a feature without any category; refit it")
    rows = max(len(cats) for cats in present)
    known_columns = [cats + [cats[0]] * (rows - len(cats)) for cats in present]
    known_out = _transform(encoder, known_columns)
    width = known_out.shape[1]
    if width % n:
        raise ConversionError(f"{type(encoder).__name__} outputs {width} columns for {n} features")
    m = width // n
    unknown_out = _transform_or_nan(encoder, [[_unseen(cats)] for cats in fitted], width)[0]
    missing_out = _transform_or_nan(encoder, [[np.nan] for _ in fitted], width)[0]
    return LookupParams(
        categories=tuple(numeric_or_codes(present[j], j, codes_of) for j in range(n)),
        known=tuple(known_out[: len(present[j]), j * m : (j + 1) * m].copy() for j in range(n)),
        unknown=tuple(unknown_out[j * m : (j + 1) * m].copy() for j in range(n)),
        missing=tuple(missing_out[j * m : (j + 1) * m].copy() for j in range(n)),
    )
