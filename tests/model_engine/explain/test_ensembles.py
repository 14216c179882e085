"""Calibrated models and soft votes: each explanation is its members' explanations composed as stated
(:mod:`model_engine.explain.ensembles`), checked against the members compiled and explained alone; the stated
quantity is recorded with the model and its artifact, and an isotonic model's margin ranks as its score does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model_engine import compile_model, load_model, save_model
from model_engine.artifacts.manifest import write_manifest
from model_engine.explain.contributions import SCORE_LOGIT
from tests.model_engine.explain.cases import TRAINING_BY_ID, compiled, unfrozen

ROWS = 61
COMPOSED = 1e-12  # relative: the same terms summed in another order


def _member_values(estimator: object, case_id: str, X: np.ndarray, probability: bool = False) -> np.ndarray:
    """A member compiled and explained alone; with ``probability`` its values mapped onto its probability by the
    secant of the sigmoid, as the explainer states."""
    names = TRAINING_BY_ID[case_id].feature_names
    explained = compile_model(estimator, names, dtype="float64").explain(X)
    if not probability:
        return explained.values
    p, p0 = 1 / (1 + np.exp(-explained.margin)), 1 / (1 + np.exp(-explained.base_value))
    total = explained.values.sum(axis=1)
    return explained.values * ((p - p0) / total)[:, None]


def _explained(case_id: str, seed: int = 3) -> tuple[object, np.ndarray, object]:
    case = TRAINING_BY_ID[case_id]
    X = case.inputs(ROWS, seed=seed)
    return case.model(), X, compiled(case_id, "float64").explain(X)


@pytest.mark.parametrize("case_id", ["platt_frozen_logistic", "platt_frozen_boosting_nan", "platt_cv_gbm"])
def test_platt_scales_the_decision_functions_contributions_and_averages_the_folds(case_id: str) -> None:
    model, X, explained = _explained(case_id)
    expected = np.zeros_like(explained.values)
    for member in model.calibrated_classifiers_:
        base = unfrozen(member.estimator)
        scale = 0.5 if getattr(base, "loss", "") == "exponential" else 1.0
        expected += -member.calibrators[0].a_ * scale * _member_values(base, case_id, X)
    expected /= len(model.calibrated_classifiers_)
    np.testing.assert_allclose(explained.values, expected, rtol=COMPOSED, atol=COMPOSED)
    assert explained.is_score_logit == (len(model.calibrated_classifiers_) == 1)


def test_platt_over_lightgbms_raw_score_undoes_the_sigmoids_scale() -> None:
    # LightGBM's decision function is its raw score; with sigmoid=0.7 its margin (the trees' sum the explainer
    # attributes) is 0.7 times that, so a fold's logit is -(a margin / 0.7 + b).
    pytest.importorskip("lightgbm")
    model, X, explained = _explained("platt_cv_lightgbm")
    expected = np.mean(
        [-m.calibrators[0].a_ / 0.7 * _member_values(m.estimator, "platt_cv_lightgbm", X)
         for m in model.calibrated_classifiers_],
        axis=0,
    )  # fmt: skip
    np.testing.assert_allclose(explained.values, expected, rtol=COMPOSED, atol=COMPOSED)
    logits = [np.log(p / (1 - p)) for p in (m.predict_proba(X)[:, 1] for m in model.calibrated_classifiers_)]
    np.testing.assert_allclose(explained.margin, np.mean(logits, axis=0), rtol=0, atol=1e-9)


@pytest.mark.parametrize("case_id", ["platt_frozen_forest", "platt_frozen_mlp", "platt_cv_forest"])
def test_platt_over_probabilities_maps_the_margins_contributions_onto_the_probability(case_id: str) -> None:
    model, X, explained = _explained(case_id)
    expected = np.mean(
        [-m.calibrators[0].a_ * _member_values(unfrozen(m.estimator), case_id, X, True)
         for m in model.calibrated_classifiers_],
        axis=0,
    )  # fmt: skip
    np.testing.assert_allclose(explained.values, expected, rtol=1e-9, atol=1e-12)


def test_the_served_isotonic_vote_explains_the_uncalibrated_margin() -> None:
    """The training serves an isotonic model as a vote of the calibrated model and the uncalibrated one: both
    explain the uncalibrated model's margin, so the vote's contributions are that model's own."""
    _, X, explained = _explained("served_isotonic_boosting_nan")
    base = TRAINING_BY_ID["train_boosting_nan"]
    alone = compile_model(base.model(), base.feature_names, dtype="float64").explain(X)
    np.testing.assert_allclose(explained.values, alone.values, rtol=COMPOSED, atol=COMPOSED)
    np.testing.assert_allclose(explained.margin, alone.margin, rtol=COMPOSED, atol=COMPOSED)
    assert "uncalibrated" in explained.quantity
    assert not explained.is_score_logit


@pytest.mark.parametrize("case_id", ["isotonic_frozen_mlp", "served_isotonic_logistic", "isotonic_frozen_soft_vote"])
def test_an_isotonic_models_score_never_falls_as_its_explained_margin_rises(case_id: str) -> None:
    case = TRAINING_BY_ID[case_id]
    model = compiled(case_id, "float64")
    X = case.inputs(400, seed=7)
    order = np.argsort(model.explain(X).margin, kind="stable")
    assert np.all(np.diff(model.score(X)[order]) >= -1e-12)


def test_a_soft_vote_explains_the_weighted_mean_of_its_members_margins() -> None:
    model, X, explained = _explained("soft_vote")
    expected = np.mean([_member_values(m.estimator, "soft_vote", X) for m in model.estimators_], axis=0)
    np.testing.assert_allclose(explained.values, expected, rtol=COMPOSED, atol=COMPOSED)
    assert explained.method == "linear+tree_shap"
    assert explained.quantity.startswith("the weighted mean of the members' margins")


def test_the_quantity_is_recorded_with_the_model_and_its_artifact(tmp_path: Path) -> None:
    case = TRAINING_BY_ID["platt_cv_forest"]
    model = compiled(case.id, "float64")
    quantity = model.explain(case.inputs(3)).quantity
    assert model.metadata["explanation"]["quantity"] == quantity != SCORE_LOGIT
    save_model(model, tmp_path / "model", golden_input=case.inputs(20))
    assert json.loads((tmp_path / "model" / "explanation.json").read_text())["quantity"] == quantity
    assert load_model(tmp_path / "model").explain(case.inputs(3)).quantity == quantity


def test_an_artifact_written_before_quantities_were_recorded_explains_the_score_logit(tmp_path: Path) -> None:
    case = TRAINING_BY_ID["train_logistic"]
    path = tmp_path / "model"
    save_model(compiled(case.id, "float64"), path, golden_input=case.inputs(20))
    doc = json.loads((path / "explanation.json").read_text())
    del doc["quantity"]
    (path / "explanation.json").write_text(json.dumps(doc))
    write_manifest(path)
    assert load_model(path).explain(case.inputs(3)).quantity == SCORE_LOGIT
