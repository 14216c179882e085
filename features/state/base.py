"""What a state store is: the per-entity event buffers of every entity kind, plus label routes.

The online engine works in batches: :meth:`StateStore.begin` hands it the arenas holding the requested
entities, the engine's kernels read and update them in place, and :meth:`StateStore.commit` makes the
changes durable (a no-op for the embedded store; one atomic write for Redis). Label routes remember, for
each recent transaction, which entities hold its event, so that a label that arrives days later (carrying
only the transaction id) can reach them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from features.state.arena import Arena


@dataclass(frozen=True)
class Route:
    """Where a transaction's event lives: its event id and, per label-consuming entity kind, the entity key."""

    event_id: int
    ts_us: int
    keys: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RouteBatch:
    """The routes of a batch of transactions, column by column (``keys[kind][k]`` for transaction k)."""

    transaction_ids: list[str]
    event_ids: list[int]
    ts_us: list[int]
    keys: dict[str, list[str]]

    def __len__(self) -> int:
        return len(self.transaction_ids)


@dataclass
class StateBatch:
    """Arenas opened for one batch: ``slots[kind][k]`` is the slot of the k-th requested key of ``kind``."""

    arenas: dict[str, Arena]
    slots: dict[str, NDArray[np.int64]]
    routes: RouteBatch | None = None
    handle: object = None


class StateStore(ABC):
    """The contract every state store meets (see tests/features/test_state_stores.py)."""

    #: How long label routes are kept, in event time (set by the engine: its longest labelled window + lag).
    route_horizon_us: int | None = None

    @abstractmethod
    def begin(self, requests: Mapping[str, Sequence[str]]) -> StateBatch:
        """Open the state of the requested entity keys, per kind (unknown keys start empty)."""

    @abstractmethod
    def commit(self, batch: StateBatch) -> None:
        """Make the batch's changes and its new routes durable; raises StateConflictError to ask for a retry."""

    def abort(self, batch: StateBatch) -> None:  # noqa: B027 - stores without a transaction need nothing
        """Give up a batch without writing it."""

    @abstractmethod
    def routes(self, transaction_ids: Sequence[str]) -> list[Route | None]:
        """The routes of these transactions (None for unknown or expired ones)."""

    @abstractmethod
    def entity_count(self, kind: str) -> int:
        """How many entities of ``kind`` hold state (for monitoring and tests)."""

    # -- units: the state of several batches made durable together with the stream positions it reached --------
    @abstractmethod
    def begin_unit(self, watch_positions: Sequence[str] = ()) -> None:
        """Hold the writes of the batches that follow back until :meth:`commit_unit` (or :meth:`abort_unit`).

        A stream worker computes a micro-batch's features, commits its outputs to Kafka, and only then makes the
        state durable with the input positions it reached, so that state and outputs follow one commit boundary.
        ``watch_positions`` names positions that another worker must not change meanwhile (a replay of a batch
        that two workers could both find unapplied): if one does, :meth:`commit_unit` raises
        :class:`~features.errors.StateConflictError`.
        """

    @abstractmethod
    def commit_unit(self, positions: Mapping[str, int]) -> None:
        """Make the unit's state and ``positions`` (name -> stream position) durable together.

        Raises :class:`~features.errors.StateConflictError` when another worker changed state this unit read
        (shared stores): nothing of the unit is written, and its batches must be computed again.
        """

    @abstractmethod
    def abort_unit(self) -> bool:
        """Drop the unit's writes; False when they were already applied in place and cannot be undone (the
        embedded store): the caller must then rebuild the state (restore a snapshot and replay)."""

    @abstractmethod
    def positions(self) -> dict[str, int]:
        """The stream positions recorded with the state by :meth:`commit_unit` (empty when none)."""
