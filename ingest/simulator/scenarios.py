"""The handbook's three fraud scenarios, applied in order to genuine transactions.

1. Every amount above 220 is fraud.
2. Each day, 2 terminals drawn at random are compromised for the next 28 days: all their transactions are fraud.
3. Each day, 3 customers drawn at random are compromised for the next 14 days: a third (floor) of their
   transactions in that window, drawn at random, are fraud, with the amount multiplied by 5.

A later scenario overwrites the scenario id of an earlier one, as in the handbook.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ingest.simulator.batch import Batch
from ingest.simulator.genuine import SECONDS_PER_DAY

LARGE_AMOUNT = 1
COMPROMISED_TERMINAL = 2
COMPROMISED_CARD = 3


def apply_handbook_scenarios(
    batch: Batch,
    *,
    n_customers: int,
    n_terminals: int,
    days: int,
    large_amount_threshold: float,
    terminals_per_day: int,
    terminal_days: int,
    cards_per_day: int,
    card_days: int,
    amount_factor: float,
    rng: np.random.Generator,
) -> Batch:
    """``batch`` (time-ordered) with scenarios 1-3 applied; the input is left unchanged."""
    amount = batch.amount.copy()
    is_fraud = batch.is_fraud.copy()
    scenario = batch.scenario.copy()
    day = batch.seconds // SECONDS_PER_DAY

    large = amount > large_amount_threshold
    is_fraud[large] = True
    scenario[large] = LARGE_AMOUNT

    # Windows may run past the last simulated day; the matrix spans every day present in the batch too.
    span = max(days, int(day.max(initial=-1)) + 1)
    compromised = np.zeros((n_terminals, span), dtype=np.bool_)
    for start in range(days):
        for terminal in rng.choice(n_terminals, size=terminals_per_day, replace=False):
            compromised[terminal, start : start + terminal_days] = True
    hit = compromised[batch.terminal, day]
    is_fraud[hit] = True
    scenario[hit] = COMPROMISED_TERMINAL

    # Rows grouped by customer (time order kept inside each group), to find a customer's window quickly.
    by_customer = np.argsort(batch.customer, kind="stable")
    bounds = np.searchsorted(batch.customer[by_customer], np.arange(n_customers + 1))
    for start in range(days):
        chosen = rng.choice(n_customers, size=cards_per_day, replace=False)
        rows = np.concatenate([by_customer[:0], *(by_customer[bounds[c] : bounds[c + 1]] for c in chosen)])
        rows = rows[(day[rows] >= start) & (day[rows] < start + card_days)]
        picked = rows[rng.choice(rows.shape[0], size=rows.shape[0] // 3, replace=False)]
        amount[picked] = amount[picked] * amount_factor
        is_fraud[picked] = True
        scenario[picked] = COMPROMISED_CARD

    return replace(batch, amount=amount, is_fraud=is_fraud, scenario=scenario)
