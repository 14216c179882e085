"""The performance monitor's state on disk, so that a restarted worker or API resumes the open days.

What the monitor holds in memory is what a restart would lose: the transactions of the days whose labels are
not final (their hashed ids and cards, scores and labels so far), the stream and label clocks, and the recent
final figures. The history keeps every figure already recorded, but not the rows behind an open day, and labels
delivered after the restart could not find their transactions without them.

A snapshot is one NumPy ``.npz`` file (no pickled objects): the open days' rows as five arrays (day number, id
hash, card hash, score, label), and a JSON header with the clocks, the days already reported complete, the final
figures and a fingerprint of the reference profile, so that a snapshot is never resumed under another model.
It is written to a temporary file beside the target and moved over it, so a crash never leaves half a snapshot.
Ids and cards are stored hashed, as in memory: no card token or transaction id appears in clear.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from monitoring.errors import MonitorSnapshotError
from monitoring.performance.days import DayRows, day_number

if TYPE_CHECKING:
    from monitoring.performance.monitor import DailyPerformance, PerformanceMonitor

SNAPSHOT_FORMAT: Final = "fraud-performance-snapshot/1"
_ARRAYS: Final = ("day", "ids", "cards", "scores", "labels", "header")


def write_snapshot(monitor: PerformanceMonitor, path: Path) -> Path:
    """Write ``monitor``'s state to ``path`` (replacing an older snapshot there); the path written."""
    path = Path(path)
    days = sorted(monitor._days)
    parts = [monitor._days[day].merged() for day in days]
    header = {
        "format": SNAPSHOT_FORMAT,
        "profile": profile_fingerprint(monitor),
        "stream_ns": monitor._stream_ns,
        "label_ns": monitor._label_ns,
        "unmatched_labels": monitor.unmatched_labels,
        "closed_before": monitor._closed_before,
        "reported": sorted(day for day in days if day not in monitor._unreported),
        "final": [dataclasses.asdict(figures) for _, figures in sorted(monitor._final.items())],
    }
    arrays = {
        "day": np.repeat(np.asarray(days, dtype=np.int64), [rows.ids.size for rows in parts]),
        "ids": _joined([rows.ids for rows in parts], np.uint64),
        "cards": _joined([rows.cards for rows in parts], np.uint64),
        "scores": _joined([rows.scores for rows in parts], np.float64),
        "labels": _joined([rows.labels for rows in parts], np.int8),
        "header": np.asarray(json.dumps(header, allow_nan=False)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_snapshot(monitor: PerformanceMonitor, path: Path) -> None:
    """Resume ``monitor`` (freshly built with the same reference profile) from the snapshot at ``path``."""
    from monitoring.performance.monitor import DailyPerformance

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in _ARRAYS}
        header: dict[str, Any] = json.loads(str(arrays["header"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise MonitorSnapshotError(
            f"cannot read the performance snapshot {path.name} ({type(error).__name__}); move it aside to start "
            "afresh (the open days' figures then cover only what is scored from now on)"
        ) from None
    if header.get("format") != SNAPSHOT_FORMAT:
        raise MonitorSnapshotError(f"{path.name} is not a performance snapshot of format {SNAPSHOT_FORMAT}")
    if header.get("profile") != profile_fingerprint(monitor):
        raise MonitorSnapshotError(
            f"the performance snapshot {path.name} was saved for another model's reference profile; give each "
            "model its own snapshot file"
        )
    day_of_row = arrays["day"]
    bounds = np.flatnonzero(np.diff(day_of_row)) + 1
    starts, stops = np.concatenate([[0], bounds]), np.concatenate([bounds, [day_of_row.size]])
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        if start == stop:
            continue
        monitor._days[int(day_of_row[start])] = DayRows(
            arrays["ids"][start:stop].copy(),
            arrays["cards"][start:stop].copy(),
            arrays["scores"][start:stop].copy(),
            arrays["labels"][start:stop].copy(),
        )
    reported = set(header["reported"])
    monitor._unreported = {day for day in monitor._days if day not in reported}
    monitor._stream_ns = header["stream_ns"]
    monitor._label_ns = header["label_ns"]
    monitor.unmatched_labels = int(header["unmatched_labels"])
    monitor._closed_before = header["closed_before"]
    finals: list[DailyPerformance] = [DailyPerformance(**doc) for doc in header["final"]]
    monitor._final = {day_number(figures.day): figures for figures in finals}


def profile_fingerprint(monitor: PerformanceMonitor) -> str:
    """SHA-256 of the reference profile's stable JSON form."""
    return hashlib.sha256(monitor.profile.to_json().encode()).hexdigest()


def _joined(arrays: list[Any], dtype: type) -> Any:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)
