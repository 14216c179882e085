"""Fitted categories as numbers: numeric categories as they are, string categories as vocabulary codes.

The codes come from the caller (``codes_of``, see :mod:`model_engine.converters.categories`), so the parameter
readers stay free of graph code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
CodesOf = Callable[[int, Sequence[Any]], F64]
"""``codes_of(column, categories)``: the codes of a fitted encoder's categories for one column it reads."""


def numeric_or_codes(categories: Sequence[Any], column: int, codes_of: CodesOf) -> F64:
    """Fitted categories as float values: numbers as they are, anything else (strings) as vocabulary codes."""
    array = np.asarray(categories)
    if array.dtype.kind in "fiub":
        return array.astype(np.float64)
    return codes_of(column, list(categories))
