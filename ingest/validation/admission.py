"""Admitting a batch of transactions into a computation: every row meets the contract, and no column, the
contract's or any other, holds a card number.

A command that computes from transactions (``fraud features build``) must not work from rows that
``fraud validate`` rejects (negative amounts, duplicate ids, a card number typed into an id), nor copy a card
number from a source's own columns into what it writes: it calls :func:`admit_batch` first, which runs the
same suite, compiled, so that the two can never disagree.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import pandas as pd

from ingest.validation.batches import refuse_card_numbers_in_names
from ingest.validation.checker import CompiledChecker
from ingest.validation.errors import InvalidBatchError
from ingest.validation.suite import ExtraColumn, build_suite, extra_columns


def admit_batch(frame: pd.DataFrame, *, source: str) -> None:
    """Raise :class:`InvalidBatchError`, naming the broken expectations and how many rows break each, unless
    ``frame`` has rows and every one of them meets the contract."""
    if frame.empty:
        raise InvalidBatchError(f"{source} holds no transactions; give a batch with at least one row")
    refuse_card_numbers_in_names(frame, source)
    verdict = _checker(extra_columns(frame)).check(frame)
    if verdict.ok_mask.all():
        return
    counts = Counter(name for reason in verdict.reasons() for name in reason.split("; "))
    broken = ", ".join(f"{name}: {count}" for name, count in counts.most_common())
    raise InvalidBatchError(
        f"{int((~verdict.ok_mask).sum())} of {len(frame)} rows of {source} break the transaction contract "
        f"({broken}); `fraud validate` lists them with their reasons: fix or drop them first"
    )


@lru_cache(maxsize=8)
def _checker(extras: tuple[ExtraColumn, ...]) -> CompiledChecker:
    return CompiledChecker.from_suite(build_suite(extra_columns=extras))
