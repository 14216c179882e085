"""Genuine transactions: the handbook's daily process, vectorised over every customer and day at once."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ingest.simulator.batch import Batch
from ingest.simulator.profiles import Profiles

SECONDS_PER_DAY = 86_400
#: Time of day ~ N(noon, 20,000 s); draws outside the day are dropped (not redrawn), as in the handbook.
TIME_OF_DAY_MEAN = 43_200.0
TIME_OF_DAY_SD = 20_000.0


def to_cents(amount: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Amounts rounded to cents."""
    return np.asarray(np.round(amount, 2), dtype=np.float64)


def draw_genuine(profiles: Profiles, days: int, rng: np.random.Generator) -> Batch:
    """Every genuine transaction of ``days`` days, in time order.

    Per customer and day: a Poisson count with the customer's rate; each transaction has a time of day
    ~N(43,200 s, 20,000 s) truncated to whole seconds (draws outside (0, 86,400) dropped), an amount
    ~N(mean, sd) (negative draws replaced by ~U(0, 2 mean)), rounded to cents, and a terminal chosen uniformly
    among those the customer uses. Customers with no terminal in reach make no transaction.
    """
    n_customers = profiles.n_customers
    reach = profiles.reach_size
    rates = np.where(reach > 0, profiles.daily_rate, 0.0)
    counts = rng.poisson(rates, size=(days, n_customers)).ravel()
    customer = np.repeat(np.tile(np.arange(n_customers, dtype=np.int32), days), counts)
    day = np.repeat(np.repeat(np.arange(days, dtype=np.int64), n_customers), counts)
    n = customer.shape[0]

    time_of_day = np.trunc(rng.normal(TIME_OF_DAY_MEAN, TIME_OF_DAY_SD, size=n)).astype(np.int64)
    mean = profiles.mean_amount[customer]
    amount = rng.normal(mean, profiles.std_amount[customer])
    fallback = rng.uniform(0.0, 2.0 * mean)
    amount = to_cents(np.where(amount < 0.0, fallback, amount))
    pick = np.floor(rng.random(n) * reach[customer]).astype(np.int64)
    terminal = profiles.reach_terminals[profiles.reach_indptr[customer] + pick]

    keep = (time_of_day > 0) & (time_of_day < SECONDS_PER_DAY)
    batch = Batch.with_defaults(
        customer=customer[keep],
        terminal=terminal[keep].astype(np.int32),
        seconds=day[keep] * SECONDS_PER_DAY + time_of_day[keep],
        amount=amount[keep],
    )
    return batch.in_time_order()
