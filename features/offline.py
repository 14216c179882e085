"""The offline engine: every feature of a whole DataFrame of transactions, point in time.

Each transaction sees only what was known at its own time: the events of its entities up to its own instant
(earlier arrivals at the same instant included, later ones not) and fraud labels whose report time is not
after it. Rows are grouped by entity with one sort per entity and handed to the shared kernels, so a four-month
history of a million transactions takes about a second.

>>> import pandas as pd
>>> from features.catalogue import baseline_feature_set
>>> tx = pd.DataFrame({"transaction_id": ["a", "b"], "card_token": ["c", "c"], "terminal_id": ["t", "t"],
...                    "timestamp": pd.to_datetime(["2018-04-07 10:00", "2018-04-07 11:00"], utc=True),
...                    "amount": [10.0, 30.0], "is_fraud": [False, False]})
>>> OfflineFeatureEngine(baseline_feature_set()).compute(tx)["card_mean_amount_1d"].tolist()
[10.0, 20.0]
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from features.catalogue import LABEL_DELAY
from features.frames import amounts, entity_codes, label_times, require_columns, timestamps_us
from features.kernels import NEVER, offline_entity, time_flags_batch
from features.plan import EntityPlan, FeaturePlan, compile_plan
from features.spec import FeatureSet


class OfflineFeatureEngine:
    """Computes a feature set over a DataFrame in contract columns (training, backfill, evaluation)."""

    def __init__(
        self, feature_set: FeatureSet, label_delay: timedelta = LABEL_DELAY, workers: int | None = None
    ) -> None:
        self.feature_set = feature_set
        self.label_delay = label_delay
        #: Threads computing entities side by side (default: one per core).
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        self._plan: FeaturePlan = compile_plan(feature_set)

    def compute(self, transactions: pd.DataFrame, labels: pd.DataFrame | None = None) -> pd.DataFrame:
        """One float64 column per feature (``feature_set.names`` order), aligned with ``transactions``.

        ``labels`` (transaction_id, is_fraud, reported_at): when given, a fraud counts in a terminal's fraud
        share from its report time on; when None, from ``label_delay`` after the transaction (the
        handbook's rule, read from the ``is_fraud`` column).
        """
        values = self.compute_array(transactions, labels)
        return pd.DataFrame(values, index=transactions.index, columns=list(self.feature_set.names), copy=False)

    def compute_array(self, transactions: pd.DataFrame, labels: pd.DataFrame | None = None) -> NDArray[np.float64]:
        """As :meth:`compute`, as a NumPy array [rows, features]."""
        needed = {"timestamp", "amount"} | {c for p in self._plan.entities for c in p.entity.columns}
        require_columns(transactions, needed, "transactions")
        n = len(transactions)
        # Column-major: the DataFrame built from it then shares its memory instead of copying it.
        out = np.zeros((n, self._plan.n_features), dtype=np.float64, order="F")
        if n == 0:
            return out
        ts = timestamps_us(transactions["timestamp"])
        if not bool((np.diff(ts) >= 0).all()):  # the kernel needs time order; ties keep arrival order
            by_time = np.argsort(ts, kind="stable")
            restore = np.empty(n, dtype=np.int64)
            restore[by_time] = np.arange(n, dtype=np.int64)
            ordered = self.compute_array(transactions.iloc[by_time], labels)
            return np.asfortranarray(ordered[restore])
        amount = amounts(transactions["amount"])
        if self._plan.label_entities:
            label_time = label_times(transactions, ts, labels, self.label_delay)
        else:
            label_time = np.full(n, NEVER, dtype=np.int64)
        time_flags_batch(ts, self._plan.time_params, out)

        def compute_entity(plan: EntityPlan) -> None:
            codes = entity_codes(transactions, plan.entity)
            offline_entity(codes, int(codes.max()) + 1, ts, amount, label_time, plan.params, plan.horizon_us, out)

        # Entities are independent and write disjoint columns; the kernels release the GIL, so threads
        # run them side by side.
        workers = min(self.workers, len(self._plan.entities))
        if workers > 1:
            with ThreadPoolExecutor(workers, thread_name_prefix="features") as pool:
                list(pool.map(compute_entity, self._plan.entities))
        else:
            for plan in self._plan.entities:
                compute_entity(plan)
        return out
