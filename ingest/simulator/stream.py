"""Replaying a simulated stream at a target rate (transactions per second), for load and demos."""

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

    @property
    def rate(self) -> float:
        """Achieved rows per second."""
        return self.sent / self.seconds if self.seconds > 0 else float("inf")


def send_at_rate(
    frame: pd.DataFrame,
    send_frame: Callable[[pd.DataFrame], int],
    rate: float | None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamReport:
    """Send ``frame`` in order through ``send_frame`` (for example a Kafka producer's), at ``rate`` rows per
    second on average, or as fast as it goes when ``rate`` is None. Each chunk leaves at its scheduled time,
    so a slow chunk is caught up by the next ones rather than lowering the rate."""
    if rate is not None and not rate > 0:
        raise SimulatorError(f"the rate must be positive (transactions per second), got {rate!r}")
    chunk = UNTHROTTLED_CHUNK if rate is None else max(1, int(rate * TICK_S))
    began = clock()
    sent = 0
    for start in range(0, len(frame), chunk):
        if rate is not None:
            delay = began + start / rate - clock()
            if delay > 0:
                sleep(delay)
        sent += send_frame(frame.iloc[start : start + chunk])
    return StreamReport(sent=sent, seconds=clock() - began)
