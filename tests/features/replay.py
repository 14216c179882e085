"""Streaming a DataFrame of transactions through online engines in time order, as production would: micro-
batches of transactions, and each fraud label delivered once its report time has come."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from features import OnlineFeatureEngine


def delayed_labels(transactions: pd.DataFrame, delay: timedelta = timedelta(days=7)) -> pd.DataFrame:
    """The fraud labels of ``transactions``, each reported ``delay`` after its transaction (handbook rule)."""
    frauds = transactions[transactions["is_fraud"].to_numpy(dtype=bool)]
    labels = pd.DataFrame(
        {
            "transaction_id": frauds["transaction_id"].to_numpy(),
            "card_token": frauds["card_token"].to_numpy(),
            "is_fraud": True,
            "reported_at": frauds["timestamp"] + pd.Timedelta(delay),
        }
    )
    return labels.sort_values("reported_at", kind="stable").reset_index(drop=True)


def replay(
    engines: Sequence[OnlineFeatureEngine],
    transactions: pd.DataFrame,
    labels: pd.DataFrame,
    batch_size: int = 500,
    restart_after: int | None = None,
    restart: Callable[[OnlineFeatureEngine], OnlineFeatureEngine] | None = None,
) -> NDArray[np.float64]:
    """Features of every transaction, streamed in batches that take turns over ``engines`` (workers).

    Before a batch, the labels reported up to its last transaction are applied (transaction by transaction
    when one of them is for a transaction of the batch itself). After ``restart_after``
    batches, each engine is replaced by ``restart(engine)`` (a snapshot and restore, say).
    """
    workers = list(engines)
    n = len(transactions)
    out = np.empty((n, len(workers[0].names)), dtype=np.float64)
    stamps = transactions["timestamp"].to_numpy()
    reported = labels["reported_at"].to_numpy()
    row_of = pd.Series(np.arange(n), index=transactions["transaction_id"].to_numpy())
    label_rows = labels["transaction_id"].map(row_of).fillna(-1).to_numpy(dtype=np.int64)
    delivered = 0

    def deliver(worker: OnlineFeatureEngine, until: np.datetime64) -> None:
        nonlocal delivered
        due = int(np.searchsorted(reported, until, side="right"))
        if due > delivered:
            worker.apply_labels(labels.iloc[delivered:due])
            delivered = due

    for number, start in enumerate(range(0, n, batch_size)):
        if restart is not None and number == restart_after:
            workers = [restart(w) for w in workers]
        worker = workers[number % len(workers)]
        stop = min(start + batch_size, n)
        due = int(np.searchsorted(reported, stamps[stop - 1], side="right"))
        if (label_rows[delivered:due] < start).all():
            deliver(worker, stamps[stop - 1])
            out[start:stop] = worker.update_and_read_batch(transactions.iloc[start:stop])
            continue
        # A label falls due inside the batch for a transaction of the batch: in production it would arrive
        # between the two transactions, so replay this batch one transaction at a time.
        for row in range(start, stop):
            deliver(worker, stamps[row])
            out[row : row + 1] = worker.update_and_read_batch(transactions.iloc[row : row + 1])
    return out
