"""Canary guardrails: the canary is rolled back automatically when it fails too often, answers too slowly, or
scores the same transactions too differently from the champion.

Each batch the canary answers for is also scored by the champion (the scorer keeps both), so the score
guardrail compares the two models on identical transactions: the Kolmogorov-Smirnov distance between their
score distributions over a sliding window (scipy's two-sample test). Latency is the canary's scoring call,
against an absolute budget (what the payment path can afford). No guardrail judges before ``min_rows``
transactions: a handful of rows proves nothing either way.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from scoring_api.deployments.snapshot import CanaryObservation

#: Rows between two evaluations of the distribution guardrail (a KS test over the window costs a sort); the
#: error rate and the latency are judged on every batch.
_EVALUATE_EVERY: Final = 50


@dataclass(frozen=True)
class Guardrails:
    """The limits a canary must stay within."""

    min_rows: int = 200
    max_error_rate: float = 0.01
    max_p99_ms: float = 50.0
    max_score_shift: float = 0.3
    window_rows: int = 5_000


@dataclass(frozen=True)
class Breach:
    """A guardrail the canary broke: which, by how much, after how many rows."""

    guardrail: str
    value: float
    limit: float
    rows: int

    def describe(self) -> str:
        return f"guardrail {self.guardrail} broken: {self.value:.4g} > {self.limit:.4g} after {self.rows} rows"


class CanaryWatch:
    """One canary's record since it started serving."""

    def __init__(self, content_id: str, guardrails: Guardrails) -> None:
        self.content_id = content_id
        self.guardrails = guardrails
        self.rows = 0
        self.failed_rows = 0
        self.calls = 0
        self._latencies_ms: deque[float] = deque(maxlen=1_000)
        self._canary = np.zeros(guardrails.window_rows, dtype=np.float32)
        self._champion = np.zeros(guardrails.window_rows, dtype=np.float32)
        self._filled = 0
        self._next = 0
        self._since_evaluation = 0
        self.score_shift: float | None = None
        self._lock = threading.Lock()

    def add(self, observation: CanaryObservation) -> Breach | None:
        """Record one batch; the first guardrail it breaks, if any."""
        with self._lock:
            self.rows += observation.rows
            self.calls += 1
            self._latencies_ms.append(1000.0 * observation.seconds)
            if observation.error is not None:
                self.failed_rows += observation.rows
            else:
                self._keep(observation.canary_scores, observation.champion_scores)
            self._since_evaluation += observation.rows
            if self.rows < self.guardrails.min_rows:
                return None
            shift = self._since_evaluation >= _EVALUATE_EVERY
            if shift:
                self._since_evaluation = 0
            return self._evaluate(shift)

    def _keep(self, canary: np.ndarray[Any, Any], champion: np.ndarray[Any, Any]) -> None:
        size = self._canary.shape[0]
        for start in range(0, len(canary), size):
            part_canary, part_champion = canary[start : start + size], champion[start : start + size]
            idx = (self._next + np.arange(len(part_canary))) % size
            self._canary[idx] = part_canary
            self._champion[idx] = part_champion
            self._next = int((self._next + len(part_canary)) % size)
            self._filled = min(size, self._filled + len(part_canary))

    @property
    def error_rate(self) -> float:
        return self.failed_rows / self.rows if self.rows else 0.0

    @property
    def p99_ms(self) -> float:
        return (
            float(np.percentile(np.fromiter(self._latencies_ms, dtype=np.float64), 99)) if self._latencies_ms else 0.0
        )

    def _evaluate(self, shift: bool) -> Breach | None:
        limits = self.guardrails
        if self.error_rate > limits.max_error_rate:
            return Breach("error_rate", self.error_rate, limits.max_error_rate, self.rows)
        if len(self._latencies_ms) >= 20 and self.p99_ms > limits.max_p99_ms:
            return Breach("p99_latency_ms", self.p99_ms, limits.max_p99_ms, self.rows)
        if shift and self._filled >= limits.min_rows:
            from scipy.stats import ks_2samp

            n = self._filled
            self.score_shift = float(ks_2samp(self._canary[:n], self._champion[:n]).statistic)
            if self.score_shift > limits.max_score_shift:
                return Breach("score_shift", self.score_shift, limits.max_score_shift, self.rows)
        return None

    def summary(self) -> dict[str, Any]:
        """The figures the guardrails read, for the deployments route."""
        with self._lock:
            return {
                "rows": self.rows,
                "failed_rows": self.failed_rows,
                "error_rate": self.error_rate,
                "p99_ms": self.p99_ms,
                "score_shift": self.score_shift,
            }
