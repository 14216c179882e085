"""Card numbers out of everything validation writes: rejected rows, report samples, statistics.

A batch may carry a card number in clear where it must not (a PAN sent as ``card_token``, an extra ``pan``
column, a number pasted into an id). Validation rejects such rows, but its outputs would otherwise copy the
number: the rows it keeps aside, the unexpected values great-expectations samples into its report, the most
frequent values of the statistics. :func:`mask_card_numbers` replaces every run of 12 to 19 digits (grouped
by spaces or dashes or not, as :data:`ingest.contract.PAN_PATTERN`) inside a text by its display form, BIN and
last four (:func:`ingest.pan.mask_pan`), or by :data:`CARD_NUMBER_REMOVED` when the digits fail the Luhn check.

>>> mask_card_numbers("card 4111 1111 1111 1111, ref 4111111111111112")
'card 411111******1111, ref <card number removed>'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from ingest.contract import (
    CARD_NUMBER_RUN_PATTERN,
    CARD_SIZED_NUMBER,
    MAX_PAN_DIGITS,
    TRANSACTION_COLUMNS,
    holds_card_number,
)
from ingest.pan import CardNumberError, mask_pan

CARD_NUMBER_REMOVED: Final = "<card number removed>"
_CARD_NUMBER_RUN: Final = re.compile(CARD_NUMBER_RUN_PATTERN)
#: Numbers whose integer part has as many digits as a card number (12 to 19): their digits are one.
_CARD_SIZED: Final = (CARD_SIZED_NUMBER, 10.0**MAX_PAN_DIGITS)


def mask_card_numbers(text: str) -> str:
    """``text`` with each card number in it masked (see the module docstring)."""
    return _CARD_NUMBER_RUN.sub(_masked, text)


def card_sized(values: Any) -> Any:
    """Where the numbers ``values`` (a number or an array) have a card number's digits in their integer part: a
    card number typed into a numeric column (an amount of 4111111111111111.0) must not be written out."""
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        return (magnitude >= _CARD_SIZED[0]) & (magnitude < _CARD_SIZED[1])


def mask_value(value: Any) -> Any:
    """``value`` with card numbers masked: in text, in integers (whose digits become masked text), and in
    the lists, tuples and dicts (keys included) that hold them; anything else unchanged."""
    if isinstance(value, str):
        return mask_card_numbers(value)
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        digits = str(value)
        return mask_card_numbers(digits) if holds_card_number(digits) else value
    if isinstance(value, float | np.floating) and bool(card_sized(value)):
        return mask_card_numbers(str(int(value)))
    if isinstance(value, list | tuple):
        return type(value)(mask_value(item) for item in value)
    if isinstance(value, dict):
        return {mask_value(key): mask_value(item) for key, item in value.items()}
    return value


def storable_rows(rows: pd.DataFrame, keep: Sequence[str] = ("reason",)) -> pd.DataFrame:
    """``rows`` as they may be stored or exported: the contract's columns (in contract order) and ``keep``,
    nothing else (a source's extra ``pan`` column goes), with card numbers masked in every column: in text, in
    integers shaped like one and in card-sized floats (such numeric columns become text)."""
    columns = [c for c in TRANSACTION_COLUMNS if c in rows.columns] + [c for c in keep if c in rows.columns]
    out = rows[columns].copy()
    for column in columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            out[column] = values.map(mask_value, na_action="ignore")
        elif _numbers_hold_card_numbers(values):
            # The column becomes text so that those numbers can be masked (and stored: one type per column).
            out[column] = values.astype(object).map(lambda value: str(mask_value(value)), na_action="ignore")
    return out


def _numbers_hold_card_numbers(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values.dtype):
        return False
    if pd.api.types.is_integer_dtype(values.dtype):
        return bool(values.astype(str).map(holds_card_number).any())
    if pd.api.types.is_float_dtype(values.dtype):
        return bool(card_sized(values.to_numpy(dtype=np.float64, na_value=np.nan)).any())
    return False


def _masked(match: re.Match[str]) -> str:
    try:
        return mask_pan(match.group())
    except CardNumberError:  # the shape of a card number without its checksum: nothing of it is kept
        return CARD_NUMBER_REMOVED
