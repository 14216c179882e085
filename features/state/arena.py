"""Per-entity event buffers of one entity kind, laid out for the kernels.

Row ``s`` of each array holds the events of the entity in slot ``s``, oldest first, in columns
``[0, count[s])``. An event is 32 bytes: time (int64 us), amount (float64), label time (int64 us, or
``NEVER``) and event id (int64 hash of the transaction id). Events older than the entity's horizon (its
longest window plus lag) are evicted before each insert, so an entity holds at most the events of one horizon:
for the default feature set, 30 days of a card's transactions and 37 days of a terminal's, and a single event
per card-terminal or card-country pair. The arena's width is the largest such count seen, rounded up to a
power of two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from features.kernels import NEVER

#: Bytes held per event in the arena and in serialised state.
EVENT_BYTES = 32


@dataclass
class Arena:
    """Event buffers ``[slots, capacity]`` with a per-slot event count."""

    ts: NDArray[np.int64]
    amount: NDArray[np.float64]
    label_time: NDArray[np.int64]
    event_id: NDArray[np.int64]
    count: NDArray[np.int64]

    @classmethod
    def empty(cls, slots: int, capacity: int) -> Arena:
        """An arena of ``slots`` empty entities, each with room for ``capacity`` events (at least 1 each)."""
        slots, capacity = max(slots, 1), max(capacity, 1)
        return cls(
            ts=np.zeros((slots, capacity), dtype=np.int64),
            amount=np.zeros((slots, capacity), dtype=np.float64),
            label_time=np.full((slots, capacity), NEVER, dtype=np.int64),
            event_id=np.zeros((slots, capacity), dtype=np.int64),
            count=np.zeros(slots, dtype=np.int64),
        )

    @property
    def slots(self) -> int:
        """How many entities the arena has room for."""
        return int(self.ts.shape[0])

    @property
    def capacity(self) -> int:
        """How many events each entity has room for before :meth:`widen`."""
        return int(self.ts.shape[1])

    @property
    def events(self) -> int:
        """How many events the arena holds, all entities together."""
        return int(self.count.sum())

    def _resized(self, slots: int, capacity: int) -> None:
        fresh = Arena.empty(slots, capacity)
        rows, cols = min(slots, self.slots), min(capacity, self.capacity)
        fresh.ts[:rows, :cols] = self.ts[:rows, :cols]
        fresh.amount[:rows, :cols] = self.amount[:rows, :cols]
        fresh.label_time[:rows, :cols] = self.label_time[:rows, :cols]
        fresh.event_id[:rows, :cols] = self.event_id[:rows, :cols]
        fresh.count[:rows] = self.count[:rows]
        self.ts, self.amount, self.label_time = fresh.ts, fresh.amount, fresh.label_time
        self.event_id, self.count = fresh.event_id, fresh.count

    def ensure_slots(self, slots: int) -> None:
        """Make room for at least ``slots`` entities (doubling, so that growth is amortised)."""
        if slots > self.slots:
            self._resized(max(slots, 2 * self.slots), self.capacity)

    def widen(self) -> None:
        """Double the number of events each entity can hold (an entity's live events filled its row)."""
        self._resized(self.slots, 2 * self.capacity)

    def clear_slot(self, slot: int) -> None:
        """Empty a slot so that another entity can reuse it."""
        self.count[slot] = 0
        self.label_time[slot, :] = NEVER

    def pack(self, slot: int) -> bytes:
        """The slot's events as bytes: count, then the four columns, little-endian."""
        n = int(self.count[slot])
        return b"".join(
            (
                np.int64(n).tobytes(),
                self.ts[slot, :n].astype("<i8").tobytes(),
                self.amount[slot, :n].astype("<f8").tobytes(),
                self.label_time[slot, :n].astype("<i8").tobytes(),
                self.event_id[slot, :n].astype("<i8").tobytes(),
            )
        )

    def unpack(self, slot: int, blob: bytes) -> None:
        """Load a slot from :meth:`pack` output, widening the arena when the blob holds more events."""
        n = int(np.frombuffer(blob, dtype="<i8", count=1)[0])
        if len(blob) != 8 + n * EVENT_BYTES:
            raise ValueError(f"entity state of {len(blob)} bytes does not hold {n} events of {EVENT_BYTES} bytes")
        while n > self.capacity:
            self.widen()
        body = np.frombuffer(blob, dtype="<i8", offset=8).reshape(4, n)
        self.ts[slot, :n] = body[0]
        self.amount[slot, :n] = body[1].view("<f8")
        self.label_time[slot, :n] = body[2]
        self.event_id[slot, :n] = body[3]
        self.count[slot] = n
