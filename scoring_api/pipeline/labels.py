"""Labels the scorer applies to the online features before a batch: those reported by the batch's time.

A live stream worker applies labels as they arrive (:meth:`Scorer.apply_labels
<scoring_api.pipeline.scorer.Scorer.apply_labels>`); a replay or a simulation, whose transactions carry past
times, hands the scorer a :class:`LabelSource` instead, and each batch first receives the labels reported up
to its latest transaction, inside the same lock as its features (so every transaction sees exactly the labels
known at its time, whichever worker scores it).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np
import pandas as pd

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LabelSource(Protocol):
    """Labels (``transaction_id``, ``is_fraud``, ``reported_at``) not handed out yet, reported up to a time."""

    def due(self, until: datetime) -> pd.DataFrame | None: ...


class LabelFeed:
    """A frame of labels handed out in order of report time (a replay's or a simulation's label source)."""

    def __init__(self, labels: pd.DataFrame) -> None:
        self._labels = labels.sort_values("reported_at", kind="mergesort").reset_index(drop=True)
        reported = self._labels["reported_at"]
        self._times = ((reported - _EPOCH) // pd.Timedelta(microseconds=1)).to_numpy(dtype=np.int64)
        self._next = 0
        self._lock = threading.Lock()

    def due(self, until: datetime) -> pd.DataFrame | None:
        """The labels reported at or before ``until`` (UTC) not handed out yet, or None."""
        cut = (until - _EPOCH) // timedelta(microseconds=1)
        with self._lock:
            if self._next >= len(self._times) or self._times[self._next] > cut:
                return None
            end = int(np.searchsorted(self._times, cut, side="right"))
            if end <= self._next:
                return None
            out = self._labels.iloc[self._next : end]
            self._next = end
            return out
