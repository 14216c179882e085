"""The gate's one entry point: a candidate judged on data through its stored artifact, against a champion
re-scored on the same data (or its stored metrics when it reads other inputs), with failures as checks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lifecycle.registry import CHECK_KINDS, ModelRegistry, RegistryError, judge, verdict_problems
from tests.lifecycle.registry import support


def test_a_good_candidate_is_blessed_on_every_kind_of_check(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    verdict = judge(version, None, support.gate_data(data), support.THRESHOLDS)
    assert verdict.blessed, verdict.failed_checks
    assert verdict_problems(verdict) == []
    assert {c.kind for c in verdict.checks} >= set(CHECK_KINDS)
    # The value checks measured the artifact on the gate's data, not the metrics stored with it.
    auc = next(c for c in verdict.checks if c.name == "value:auc_roc").value
    assert auc != version.lineage.metrics.overall.auc_roc


def test_the_champion_is_rescored_on_the_same_data_or_stands_on_its_stored_metrics(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    candidate = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    # The same model as champion: re-scored on the (flipped) data it is exactly as poor, so no change check fails
    # although its stored metrics are far better.
    champion = candidate
    on_flipped_labels = judge(candidate, champion, support.gate_data(data, good=False), support.THRESHOLDS)
    change = [c for c in on_flipped_labels.checks if c.kind == "change"]
    assert change
    assert all(c.passed for c in change), change
    assert on_flipped_labels.champion_content_id == champion.content_id
    # A champion that reads an input the data lacks is compared through its stored (good) metrics instead.
    other = replace(champion, lineage=support.lineage(feature_names=("amount", "an_input_not_in_the_data")))
    against_stored = judge(candidate, other, support.gate_data(data, good=False), support.THRESHOLDS)
    assert "change:auc_roc" in against_stored.failed_checks


def test_a_candidate_whose_artifact_no_longer_loads_fails_with_the_error(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    (version.artifact_path / "weights.npz").write_bytes(b"changed")
    verdict = judge(version, None, support.gate_data(data), support.THRESHOLDS)
    assert not verdict.blessed
    failed = {c.name: c for c in verdict.checks if not c.passed}
    assert {"infrastructure:load", "value:evaluation"} <= set(failed)
    assert "TamperedArtifactError" in failed["value:evaluation"].detail


def test_data_without_the_candidates_inputs_is_refused(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    version = registry.register(support.forest_artifact(tmp_path / "a", data), name="rf", lineage=support.lineage())
    narrow = replace(support.gate_data(data), input_names=("amount", "card_count_1d", "something_else"))
    with pytest.raises(RegistryError, match=r"reads inputs \['terminal_fraud_share_7d'\]"):
        judge(version, None, narrow, support.THRESHOLDS)
