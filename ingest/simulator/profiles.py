"""Customer and terminal profiles of the handbook's generative process, drawn all at once with numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

GRID_SIZE = 100.0
MAX_DAILY_RATE = 4.0
MIN_MEAN_AMOUNT = 5.0
MAX_MEAN_AMOUNT = 100.0
#: Customers per block when computing customer-terminal distances: bounds memory at a few MB per block.
_DISTANCE_BLOCK = 256


@dataclass(frozen=True)
class Profiles:
    """Who spends what, where: one row per customer and per terminal.

    ``reach_indptr``/``reach_terminals`` hold, in compressed-row form, the terminals each customer uses (those
    strictly within the radius, in increasing id order): customer ``c`` uses
    ``reach_terminals[reach_indptr[c]:reach_indptr[c + 1]]``.
    """

    customer_xy: npt.NDArray[np.float64]
    mean_amount: npt.NDArray[np.float64]
    std_amount: npt.NDArray[np.float64]
    daily_rate: npt.NDArray[np.float64]
    terminal_xy: npt.NDArray[np.float64]
    reach_indptr: npt.NDArray[np.int64]
    reach_terminals: npt.NDArray[np.int32]

    @property
    def n_customers(self) -> int:
        return int(self.customer_xy.shape[0])

    @property
    def n_terminals(self) -> int:
        return int(self.terminal_xy.shape[0])

    @property
    def reach_size(self) -> npt.NDArray[np.int64]:
        """How many terminals each customer uses."""
        return np.diff(self.reach_indptr)


def draw_profiles(n_customers: int, n_terminals: int, radius: float, rng: np.random.Generator) -> Profiles:
    """Customers uniform on the grid with mean amount ~U(5, 100), sd = mean / 2 and daily rate ~U(0, 4);
    terminals uniform on the same grid."""
    customer_xy = rng.uniform(0.0, GRID_SIZE, size=(n_customers, 2))
    mean_amount = rng.uniform(MIN_MEAN_AMOUNT, MAX_MEAN_AMOUNT, size=n_customers)
    daily_rate = rng.uniform(0.0, MAX_DAILY_RATE, size=n_customers)
    terminal_xy = rng.uniform(0.0, GRID_SIZE, size=(n_terminals, 2))
    indptr, terminals = terminals_within(customer_xy, terminal_xy, radius)
    return Profiles(
        customer_xy=customer_xy,
        mean_amount=mean_amount,
        std_amount=mean_amount / 2.0,
        daily_rate=daily_rate,
        terminal_xy=terminal_xy,
        reach_indptr=indptr,
        reach_terminals=terminals,
    )


def terminals_within(
    customer_xy: npt.NDArray[np.float64], terminal_xy: npt.NDArray[np.float64], radius: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """The terminals strictly within ``radius`` of each customer, as (indptr, terminal ids) in CSR form."""
    counts: list[npt.NDArray[np.int64]] = []
    columns: list[npt.NDArray[np.int32]] = []
    limit = radius * radius
    for start in range(0, customer_xy.shape[0], _DISTANCE_BLOCK):
        block = customer_xy[start : start + _DISTANCE_BLOCK]
        dx = block[:, 0:1] - terminal_xy[None, :, 0]
        dy = block[:, 1:2] - terminal_xy[None, :, 1]
        near = dx * dx + dy * dy < limit
        counts.append(near.sum(axis=1, dtype=np.int64))
        columns.append(np.nonzero(near)[1].astype(np.int32))
    indptr = np.zeros(customer_xy.shape[0] + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=indptr[1:])
    terminals = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int32)
    return indptr, terminals
