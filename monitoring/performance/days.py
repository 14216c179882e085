"""The scored transactions of one day, kept until the day's labels are final: what its metrics need, no more.

Per transaction 25 bytes: a 64-bit hash of its id (to find it when its label comes), a 64-bit hash of its
card (card precision ranks cards), its score, and its label so far (int8: -1 unknown, 0 genuine, 1 fraud).
The rows are kept sorted by id hash, so a label is found by binary search with no index beside them; rows
added since the day was last read wait in chunks and are merged in (one stable sort of two sorted runs, linear)
when labels, figures or a snapshot next need the day. Row order does not enter any metric: the realised ones
rank by score and count whole runs of tied scores at once, card precision groups by card.

Transaction ids and cards are hashed as text (``pandas.util.hash_pandas_object``, SipHash with pandas' fixed
key), so an id given as a number in one frame and as text in another is the same transaction.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from monitoring.errors import MonitorInputError

NS_PER_DAY: Final = 86_400 * 10**9
UNKNOWN: Final = -1

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def hashed(values: pd.Series) -> U64:
    """The 64-bit hash of each value's text (ids and cards)."""
    text = values.astype(str)
    return np.asarray(pd.util.hash_pandas_object(text, index=False, categorize=False), dtype=np.uint64)


def epoch_ns(times: pd.Series, what: str) -> I64:
    """Nanoseconds since 1970-01-01 UTC of each time (naive times are taken as UTC)."""
    if not (pd.api.types.is_datetime64_any_dtype(times.dtype)):
        times = pd.to_datetime(times, utc=True)
    ns = times.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if (ns == np.iinfo(np.int64).min).any():
        raise MonitorInputError(f"the {what} has rows without a time; every row needs one")
    return ns


def day_text(day: int) -> str:
    """The ISO date of a day number (days since 1970-01-01)."""
    return str(np.datetime64(day, "D"))


def day_number(text: str) -> int:
    """The day number of an ISO date."""
    return int(np.datetime64(text, "D").astype(np.int64))


class DayRows:
    """One day's scored transactions: ids, cards and scores added in chunks, labels applied by id."""

    __slots__ = ("_chunks", "cards", "ids", "labels", "scores", "unlabelled")

    def __init__(
        self,
        ids: U64 | None = None,
        cards: U64 | None = None,
        scores: F64 | None = None,
        labels: npt.NDArray[np.int8] | None = None,
    ) -> None:
        """Empty, or rebuilt from arrays already sorted by id (a snapshot)."""
        self.ids: U64 = np.zeros(0, np.uint64) if ids is None else ids
        self.cards: U64 = np.zeros(0, np.uint64) if cards is None else cards
        self.scores: F64 = np.zeros(0, np.float64) if scores is None else scores
        self.labels: npt.NDArray[np.int8] = np.zeros(0, np.int8) if labels is None else labels
        self.unlabelled = int((self.labels == UNKNOWN).sum())
        self._chunks: list[tuple[U64, U64, F64]] = []

    @property
    def size(self) -> int:
        return int(self.ids.size) + sum(chunk[0].size for chunk in self._chunks)

    @property
    def nbytes(self) -> int:
        held = self.ids.nbytes + self.cards.nbytes + self.scores.nbytes + self.labels.nbytes
        return int(held + sum(a.nbytes for chunk in self._chunks for a in chunk))

    def append(self, ids: U64, cards: U64, scores: F64) -> None:
        self._chunks.append((ids, cards, scores))
        self.unlabelled += int(ids.size)

    def merged(self) -> DayRows:
        """The day with its pending chunks merged in, sorted by id hash."""
        if not self._chunks:
            return self
        ids = np.concatenate([c[0] for c in self._chunks])
        order = np.argsort(ids, kind="stable")
        new_ids = ids[order]
        new_cards = np.concatenate([c[1] for c in self._chunks])[order]
        new_scores = np.concatenate([c[2] for c in self._chunks])[order]
        self._chunks = []
        if self.ids.size == 0:
            self.ids, self.cards, self.scores = new_ids, new_cards, new_scores
            self.labels = np.full(new_ids.size, UNKNOWN, dtype=np.int8)
            return self
        # Two sorted runs: the stable sort merges them in linear time, the day's rows before the new ones.
        merge = np.argsort(np.concatenate([self.ids, new_ids]), kind="stable")
        self.ids = np.concatenate([self.ids, new_ids])[merge]
        self.cards = np.concatenate([self.cards, new_cards])[merge]
        self.scores = np.concatenate([self.scores, new_scores])[merge]
        self.labels = np.concatenate([self.labels, np.full(new_ids.size, UNKNOWN, dtype=np.int8)])[merge]
        return self

    def label(self, ids: U64, frauds: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Set the labels of the ids found here (the first row of an id scored twice); which ids were found."""
        self.merged()
        if self.ids.size == 0:
            return np.zeros(ids.size, dtype=bool)
        where = np.searchsorted(self.ids, ids).clip(max=self.ids.size - 1)
        hit: npt.NDArray[np.bool_] = self.ids[where] == ids
        rows = where[hit]
        touched = np.unique(rows)
        unknown_before = int((self.labels[touched] == UNKNOWN).sum())
        # A fraud label is final: a "genuine" message for the same transaction, earlier or later, does not
        # undo it (maximum.at also applies every message when one batch names a transaction twice).
        np.maximum.at(self.labels, rows, frauds[hit].astype(np.int8))
        self.unlabelled -= unknown_before - int((self.labels[touched] == UNKNOWN).sum())
        return hit
