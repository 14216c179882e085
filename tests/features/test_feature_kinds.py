"""Contract tests that every feature kind passes: the offline engine follows the written definition
(tests/features/oracle.py) with and without a label file, the online engine gives the offline values, and
the spec names and versions it stably. Generated over every feature of the default set plus variants that
exercise the remaining options (lags on sums and means, excluded current transaction, other entities)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from features import (
    CARD,
    CARD_TERMINAL,
    TERMINAL,
    Aggregate,
    FeatureSet,
    OfflineFeatureEngine,
    OnlineFeatureEngine,
    TimeFlag,
    WindowAggregate,
    default_feature_set,
)
from features.spec import Feature
from tests.features.oracle import oracle
from tests.features.replay import delayed_labels, replay
from tests.features.synthetic import random_labels, random_transactions

VARIANTS: tuple[Feature, ...] = (
    WindowAggregate(CARD, Aggregate.COUNT, timedelta(hours=1), include_current=False),
    WindowAggregate(TERMINAL, Aggregate.SUM, timedelta(days=2), lag=timedelta(days=1)),
    WindowAggregate(TERMINAL, Aggregate.MEAN, timedelta(days=3), lag=timedelta(days=7)),
    WindowAggregate(CARD, Aggregate.FRAUD_SHARE, timedelta(days=10), lag=timedelta(days=2)),
    WindowAggregate(CARD_TERMINAL, Aggregate.SECONDS_SINCE_PREVIOUS, timedelta(days=5)),
    WindowAggregate(CARD, Aggregate.IS_NEW, timedelta(days=1)),
    WindowAggregate(CARD, Aggregate.ZSCORE, timedelta(days=3)),
    TimeFlag("night", night_last_hour=3),
)
FEATURES = (*default_feature_set().features, *VARIANTS)
TOLERANCE = 1e-9


@pytest.fixture(params=FEATURES, ids=lambda f: f.name)
def feature(request: pytest.FixtureRequest) -> Feature:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("with_labels", [False, True], ids=["handbook-rule", "label-file"])
def test_offline_follows_the_definition(feature: Feature, seed: int, with_labels: bool) -> None:
    feature_set = FeatureSet((feature,))
    tx = random_transactions(seed, n=220)
    labels = random_labels(tx, seed) if with_labels else None
    got = OfflineFeatureEngine(feature_set).compute_array(tx, labels)
    np.testing.assert_allclose(got, oracle(feature_set, tx, labels), rtol=TOLERANCE, atol=TOLERANCE)


def test_online_gives_the_offline_values(feature: Feature) -> None:
    feature_set = FeatureSet((feature,))
    tx = random_transactions(7, n=400)
    offline = OfflineFeatureEngine(feature_set).compute_array(tx)
    online = replay([OnlineFeatureEngine(feature_set)], tx, delayed_labels(tx), batch_size=37)
    np.testing.assert_allclose(online, offline, rtol=TOLERANCE, atol=TOLERANCE)


def test_online_with_labels_arriving_at_their_own_times(feature: Feature) -> None:
    feature_set = FeatureSet((feature,))
    tx = random_transactions(3, n=250)
    labels = random_labels(tx, 3).sort_values("reported_at", kind="stable").reset_index(drop=True)
    offline = OfflineFeatureEngine(feature_set).compute_array(tx, labels)
    # One transaction per batch: a label can then arrive between any two transactions, as in production.
    online = replay([OnlineFeatureEngine(feature_set)], tx, labels, batch_size=1)
    np.testing.assert_allclose(online, offline, rtol=TOLERANCE, atol=TOLERANCE)


def test_values_are_finite_and_rows_align_with_the_input_index(feature: Feature) -> None:
    tx = random_transactions(11, n=120).sample(frac=1.0, random_state=0)
    frame = OfflineFeatureEngine(FeatureSet((feature,))).compute(tx)
    assert frame.index.equals(tx.index)
    assert list(frame.columns) == [feature.name]
    assert np.isfinite(frame.to_numpy()).all()


def test_name_and_version_are_stable_and_distinct(feature: Feature) -> None:
    alone = FeatureSet((feature,))
    assert alone.names == (feature.name,)
    assert alone.version == FeatureSet((feature,)).version
    others = {FeatureSet((f,)).version for f in FEATURES if f != feature}
    assert alone.version not in others


@pytest.mark.parametrize("amount", [12.5, 0.1, 19.99, 1234.57])
def test_a_zscore_over_equal_amounts_is_zero_not_their_rounding_error(amount: float) -> None:
    # The spread of equal amounts around their computed mean is rounding error (1e-16 or so, not 0): divided into
    # the next amount's difference from the mean it made z-scores of about 1e15.
    feature_set = FeatureSet((WindowAggregate(CARD, Aggregate.ZSCORE, timedelta(days=3)),))
    tx = random_transactions(5, n=40, cards=1)
    tx["amount"] = amount
    tx.loc[tx.index[-1], "amount"] = amount + 1.0  # a real difference still scores against a real spread: none here
    offline = OfflineFeatureEngine(feature_set).compute_array(tx)
    online = replay([OnlineFeatureEngine(feature_set)], tx, delayed_labels(tx), batch_size=7)
    np.testing.assert_array_equal(offline, np.zeros_like(offline))
    np.testing.assert_array_equal(online, offline)
    tx.loc[tx.index[-2], "amount"] = amount * 1.01
    spread = OfflineFeatureEngine(feature_set).compute_array(tx)
    assert 0 < abs(spread[-1, 0]) < 1e6, "a genuine spread still gives a z-score, of the size of the data's"
