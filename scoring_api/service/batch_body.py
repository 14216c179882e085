"""A batch body's items as one contract frame, checked column by column, with the same answers as checking each
item with :class:`~scoring_api.service.schemas.ScoreRequest`.

Validating a thousand items one pydantic model at a time, then building the frame value by value, cost more than
scoring them. Here the items are read in two tiers:

* **columns** for every item that has the plain shape of a transaction: an object with only the request's keys,
  every required one, the card as ``card_token``, text where text goes, a number for the amount and an ISO 8601
  timestamp with its offset. Their fields go straight into typed columns, and the contract's rules (lengths,
  patterns, no card number, allowed codes, ranges, unique ids) are judged for all of them at once by the
  scorer's compiled validation suite (:meth:`~scoring_api.pipeline.Scorer.check`), which is built from the same
  contract as the pydantic model;
* **one by one**, with :class:`ScoreRequest`, for every item the columns cannot vouch for: another shape (a card
  number as ``pan``, an amount as text, a missing field), and every item the suite rejects. An item pydantic
  refuses is answered with pydantic's errors, exactly as if it had been validated alone; one it accepts keeps
  the suite's verdict (a duplicate id within the batch).

An item refused by pydantic never takes part in the batch's checks (a bad item's duplicate id does not reject a
good one): when the suite rejected such items, the others are checked again without them. Each item therefore
gets the answer that validating the items one by one and checking the valid ones together gives.

The shortcut holds only when the scorer's suite holds every rule of the contract (:func:`covers_contract`); a
suite that does not (a hand-written one) sends every item through pydantic.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import ValidationError

from ingest.contract import OPTIONAL_DEFAULTS, TRANSACTION_COLUMNS
from ingest.pan import CardTokenizer
from ingest.validation.checker import CRITICAL, CompiledChecker, Verdict
from scoring_api.pipeline import Scorer
from scoring_api.pipeline.checks import load_checker
from scoring_api.service.responses import validation_errors
from scoring_api.service.schemas import ScoreRequest, requests_frame

#: The keys an item read as columns may have (the request's, less ``pan``: card numbers are tokenised one by one).
_COLUMN_KEYS: Final = frozenset(TRANSACTION_COLUMNS)
_REQUIRED: Final = frozenset(name for name, f in ScoreRequest.model_fields.items() if f.is_required()) | {"card_token"}
_TEXT: Final = tuple(c for c in TRANSACTION_COLUMNS if c not in ("timestamp", "amount"))
_DEFAULTS: Final[dict[str, Any]] = {
    name: (f.default.value if hasattr(f.default, "value") else f.default)
    for name, f in ScoreRequest.model_fields.items()
    if not f.is_required() and name in _COLUMN_KEYS and f.default is not None
}
#: A timestamp the columns parse: ISO 8601 with seconds, up to microseconds and an explicit offset, in years
#: pandas' microsecond timestamps hold (the contract's range is then the suite's to judge).
_ISO_TIMESTAMP: Final = re.compile(
    r"(?:19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)

assert set(_DEFAULTS) == set(OPTIONAL_DEFAULTS) | {"channel", "entry_mode"}, "the request's defaults changed"


@dataclass(frozen=True)
class CheckedBatch:
    """The items that read as transactions, as one contract frame in request order, the suite's verdict on it,
    and the errors of the items that do not."""

    frame: pd.DataFrame
    #: None when no item reads as a transaction (``frame`` is then empty).
    verdict: Verdict | None
    #: The request position of each row of ``frame``.
    positions: list[int]
    #: Request position -> the item's errors (pydantic's, without the input).
    errors: dict[int, list[dict[str, Any]]]


def check_items(
    items: list[Any], scorer: Scorer, tokenizer: CardTokenizer, displays: dict[str, str] | None
) -> CheckedBatch:
    """Read and check a batch's items (see the module): the frame to score, its verdict, the other items' errors."""
    errors: dict[int, list[dict[str, Any]]] = {}
    columnar = covers_contract(scorer.checker)
    read = _read_columns(items, _plain_items(items) if columnar else [])
    fast = read.index.tolist()
    slow: dict[int, ScoreRequest] = {}
    fast_set = set(fast)
    for index in range(len(items)):
        if index not in fast_set:
            request = _validated(items[index], index, errors)
            if request is not None:
                slow[index] = request
    while True:
        frame, positions = _frame(read if len(fast) == len(read) else read.loc[fast], slow, tokenizer, displays)
        if not positions:
            return CheckedBatch(frame, None, positions, errors)
        verdict = scorer.check(frame)
        refused = [
            row
            for row in np.flatnonzero(~verdict.ok_mask).tolist()
            if positions[row] in fast_set and _validated(items[positions[row]], positions[row], errors) is None
        ]
        if not refused:
            return CheckedBatch(frame, verdict, positions, errors)
        gone = {positions[row] for row in refused}
        fast = [index for index in fast if index not in gone]
        fast_set -= gone


def covers_contract(checker: CompiledChecker) -> bool:
    """Whether ``checker`` judges every rule of the transaction contract, critically (then an item it accepts
    is one the pydantic contract accepts)."""
    return _covers(checker)


@lru_cache(maxsize=8)
def _covers(checker: CompiledChecker) -> bool:
    critical = {rule.name for rule in checker.rules if rule.severity == CRITICAL}
    return {rule.name for rule in load_checker().rules} <= critical


def _validated(item: Any, index: int, errors: dict[int, list[dict[str, Any]]]) -> ScoreRequest | None:
    try:
        return ScoreRequest.model_validate(item)
    except ValidationError as error:
        errors[index] = validation_errors(error.errors())
        return None


def _is_date(text: str) -> bool:
    try:
        pd.Timestamp(text)
    except ValueError:
        return False
    return True


def _plain_items(items: list[Any]) -> list[int]:
    """The positions of the items whose shape the columns read: the keys, a finite number for the amount, an ISO
    8601 text for the timestamp (the text fields' types are screened by :func:`_read_columns`)."""
    out = []
    for index, item in enumerate(items):
        if type(item) is not dict or not (_REQUIRED <= item.keys() <= _COLUMN_KEYS):
            continue
        amount = item["amount"]
        stamp = item["timestamp"]
        if not ((type(amount) is float and math.isfinite(amount)) or type(amount) is int):
            continue
        if type(stamp) is str and _ISO_TIMESTAMP.fullmatch(stamp) is not None:
            out.append(index)
    return out


def _read_columns(items: list[Any], positions: list[int]) -> pd.DataFrame:
    """The contract frame of the items at ``positions`` whose text fields all hold text, indexed by position
    (the others, and those whose timestamp is no date, such as 2026-02-30, go one by one).

    Each text column is handed to Arrow as it is, which refuses a value that is not text: only a column that
    holds such a value (rare) is screened item by item."""
    chosen = [items[i] for i in positions]
    columns: dict[str, Any] = {}
    dropped: set[int] = set()
    for name in _TEXT:
        default = _DEFAULTS.get(name)
        values = [item[name] for item in chosen] if default is None else [item.get(name, default) for item in chosen]
        array = _text_array(values)
        if array is None:
            dropped.update(k for k, value in enumerate(values) if type(value) is not str)
        columns[name] = array
    stamps = [item["timestamp"] for item in chosen]
    try:
        times = pd.to_datetime(stamps, format="ISO8601", utc=True).as_unit("us")
    except ValueError:
        dropped.update(k for k, stamp in enumerate(stamps) if not _is_date(stamp))
        times = None
    if dropped:
        kept = [positions[k] for k in range(len(positions)) if k not in dropped]
        return _read_columns(items, kept)
    frame: dict[str, Any] = {}
    for name in TRANSACTION_COLUMNS:
        if name == "timestamp":
            frame[name] = times
        elif name == "amount":
            frame[name] = np.asarray([item["amount"] for item in chosen], dtype=np.float64)
        else:
            frame[name] = pd.array(columns[name], dtype="str")
    return pd.DataFrame(frame, index=positions)


def _text_array(values: list[Any]) -> pa.Array | None:
    """``values`` as an Arrow text array, or None when one of them is not text (a number, null, a list...)."""
    try:
        array = pa.array(values, type=pa.large_string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None
    return array if array.null_count == 0 else None


def _frame(
    read: pd.DataFrame, slow: dict[int, ScoreRequest], tokenizer: CardTokenizer, displays: dict[str, str] | None
) -> tuple[pd.DataFrame, list[int]]:
    """The contract frame of the column-read items and the validated ones, in request order."""
    parts: list[pd.DataFrame] = []
    if len(read):
        parts.append(read)
    if slow:
        order = sorted(slow)
        parts.append(requests_frame([slow[i] for i in order], tokenizer, displays).set_axis(order))
    if not parts:
        return pd.DataFrame(), []
    frame = parts[0] if len(parts) == 1 else pd.concat(parts).sort_index()
    positions = frame.index.tolist()
    return frame.reset_index(drop=True), positions
