"""Two scorers sharing Redis (what several service processes or stream workers do): one feature state, one
decision log, so a transaction is counted once and answered once whichever process sees it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import redis

from features import OnlineFeatureEngine, RedisStateStore
from scoring_api.deployments import DeploymentManager
from scoring_api.pipeline import Decision, FixedPolicy, Rejection, Scorer
from scoring_api.pipeline.checks import load_checker
from scoring_api.pipeline.redis_log import RedisDecisionLog
from tests.scoring_api.support import World

pytestmark = pytest.mark.redis


def _scorer(world: World, deployments: DeploymentManager, url: str, prefix: str) -> Scorer:
    store = RedisStateStore.from_url(url, prefix=f"{prefix}:features")
    return Scorer(
        feature_engine=OnlineFeatureEngine(world.feature_set, store),
        checker=load_checker(),
        models=deployments,
        policies=FixedPolicy(),
        log=RedisDecisionLog.from_url(url, prefix=f"{prefix}:decisions"),
        explain_approved=True,  # every decision carries reason codes and its explanation through the log
    )


@pytest.fixture
def deployments(registry_ids: tuple[object, dict[str, str]], world: World) -> DeploymentManager:
    manager = DeploymentManager(registry_ids[0], feature_set=world.feature_set, backend="numba")  # type: ignore[arg-type]
    manager.refresh()
    return manager


def test_two_processes_share_state_and_decisions(world: World, deployments: DeploymentManager, redis_url: str) -> None:
    prefix = "test-shared"
    redis.Redis.from_url(redis_url).flushdb()
    first, second = _scorer(world, deployments, redis_url, prefix), _scorer(world, deployments, redis_url, prefix)
    day = world.day
    card = day["card_token"].value_counts().index[0]
    rows = day.index[day["card_token"] == card][:3]
    a, b, c = (world.transactions(day.loc[[r]])[0] for r in rows)

    answered = first.score_transactions([a]).results[0]
    replayed = second.score_transactions([a]).results[0]
    assert isinstance(answered, Decision)
    assert isinstance(replayed, Decision)
    assert answered.explanation is not None
    assert answered.reasons
    assert replayed == replace(answered, replayed=True)

    column = world.feature_set.names.index("card_count_1d") + 1
    seen_b = second.score_transactions([b]).model_input.values[0, column]
    seen_c = first.score_transactions([c]).model_input.values[0, column]
    assert (seen_b, seen_c) == (2.0, 3.0), "each process sees the card's transactions scored by the other, once"

    changed = second.score_transactions([a.model_copy(update={"amount": a.amount + 1})]).results[0]
    assert isinstance(changed, Rejection)
    assert "other content" in changed.reasons[0]


def test_the_log_claims_each_id_once_and_releases_unrecorded_claims(redis_url: str) -> None:
    log = RedisDecisionLog.from_url(redis_url, prefix="test-claims")
    redis.Redis.from_url(redis_url).flushdb()
    assert log.claim(["t1", "t2"], ["f1", "f2"]) == [None, None]
    again = log.claim(["t1"], ["f1"])[0]
    assert again is not None
    assert "being scored" in again.reason
    log.release(["t1"])
    assert log.claim(["t1"], ["f1"]) == [None]
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys("test-claims:*")]
    assert all("t1" not in k and "t2" not in k for k in keys), "transaction ids never appear in key names"
    assert np.all([k.startswith("test-claims:") for k in keys])
