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
    """The terminals strictly within ``radius`` of each customer, as (indptr, terminal ids) in CSR form.

    Customers are taken in blocks of neighbouring x, and each block is compared only with the terminals whose
    x lies within the radius of the block's range: a fraction of the full customer-terminal distance matrix.
    """
    n_customers = customer_xy.shape[0]
    by_x = np.argsort(terminal_xy[:, 0], kind="stable")
    terminal_x = terminal_xy[by_x, 0]
    customers_by_x = np.argsort(customer_xy[:, 0], kind="stable")
    limit = radius * radius
    owners: list[npt.NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)]
    columns: list[npt.NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)]
    for start in range(0, n_customers, _DISTANCE_BLOCK):
        block = customers_by_x[start : start + _DISTANCE_BLOCK]
        xy = customer_xy[block]
        lo = np.searchsorted(terminal_x, xy[:, 0].min() - radius, side="left")
        hi = np.searchsorted(terminal_x, xy[:, 0].max() + radius, side="right")
        candidates = by_x[lo:hi]
        dx = xy[:, 0:1] - terminal_xy[None, candidates, 0]
        dy = xy[:, 1:2] - terminal_xy[None, candidates, 1]
        rows, cols = np.nonzero(dx * dx + dy * dy < limit)
        owners.append(block[rows].astype(np.int64))
        columns.append(candidates[cols].astype(np.int64))
    owner, terminal = np.concatenate(owners), np.concatenate(columns)
    order = np.lexsort((terminal, owner))  # by customer, then terminal id
    indptr = np.zeros(n_customers + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n_customers), out=indptr[1:])
    return indptr, terminal[order].astype(np.int32)
