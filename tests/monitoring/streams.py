"""Seeded scored streams for the monitoring tests: simulated transactions (realistic preset), their offline
features, and the scores of a real scikit-learn model fitted on the first month.

The rows after the first month form a pool split at random in two halves: one is the reference period (its
profile is built as training builds it), the other is where streams are drawn from. Both halves come from the
same population, so a stream drawn from the second half has no drift; drift is injected on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from features import OfflineFeatureEngine, TimeFlag, default_feature_set
from lifecycle.reference import SCORE, ReferenceProfile, build_reference_profile

WARM_UP_DAYS = 31


@dataclass(frozen=True)
class ScoredPool:
    reference: pd.DataFrame
    stream: pd.DataFrame
    inputs: tuple[str, ...]
    profile: ReferenceProfile

    def shuffled(self, seed: int, rows: int | None = None) -> pd.DataFrame:
        """The stream half in a seeded random order (rows drawn without replacement; repeated when more)."""
        rng = np.random.default_rng(seed)
        wanted = len(self.stream) if rows is None else rows
        orders = [rng.permutation(len(self.stream)) for _ in range(-(-wanted // len(self.stream)))]
        return self.stream.iloc[np.concatenate(orders)[:wanted]].reset_index(drop=True)


@cache
def scored_pool(days: int = 60, customers: int = 1_500, seed: int = 0) -> ScoredPool:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ingest.simulator import SimulatorConfig, simulate

    data = simulate(
        SimulatorConfig.preset("realistic", days=days, seed=seed, n_customers=customers, n_terminals=2 * customers)
    )
    feature_set = default_feature_set()
    features = OfflineFeatureEngine(feature_set).compute(data.transactions, data.labels)
    frame = pd.concat([data.transactions.reset_index(drop=True), features.reset_index(drop=True)], axis=1)
    inputs = ("amount", *feature_set.names)
    start = frame["timestamp"].min().normalize() + pd.Timedelta(days=WARM_UP_DAYS)
    early, late = frame[frame["timestamp"] < start], frame[frame["timestamp"] >= start].reset_index(drop=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, class_weight="balanced"))
    model.fit(early[list(inputs)].to_numpy(np.float64), early["is_fraud"].to_numpy(np.int64))
    late[SCORE] = model.predict_proba(late[list(inputs)].to_numpy(np.float64))[:, 1]
    halves = np.random.default_rng(seed).random(len(late)) < 0.5
    reference = late[halves].sort_values("timestamp", kind="mergesort").reset_index(drop=True)
    stream = late[~halves].sort_values("timestamp", kind="mergesort").reset_index(drop=True)
    clock = [f.name for f in feature_set.features if isinstance(f, TimeFlag)]
    profile = build_reference_profile(
        reference,
        scores=reference[SCORE].to_numpy(),
        inputs=inputs,
        labels=reference["is_fraud"].to_numpy(),
        time_dependent=clock,
    )
    return ScoredPool(reference, stream, inputs, profile)
