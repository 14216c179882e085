"""The declarative spec: names, versions and refusals of inconsistent declarations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from features import (
    CARD,
    TERMINAL,
    Aggregate,
    Entity,
    FeatureSet,
    FeatureSpecError,
    TimeFlag,
    WindowAggregate,
    baseline_feature_set,
    default_feature_set,
)

DAY = timedelta(days=1)


def test_names_say_entity_aggregate_window_and_lag() -> None:
    assert WindowAggregate(CARD, Aggregate.SUM, timedelta(minutes=10)).name == "card_sum_amount_10m"
    assert WindowAggregate(TERMINAL, Aggregate.FRAUD_SHARE, DAY, lag=7 * DAY).name == "terminal_fraud_share_1d_lag7d"
    assert WindowAggregate(CARD, Aggregate.COUNT, timedelta(hours=1), include_current=False).name == (
        "card_count_1h_before"
    )
    assert TimeFlag("weekend").name == "is_weekend"


def test_the_version_changes_with_any_parameter_and_only_then() -> None:
    base = FeatureSet((WindowAggregate(CARD, Aggregate.COUNT, DAY),))
    assert base.version == FeatureSet((WindowAggregate(CARD, Aggregate.COUNT, DAY),)).version
    variants = [
        FeatureSet((WindowAggregate(CARD, Aggregate.COUNT, 2 * DAY),)),
        FeatureSet((WindowAggregate(CARD, Aggregate.COUNT, DAY, lag=DAY),)),
        FeatureSet((WindowAggregate(TERMINAL, Aggregate.COUNT, DAY),)),
        FeatureSet((WindowAggregate(CARD, Aggregate.COUNT, DAY, include_current=False),)),
        FeatureSet((TimeFlag("night", night_last_hour=5),)),
    ]
    assert len({base.version, *(v.version for v in variants)}) == len(variants) + 1
    assert baseline_feature_set().version != default_feature_set().version


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: WindowAggregate(CARD, Aggregate.COUNT, timedelta(0)), "window must be positive"),
        (lambda: WindowAggregate(CARD, Aggregate.COUNT, DAY, lag=-DAY), "lag must be zero or positive"),
        (lambda: WindowAggregate(TERMINAL, Aggregate.FRAUD_SHARE, DAY), "label delay"),
        (lambda: WindowAggregate(CARD, Aggregate.ZSCORE, DAY, lag=DAY), "takes no lag"),
        (lambda: TimeFlag("lunch"), "unknown time flag"),
        (lambda: TimeFlag("night", night_last_hour=24), "hour"),
        (lambda: Entity("bad name", ("card_token",)), "identifier"),
        (lambda: FeatureSet(()), "at least one"),
        (lambda: FeatureSet((TimeFlag("night"), TimeFlag("night"))), "duplicate"),
        (
            lambda: FeatureSet(
                (
                    WindowAggregate(Entity("card", ("card_token",)), Aggregate.COUNT, DAY),
                    WindowAggregate(Entity("card", ("customer_id",)), Aggregate.SUM, DAY),
                )
            ),
            "two column sets",
        ),
    ],
)
def test_inconsistent_declarations_are_refused(build: object, message: str) -> None:
    with pytest.raises(FeatureSpecError, match=message):
        build()  # type: ignore[operator]
