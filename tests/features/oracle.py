"""The definitions of the feature kinds, written as plainly as possible (one loop per row and feature): the
independent reference the engines are checked against."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from features import Aggregate, FeatureSet, Flag, TimeFlag
from features.kernels import ZSCORE_MIN_RELATIVE_STD

US = timedelta(microseconds=1)


def _us(value: pd.Timestamp) -> int:
    return int((value - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1))


def oracle(
    feature_set: FeatureSet, tx: pd.DataFrame, labels: pd.DataFrame | None, delay: timedelta = timedelta(days=7)
) -> NDArray[np.float64]:
    n = len(tx)
    ts = [_us(t) for t in tx["timestamp"]]
    known = [math.inf] * n
    if labels is None:
        for i, fraud in enumerate(tx["is_fraud"]):
            if fraud:
                known[i] = ts[i] + delay // US
    else:
        position = {t: i for i, t in enumerate(tx["transaction_id"])}
        for _, label in labels.iterrows():
            if label["is_fraud"] and label["transaction_id"] in position:
                i = position[label["transaction_id"]]
                known[i] = min(known[i], _us(label["reported_at"]))
    amount = tx["amount"].to_numpy(dtype=float).tolist()
    stamps = tx["timestamp"].tolist()
    out = np.zeros((n, len(feature_set)))
    for col, feature in enumerate(feature_set.features):
        if isinstance(feature, TimeFlag):
            for i, stamp in enumerate(stamps):
                flag = stamp.weekday() >= 5 if feature.flag == Flag.WEEKEND else stamp.hour <= feature.night_last_hour
                out[i, col] = float(flag)
            continue
        keys = list(zip(*(tx[c].tolist() for c in feature.entity.columns), strict=True))
        for i in range(n):
            t = ts[i]
            # What the transaction can see: its entity's events before it in (time, arrival) order.
            earlier = [j for j in range(n) if keys[j] == keys[i] and (ts[j] < t or (ts[j] == t and j < i))]
            window, lag = feature.window // US, feature.lag // US
            agg = feature.aggregate
            if agg in (Aggregate.COUNT, Aggregate.SUM, Aggregate.MEAN, Aggregate.FRAUD_SHARE):
                seen = earlier + ([i] if feature.include_current and lag == 0 else [])
                inside = [j for j in seen if t - lag - window < ts[j] <= t - lag]
                if agg == Aggregate.COUNT:
                    out[i, col] = len(inside)
                elif agg == Aggregate.SUM:
                    out[i, col] = sum(amount[j] for j in inside)
                elif agg == Aggregate.MEAN:
                    out[i, col] = sum(amount[j] for j in inside) / len(inside) if inside else 0.0
                else:
                    out[i, col] = sum(known[j] <= t for j in inside) / len(inside) if inside else 0.0
            elif agg in (Aggregate.RATIO_TO_MEAN, Aggregate.ZSCORE):
                history = [amount[j] for j in earlier if ts[j] > t - window]
                mean = sum(history) / len(history) if history else 0.0
                if agg == Aggregate.RATIO_TO_MEAN:
                    out[i, col] = amount[i] / mean if mean > 0 else 1.0
                else:
                    std = math.sqrt(sum((a - mean) ** 2 for a in history) / len(history)) if len(history) > 1 else 0
                    out[i, col] = (amount[i] - mean) / std if std > ZSCORE_MIN_RELATIVE_STD * abs(mean) else 0.0
            else:
                previous = max((ts[j] for j in earlier), default=None)
                recent = previous is not None and previous > t - window
                if agg == Aggregate.SECONDS_SINCE_PREVIOUS:
                    out[i, col] = (t - previous if recent and previous is not None else window) / 1e6
                else:
                    out[i, col] = 0.0 if recent else 1.0
    return out
