"""The one scoring pipeline: validation, idempotency, online features, model input by name, score, decision.

A transaction scored alone and the same transactions scored as a batch get the same answers, and those answers
are the model's scores of the offline (training-time) features: serving computes what training learnt from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features import ModelInput, OfflineFeatureEngine, model_input, model_input_names
from lifecycle.registry.registry import ModelRegistry
from model_engine import load_model
from model_engine.errors import SignatureError
from scoring_api.decisions import DecisionConfig, DecisionPolicy, Rule, RuleMatch
from scoring_api.deployments import DeploymentManager
from scoring_api.pipeline import Decision, FixedPolicy, Rejection, Scorer
from scoring_api.pipeline.idempotency import Claim
from scoring_api.records import ModelRole, Outcome, RiskBand
from scoring_api.worker.scoring import NoClaims
from tests.scoring_api.support import World, make_scorer

FLOAT32_TOLERANCE = 1e-5


@pytest.fixture
def deployments(registry_ids: tuple[ModelRegistry, dict[str, str]], world: World) -> DeploymentManager:
    manager = DeploymentManager(registry_ids[0], feature_set=world.feature_set, backend="numba")
    manager.refresh()
    return manager


def test_single_and_batch_paths_agree_with_the_offline_features(world: World, deployments: DeploymentManager) -> None:
    day = world.day.head(200)
    batch = make_scorer(world, deployments).score_frame(day)
    alone = make_scorer(world, deployments)
    singles = [alone.score_transactions([tx]).results[0] for tx in world.transactions(day)]

    assert all(isinstance(r, Decision) for r in (*batch.results, *singles))
    batch_scores = np.array([d.score for d in batch.decisions])
    single_scores = np.array([d.score for d in singles if isinstance(d, Decision)])
    np.testing.assert_array_equal(batch_scores, single_scores)
    assert [d.outcome for d in batch.decisions] == [d.outcome for d in singles if isinstance(d, Decision)]

    # Serving computes the training features: the offline engine over history + day, scored by the same model.
    both = pd.concat([world.history, day], ignore_index=True)
    offline = OfflineFeatureEngine(world.feature_set).compute(both, world.labels)
    expected_input = ModelInput(model_input_names(world.feature_set), model_input(both, offline, world.feature_set))
    np.testing.assert_allclose(batch.model_input.values, expected_input.values[len(world.history) :], rtol=1e-6)
    champion = load_model(deployments.current.champion.version.artifact_path, backend="numpy")
    expected = champion.score(expected_input.values[len(world.history) :], names=expected_input.names)
    np.testing.assert_allclose(batch_scores, expected, atol=FLOAT32_TOLERANCE)


def test_decisions_carry_the_model_the_thresholds_and_the_band(world: World, deployments: DeploymentManager) -> None:
    batch = make_scorer(world, deployments).score_frame(world.day)
    champion = deployments.current.champion
    review = world.thresholds["forest"]
    assert champion.thresholds.review == review
    outcomes = {d.outcome for d in batch.decisions}
    assert outcomes == {Outcome.APPROVE, Outcome.REVIEW}, "no decline threshold by default: the score alone reviews"
    for d in batch.decisions:
        assert d.model_version == champion.content_id
        assert d.model_role is ModelRole.CHAMPION
        assert d.review_threshold == review
        assert d.decline_threshold is None
        assert (d.outcome is Outcome.REVIEW) == (d.score >= review) == (d.risk_band is RiskBand.MEDIUM)
        assert d.decided_by == "model"
        assert d.rules_fired == ()
    assert len({d.decision_id for d in batch.decisions}) == len(batch.decisions)


def test_rules_decide_before_the_model(world: World, deployments: DeploymentManager) -> None:
    day = world.day.head(40)
    allowed, denied = day["card_token"].iloc[0], day["card_token"].iloc[1]
    config = DecisionConfig(
        rules=[
            Rule(name="trusted", action=Outcome.APPROVE, match=RuleMatch(card_tokens=[allowed])),
            Rule(name="stolen", action=Outcome.DECLINE, match=RuleMatch(card_tokens=[denied])),
            Rule(name="large", action=Outcome.REVIEW, match=RuleMatch(amount_above=0.0)),
        ]
    )
    scorer = make_scorer(world, deployments, policies=FixedPolicy(DecisionPolicy(version=7, config=config)))
    for d in scorer.score_frame(day).decisions:
        assert d.decision_config_version == 7
        if d.card_token == allowed:
            assert (d.outcome, d.decided_by, d.rules_fired) == (Outcome.APPROVE, "rule:trusted", ("trusted", "large"))
        elif d.card_token == denied:
            assert (d.outcome, d.decided_by) == (Outcome.DECLINE, "rule:stolen")
        else:
            assert (d.outcome, d.decided_by, d.rules_fired) == (Outcome.REVIEW, "rule:large", ("large",))


def test_bad_rows_are_rejected_by_name_and_the_others_scored(world: World, deployments: DeploymentManager) -> None:
    day = world.day.head(6).copy()
    day.loc[1, "amount"] = -5.0
    day.loc[3, "card_token"] = "4111 1111 1111 1111"
    scorer = make_scorer(world, deployments)
    batch = scorer.score_frame(day)
    kinds = [type(r) for r in batch.results]
    assert kinds == [Decision, Rejection, Decision, Rejection, Decision, Decision]
    assert batch.results[1] == Rejection(day.loc[1, "transaction_id"], ("amount.range",))
    rejected = batch.results[3]
    assert isinstance(rejected, Rejection)
    assert rejected.reasons == ("card_token.pattern", "card_token.not_card_number")
    assert len(batch.model_input) == 4
    assert batch.scored_positions.tolist() == [0, 2, 4, 5]

    single = scorer.score_transactions([replace_amount(world, day.iloc[[0]], 1e9)])
    assert isinstance(single.results[0], Rejection)
    assert single.results[0].reasons == ("amount.range",)


def replace_amount(world: World, frame: pd.DataFrame, amount: float) -> object:
    tx = world.transactions(frame)[0]
    return tx.model_construct(**{**tx.model_dump(), "transaction_id": "other-id", "amount": amount})


def test_a_transaction_scored_twice_gets_its_recorded_decision_and_counts_once(
    world: World, deployments: DeploymentManager
) -> None:
    day = world.day
    card = day["card_token"].value_counts().index[0]
    same_card = day.index[day["card_token"] == card]
    assert len(same_card) >= 2
    first = world.transactions(day.loc[[same_card[0]]])[0]
    scorer = make_scorer(world, deployments)
    original = scorer.score_transactions([first]).results[0]
    again = scorer.score_transactions([first]).results[0]
    in_batch = scorer.score_frame(day.loc[[same_card[0]]]).results[0]
    assert isinstance(original, Decision)
    assert isinstance(again, Decision)
    assert isinstance(in_batch, Decision)
    assert again == replace(original, replayed=True) == in_batch
    assert not original.replayed

    # The card's one-day count sees the first transaction once, as a scorer that saw it once does.
    column = model_input_names(world.feature_set).index("card_count_1d")
    twice = scorer.score_frame(day.loc[[same_card[-1]]]).model_input.values[0, column]
    once = make_scorer(world, deployments)
    once.score_transactions([first])
    assert twice == once.score_frame(day.loc[[same_card[-1]]]).model_input.values[0, column] >= 2

    changed = first.model_copy(update={"amount": first.amount + 1.0})
    refused = scorer.score_transactions([changed]).results[0]
    assert isinstance(refused, Rejection)
    assert "already scored with other content" in refused.reasons[0]


def test_a_reordered_model_input_is_refused_not_scored(world: World, deployments: DeploymentManager) -> None:
    scored = make_scorer(world, deployments).score_frame(world.day.head(5))
    champion = deployments.current.champion
    reversed_input = replace(scored.model_input, names=scored.model_input.names[::-1])
    with pytest.raises(SignatureError, match="another order"):
        champion.score(replace(reversed_input, values=scored.model_input.values[:, ::-1].copy()))
    renamed = (*scored.model_input.names[:-1], "card_count_90d")
    with pytest.raises(SignatureError, match=r"unknown \['card_count_90d'\]"):
        champion.score(replace(scored.model_input, names=renamed))


def test_labels_due_by_the_batch_time_reach_the_features_first(world: World, deployments: DeploymentManager) -> None:
    scorer = make_scorer(world, deployments)
    applied_before = scorer.feature_engine.labels_applied
    scorer.score_frame(world.day)
    assert scorer.feature_engine.labels_applied > applied_before


def test_idle_entities_are_evicted_without_changing_features(world: World, deployments: DeploymentManager) -> None:
    """After 45 quiet days every entity of the history is past its longest window: forgetting it changes nothing."""
    scorer, reference = make_scorer(world, deployments), make_scorer(world, deployments)
    later = world.day.assign(timestamp=world.day["timestamp"] + pd.Timedelta(days=45))
    for s in (scorer, reference):
        s.score_frame(later.head(1))
    cards = scorer.feature_engine.store.entity_count("card")
    evicted = scorer.evict_idle()
    assert evicted["card"] > 0
    assert evicted["terminal"] > 0
    assert scorer.feature_engine.store.entity_count("card") == cards - evicted["card"]
    rest = later.iloc[1:]
    np.testing.assert_array_equal(
        scorer.score_frame(rest).model_input.values, reference.score_frame(rest).model_input.values
    )


class _FingerprintsSeen(NoClaims):
    """The stream's log, keeping the fingerprints it is handed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def claim(self, transaction_ids: Sequence[str], fingerprints: Sequence[str]) -> list[Claim]:
        self.seen.extend(fingerprints)
        return super().claim(transaction_ids, fingerprints)


@pytest.mark.parametrize("single", [False, True], ids=["batch", "single"])
def test_a_scorer_without_fingerprints_decides_alike_and_hashes_nothing(
    world: World, deployments: DeploymentManager, single: bool
) -> None:
    day = world.day.head(50)

    def score(scorer: Scorer) -> list[object]:
        if single:
            return [scorer.score_transactions([tx]).results[0] for tx in world.transactions(day)]
        return list(scorer.score_frame(day).results)

    hashed, blind = _FingerprintsSeen(), _FingerprintsSeen()
    with_fingerprints = score(make_scorer(world, deployments, log=hashed))
    without = score(make_scorer(world, deployments, log=blind, fingerprints=False))

    def comparable(result: object) -> object:
        assert isinstance(result, Decision)
        return replace(result, decision_id="", decided_at=None)

    assert [comparable(r) for r in without] == [comparable(r) for r in with_fingerprints]
    assert len(hashed.seen) == len(blind.seen) == len(day)
    assert all(len(fp) == 32 for fp in hashed.seen)
    assert set(blind.seen) == {""}
