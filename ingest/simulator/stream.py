"""Replaying a simulated stream at a target rate (transactions per second), for load and demos, with its labels
interleaved as they would arrive: each label goes out before the first transaction at or after its report time,
so a consumer that reads both topics has every label before the stream passes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ingest.simulator.errors import SimulatorError

#: Rows sent per call when no rate is set.
UNTHROTTLED_CHUNK = 10_000
#: A paced stream sends one chunk per tick: small enough to look steady, large enough to batch well.
TICK_S = 0.05


@dataclass(frozen=True)
class StreamReport:
    """How many rows went out, and how fast."""

    sent: int
    seconds: float
    labels_sent: int = 0

    @property
    def rate(self) -> float:
        """Achieved rows per second."""
        return self.sent / self.seconds if self.seconds > 0 else float("inf")


def send_at_rate(
    frame: pd.DataFrame,
    send_frame: Callable[[pd.DataFrame], int],
    rate: float | None,
    *,
    labels: pd.DataFrame | None = None,
    send_labels: Callable[[pd.DataFrame], int] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamReport:
    """Send ``frame`` in order through ``send_frame`` (for example a Kafka producer's), at ``rate`` rows per
    second on average, or as fast as it goes when ``rate`` is None. Each chunk leaves at its scheduled time,
    so a slow chunk is caught up by the next ones rather than lowering the rate.

    With ``labels`` (ordered by ``reported_at``) and ``send_labels``, the labels reported up to a chunk's last
    transaction go out just before that chunk, and those reported after the last transaction at the end."""
    if rate is not None and not rate > 0:
        raise SimulatorError(f"the rate must be positive (transactions per second), got {rate!r}")
    if (labels is None) != (send_labels is None):
        raise SimulatorError("labels and send_labels go together: give both or neither")
    chunk = UNTHROTTLED_CHUNK if rate is None else max(1, int(rate * TICK_S))
    reported = None if labels is None else labels["reported_at"].to_numpy()
    stamps = None if labels is None else frame["timestamp"].to_numpy()
    began = clock()
    sent = labels_sent = 0
    for start in range(0, len(frame), chunk):
        if rate is not None:
            delay = began + start / rate - clock()
            if delay > 0:
                sleep(delay)
        if labels is not None and send_labels is not None and reported is not None and stamps is not None:
            last = stamps[min(start + chunk, len(frame)) - 1]
            due = int(reported.searchsorted(last, side="right"))
            if due > labels_sent:
                labels_sent += send_labels(labels.iloc[labels_sent:due])
        sent += send_frame(frame.iloc[start : start + chunk])
    if labels is not None and send_labels is not None and labels_sent < len(labels):
        labels_sent += send_labels(labels.iloc[labels_sent:])
    return StreamReport(sent=sent, seconds=clock() - began, labels_sent=labels_sent)
