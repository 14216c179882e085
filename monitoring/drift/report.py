"""What a drift window says: per column its test, p-value (raw and adjusted for the false discovery rate),
distances and PSI band, and whether it drifted (significant at the window's level, with a PSI of at least its
``min_psi``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ColumnDrift:
    """One column in one window."""

    column: str
    group: str
    test: str
    statistic: float
    p_value: float
    adjusted_p_value: float
    js_distance: float
    linf: float
    psi: float
    psi_band: str
    drifted: bool
    #: The bin whose share moved most, its reference and window shares.
    moved_bin: str
    reference_share: float
    window_share: float
    #: Values the reference never had, with their counts in the window (categorical columns only).
    unseen: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["unseen"] = [list(item) for item in self.unseen]
        return out


@dataclass(frozen=True)
class WindowReport:
    """One evaluated window of one spec."""

    window: str
    start_row: int
    end_row: int
    start_time: str | None
    end_time: str | None
    rows: int
    level: float
    #: The PSI a significant change must reach to count as drift (the effect-size floor).
    min_psi: float
    columns: tuple[ColumnDrift, ...]

    @property
    def drifted(self) -> tuple[ColumnDrift, ...]:
        """The columns that drifted, the largest Jensen-Shannon distance first."""
        return tuple(sorted((c for c in self.columns if c.drifted), key=lambda c: -c.js_distance))

    @property
    def drift_detected(self) -> bool:
        return any(c.drifted for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "start_row": self.start_row,
            "end_row": self.end_row,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "rows": self.rows,
            "level": self.level,
            "min_psi": self.min_psi,
            "columns": [c.to_dict() for c in self.columns],
        }
