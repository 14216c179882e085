"""The embedded store's label routes: recent transactions by id, kept in batches (no object per transaction).

Trimmed by event time: a route older than the longest labelled window plus its lag can no longer change any
feature, so a label that arrives for it would be ignored anyway.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from itertools import count

from features.state.base import Route, RouteBatch


class RouteLog:
    """Routes by transaction id; each id maps to (batch sequence, row)."""

    def __init__(self) -> None:
        self._index: dict[str, tuple[int, int]] = {}
        self._batches: deque[tuple[int, RouteBatch, int]] = deque()  # (sequence, batch, newest time)
        self._next = 0
        self._open: RouteBatch | None = None  # single routes gather here until they fill a batch
        self._by_seq: dict[int, RouteBatch] = {}

    def __len__(self) -> int:
        return len(self._index)

    def add_one(self, transaction_id: str, event_id: int, ts_us: int, keys: dict[str, str]) -> None:
        """Add one route (the single-transaction path), without building a batch for it."""
        if self._open is None:
            self._open = RouteBatch([], [], [], {kind: [] for kind in keys})
            self._batches.append((self._next, self._open, ts_us))
            self._by_seq[self._next] = self._open
            self._next += 1
        batch = self._open
        seq, row = self._batches[-1][0], len(batch.transaction_ids)
        batch.transaction_ids.append(transaction_id)
        batch.event_ids.append(event_id)
        batch.ts_us.append(ts_us)
        for kind, key in keys.items():
            batch.keys[kind].append(key)
        self._index[transaction_id] = (seq, row)
        if ts_us > self._batches[-1][2]:
            self._batches[-1] = (seq, batch, ts_us)
        if row + 1 >= 512:
            self._open = None

    def add(self, batch: RouteBatch) -> None:
        """Add the routes of a committed batch (kept as the batch itself, indexed by transaction id)."""
        if not batch.transaction_ids:
            return
        self._open = None
        seq = self._next
        self._next += 1
        rows = zip([seq] * len(batch.transaction_ids), count(), strict=False)
        self._index.update(zip(batch.transaction_ids, rows, strict=True))
        self._batches.append((seq, batch, max(batch.ts_us)))
        self._by_seq[seq] = batch

    def evict(self, before_us: int) -> None:
        """Forget the batches whose newest transaction is at or before ``before_us``."""
        while self._batches and self._batches[0][2] <= before_us and self._batches[0][1] is not self._open:
            seq, batch, _ = self._batches.popleft()
            del self._by_seq[seq]
            for tx_id in batch.transaction_ids:
                entry = self._index.get(tx_id)
                if entry is not None and entry[0] == seq:
                    del self._index[tx_id]

    def get(self, transaction_ids: Sequence[str]) -> list[Route | None]:
        """The routes of these transactions; None for unknown or evicted ones."""
        by_seq = self._by_seq
        out: list[Route | None] = []
        for tx_id in transaction_ids:
            entry = self._index.get(tx_id)
            if entry is None:
                out.append(None)
                continue
            batch, row = by_seq[entry[0]], entry[1]
            keys = tuple((kind, keys[row]) for kind, keys in batch.keys.items())
            out.append(Route(batch.event_ids[row], batch.ts_us[row], keys))
        return out

    def live(self) -> RouteBatch:
        """The routes still held, as one batch (for snapshots)."""
        out = RouteBatch([], [], [], {})
        for seq, batch, _ in self._batches:
            for row, tx_id in enumerate(batch.transaction_ids):
                if self._index.get(tx_id) == (seq, row):
                    out.transaction_ids.append(tx_id)
                    out.event_ids.append(batch.event_ids[row])
                    out.ts_us.append(batch.ts_us[row])
                    for kind, keys in batch.keys.items():
                        out.keys.setdefault(kind, []).append(keys[row])
        return out
