"""Fitted categories as numbers: numeric categories as they are, string categories as vocabulary codes.

The codes come from the caller (``codes_of``, see :mod:`model_engine.converters.categories`), so the parameter
readers stay free of graph code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from model_engine.errors import ConversionError

F64 = npt.NDArray[np.float64]
CodesOf = Callable[[int, Sequence[Any]], F64]
"""``codes_of(column, categories)``: the codes of a fitted encoder's categories for one column it reads."""


def no_vocabulary(column: int, categories: Sequence[Any]) -> F64:
    """The ``codes_of`` of a conversion without vocabularies: string categories are refused."""
    raise ConversionError(
        f"input column {column} has string categories {list(categories)[:5]}: compile the model with compile_model "
        "(its signature carries each categorical input's vocabulary), or encode the strings before fitting"
    )


def numeric_or_codes(categories: Sequence[Any], column: int, codes_of: CodesOf) -> F64:
    """Fitted categories as float values: numbers as they are, anything else (strings) as vocabulary codes."""
    array = np.asarray(categories)
    if array.dtype.kind in "fiub":
        return array.astype(np.float64)
    return codes_of(column, list(categories))
