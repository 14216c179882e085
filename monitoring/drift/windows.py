"""Count-based windows over a stream of binned rows, in bounded memory.

A window of ``size`` rows is evaluated every ``step`` rows: ``step == size`` is a tumbling window (disjoint
windows), ``step < size`` a sliding one (overlapping windows). The stream is cut into blocks of ``step`` rows
and each block is kept only as its bin counts; a window is the sum of its last ``size / step`` blocks. Memory
is ``size / step`` count vectors whatever the stream's length.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from monitoring.errors import MonitorConfigError

#: Names of unseen categories kept per block (the rest are only counted).
MAX_UNSEEN_NAMES: Final = 20


@dataclass(frozen=True)
class WindowSpec:
    """``size`` rows evaluated every ``step`` rows (``step`` divides ``size``)."""

    size: int
    step: int

    def __post_init__(self) -> None:
        if self.size < 1 or self.step < 1 or self.step > self.size or self.size % self.step:
            raise MonitorConfigError(
                f"a window needs 1 <= step <= size with step dividing size; got size={self.size}, step={self.step}"
            )

    @classmethod
    def tumbling(cls, size: int) -> WindowSpec:
        return cls(size, size)

    @classmethod
    def sliding(cls, size: int, step: int) -> WindowSpec:
        return cls(size, step)

    @classmethod
    def parse(cls, text: str) -> WindowSpec:
        """``tumbling-5000`` or ``sliding-20000/5000`` (the form :attr:`name` gives)."""
        kind, _, sizes = text.strip().partition("-")
        try:
            if kind == "tumbling":
                return cls.tumbling(int(sizes))
            if kind == "sliding":
                size, step = sizes.split("/")
                return cls.sliding(int(size), int(step))
        except ValueError:
            pass
        raise MonitorConfigError(f"cannot read window {text!r}; write tumbling-5000 or sliding-20000/5000")

    @property
    def name(self) -> str:
        return f"tumbling-{self.size}" if self.step == self.size else f"sliding-{self.size}/{self.step}"


@dataclass
class Block:
    """``step`` consecutive rows as counts per bin, with their time span and the unseen categories met."""

    counts: npt.NDArray[np.int64]
    rows: int = 0
    first_time: pd.Timestamp | None = None
    last_time: pd.Timestamp | None = None
    unseen: dict[str, Counter[str]] = field(default_factory=dict)

    def add(
        self,
        counts: npt.NDArray[np.int64],
        rows: int,
        times: tuple[pd.Timestamp, pd.Timestamp] | None,
        unseen: dict[str, Counter[str]],
    ) -> None:
        self.counts += counts
        self.rows += rows
        if times is not None:
            self.first_time = times[0] if self.first_time is None else min(self.first_time, times[0])
            self.last_time = times[1] if self.last_time is None else max(self.last_time, times[1])
        for column, names in unseen.items():
            kept = self.unseen.setdefault(column, Counter())
            for name, count in names.items():
                if name in kept or len(kept) < MAX_UNSEEN_NAMES:
                    kept[name] += count


@dataclass(frozen=True)
class ClosedWindow:
    """A full window: summed counts, its rows' positions in the stream and their time span."""

    spec: WindowSpec
    counts: npt.NDArray[np.int64]
    start_row: int
    end_row: int
    first_time: pd.Timestamp | None
    last_time: pd.Timestamp | None
    unseen: dict[str, Counter[str]]


class WindowAccumulator:
    """The blocks of one window spec; :meth:`add` returns the windows that closed."""

    def __init__(self, spec: WindowSpec, bins: int) -> None:
        self.spec = spec
        self._bins = bins
        self._blocks: deque[Block] = deque(maxlen=spec.size // spec.step)
        self._current = Block(np.zeros(bins, dtype=np.int64))
        self._rows = 0

    @property
    def rows(self) -> int:
        """Rows seen by this accumulator."""
        return self._rows

    def room(self) -> int:
        """Rows the current block still takes."""
        return self.spec.step - self._current.rows

    def add(
        self,
        counts: npt.NDArray[np.int64],
        rows: int,
        times: tuple[pd.Timestamp, pd.Timestamp] | None,
        unseen: dict[str, Counter[str]],
    ) -> ClosedWindow | None:
        """Add ``rows`` rows (at most :meth:`room`) given as counts; the window that closed, if one did."""
        if rows > self.room():
            raise MonitorConfigError(f"{rows} rows do not fit the {self.room()} left in the block")
        self._current.add(counts, rows, times, unseen)
        self._rows += rows
        if self._current.rows < self.spec.step:
            return None
        self._blocks.append(self._current)
        self._current = Block(np.zeros(self._bins, dtype=np.int64))
        if len(self._blocks) < (self._blocks.maxlen or 1):
            return None
        blocks = list(self._blocks)
        merged: dict[str, Counter[str]] = {}
        for block in blocks:
            for column, names in block.unseen.items():
                merged.setdefault(column, Counter()).update(names)
        firsts = [b.first_time for b in blocks if b.first_time is not None]
        lasts = [b.last_time for b in blocks if b.last_time is not None]
        return ClosedWindow(
            spec=self.spec,
            counts=np.sum([b.counts for b in blocks], axis=0),
            start_row=self._rows - self.spec.size,
            end_row=self._rows,
            first_time=min(firsts) if firsts else None,
            last_time=max(lasts) if lasts else None,
            unseen=merged,
        )
