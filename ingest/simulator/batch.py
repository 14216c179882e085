"""Simulated transactions as parallel numpy arrays, the form every generation step works on.

Text attributes are held as small integer codes into fixed vocabularies (:mod:`ingest.simulator.vocabulary`);
code 0 of each vocabulary is the contract's default, so a batch of zeros is exactly the handbook's output.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Batch:
    """One array per column, all of the same length; ``seconds`` counts from the simulation start."""

    customer: npt.NDArray[np.int32]
    terminal: npt.NDArray[np.int32]
    seconds: npt.NDArray[np.int64]
    amount: npt.NDArray[np.float64]
    is_fraud: npt.NDArray[np.bool_]
    scenario: npt.NDArray[np.int8]
    channel: npt.NDArray[np.int8]
    entry_mode: npt.NDArray[np.int8]
    country: npt.NDArray[np.int8]
    currency: npt.NDArray[np.int8]
    mcc: npt.NDArray[np.int8]
    device: npt.NDArray[np.int32]  # index into the device vocabulary; 0 is "no device"

    def __len__(self) -> int:
        return int(self.seconds.shape[0])

    @classmethod
    def with_defaults(
        cls,
        customer: npt.NDArray[np.int32],
        terminal: npt.NDArray[np.int32],
        seconds: npt.NDArray[np.int64],
        amount: npt.NDArray[np.float64],
    ) -> Batch:
        """Genuine transactions with every optional attribute at the contract default."""
        n = seconds.shape[0]
        return cls(
            customer=customer,
            terminal=terminal,
            seconds=seconds,
            amount=amount,
            is_fraud=np.zeros(n, dtype=np.bool_),
            scenario=np.zeros(n, dtype=np.int8),
            channel=np.zeros(n, dtype=np.int8),
            entry_mode=np.zeros(n, dtype=np.int8),
            country=np.zeros(n, dtype=np.int8),
            currency=np.zeros(n, dtype=np.int8),
            mcc=np.zeros(n, dtype=np.int8),
            device=np.zeros(n, dtype=np.int32),
        )

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Batch:
        """The rows selected by ``index`` (positions or a mask), in that order."""
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Batch]) -> Batch:
        """The rows of all ``parts``, one after the other."""
        return Batch(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Batch)})

    def in_time_order(self) -> Batch:
        """Rows sorted by time; ties keep their current order, so the result is deterministic."""
        return self.take(np.argsort(self.seconds, kind="stable"))
