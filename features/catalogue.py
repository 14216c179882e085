"""The feature sets the system ships: the handbook's baseline and the default (baseline plus stronger ones).

The baseline reproduces the 14 features of the ULB/Worldline *Fraud Detection Handbook* exactly; the
default adds what production fraud systems lean on: short velocity windows, the amount against the card's
own history, time since the card's previous payment, first use of a card at a terminal or in a country,
and terminal activity over short windows (a terminal under a testing attack bursts).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from features.spec import (
    CARD,
    CARD_COUNTRY,
    CARD_TERMINAL,
    TERMINAL,
    Aggregate,
    Feature,
    FeatureSet,
    TimeFlag,
    WindowAggregate,
)

#: The label delay of the handbook: a transaction's label is known 7 days after it.
LABEL_DELAY: Final = timedelta(days=7)
BASELINE_WINDOWS_DAYS: Final = (1, 7, 30)


def _baseline() -> tuple[Feature, ...]:
    features: list[Feature] = [TimeFlag("weekend"), TimeFlag("night", night_last_hour=6)]
    for days in BASELINE_WINDOWS_DAYS:
        window = timedelta(days=days)
        features += [WindowAggregate(CARD, Aggregate.COUNT, window), WindowAggregate(CARD, Aggregate.MEAN, window)]
    for days in BASELINE_WINDOWS_DAYS:
        window = timedelta(days=days)
        features += [
            WindowAggregate(TERMINAL, Aggregate.COUNT, window, lag=LABEL_DELAY),
            WindowAggregate(TERMINAL, Aggregate.FRAUD_SHARE, window, lag=LABEL_DELAY),
        ]
    return tuple(features)


def _stronger() -> tuple[Feature, ...]:
    ten_minutes, hour, day, month = timedelta(minutes=10), timedelta(hours=1), timedelta(days=1), timedelta(days=30)
    return (
        # Velocity: card testing and cash-out bursts happen within minutes.
        WindowAggregate(CARD, Aggregate.COUNT, ten_minutes),
        WindowAggregate(CARD, Aggregate.SUM, ten_minutes),
        WindowAggregate(CARD, Aggregate.COUNT, hour),
        WindowAggregate(CARD, Aggregate.SUM, hour),
        WindowAggregate(CARD, Aggregate.SUM, day),
        # The amount against the card's own habits (compromised cards spend differently).
        WindowAggregate(CARD, Aggregate.RATIO_TO_MEAN, month),
        WindowAggregate(CARD, Aggregate.ZSCORE, month),
        WindowAggregate(CARD, Aggregate.SECONDS_SINCE_PREVIOUS, month),
        # First use of the card at this terminal, or in this country, within the last 30 days.
        WindowAggregate(CARD_TERMINAL, Aggregate.IS_NEW, month),
        WindowAggregate(CARD_COUNTRY, Aggregate.IS_NEW, month),
        # Terminal activity now (no label needed, so no lag): a compromised terminal is suddenly busy.
        WindowAggregate(TERMINAL, Aggregate.COUNT, hour),
        WindowAggregate(TERMINAL, Aggregate.COUNT, day),
        WindowAggregate(TERMINAL, Aggregate.MEAN, day),
    )


def baseline_feature_set() -> FeatureSet:
    """The handbook's 14 features, in its column order."""
    return FeatureSet(_baseline())


def default_feature_set() -> FeatureSet:
    """The baseline followed by the stronger features."""
    return FeatureSet(_baseline() + _stronger())


#: Our names of the baseline features -> the handbook's column names (``--mapping handbook`` output).
HANDBOOK_NAMES: Final[dict[str, str]] = {
    "is_weekend": "TX_DURING_WEEKEND",
    "is_night": "TX_DURING_NIGHT",
    **{
        name: handbook
        for days in BASELINE_WINDOWS_DAYS
        for name, handbook in (
            (f"card_count_{days}d", f"CUSTOMER_ID_NB_TX_{days}DAY_WINDOW"),
            (f"card_mean_amount_{days}d", f"CUSTOMER_ID_AVG_AMOUNT_{days}DAY_WINDOW"),
            (f"terminal_count_{days}d_lag7d", f"TERMINAL_ID_NB_TX_{days}DAY_WINDOW"),
            (f"terminal_fraud_share_{days}d_lag7d", f"TERMINAL_ID_RISK_{days}DAY_WINDOW"),
        )
    },
}
