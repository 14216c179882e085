"""Deployments follow the gate: a verdict reached against an earlier champion (or before there was one) does not
promote (issue 12, point 2), and concurrent deployments take turns, so that two candidates judged against the
same champion are not both promoted and the alias history names the champion each change really replaced
(point 6). On SQLite and on a real PostgreSQL server, with several processes."""

from __future__ import annotations

import itertools
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lifecycle.registry import DeploymentRefusedError
from lifecycle.registry.registry import ModelRegistry
from scoring_api.cli import app
from tests.lifecycle.registry import support


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty registry database: a SQLite file, or a database of its own on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.sqlite"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _registry_with_blessed_versions(
    url: str, tmp_path: Path, data: tuple[np.ndarray, np.ndarray], count: int
) -> tuple[ModelRegistry, list[str]]:
    """The registry at ``url`` holding ``count`` versions, each blessed by a verdict reached when there was no
    champion."""
    registry = ModelRegistry(url, tmp_path / "store", signing_key=support.KEY)
    refs = []
    for seed in range(count):
        artifact = support.forest_artifact(tmp_path / f"artifact-{seed}", data, seed=seed)
        version = registry.register(artifact, name=f"rf-{seed}", lineage=support.lineage())
        assert support.judge_and_record(registry, version.content_id, data).blessed
        refs.append(version.content_id)
    return registry, refs


def test_an_old_verdict_does_not_promote_over_a_newer_champion(
    registry_url: str, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    # The reproduction: a first model blessed when there was no champion, then a better one blessed and
    # promoted; promoting the first afterwards must not replace the champion without comparing the two.
    registry, (weaker, better) = _registry_with_blessed_versions(registry_url, tmp_path, data, 2)
    registry.promote(better)
    with pytest.raises(DeploymentRefusedError, match=r"judged against champion \(none.*champion is now"):
        registry.promote(weaker)
    env = {
        "FRAUD_REGISTRY_URL": registry_url,
        "FRAUD_MODEL_STORE": str(tmp_path / "store"),
        "FRAUD_MODEL_SIGNING_KEY": support.KEY.get_secret_value(),
    }
    refused = CliRunner().invoke(app, ["models", "promote", weaker, "--reason", "it was blessed first"], env=env)
    assert refused.exit_code == 1, refused.output
    assert "judge it again against the current champion" in refused.output
    assert "Traceback" not in refused.output
    assert registry.get("champion").content_id == better
    # Judged again, against the champion of the day, it is promoted if it holds up (the gate decides).
    if support.judge_and_record(registry, weaker, data, champion=better).blessed:
        registry.promote(weaker)
        assert registry.get("champion").content_id == weaker
    else:
        with pytest.raises(DeploymentRefusedError, match="not blessed"):
            registry.promote(weaker)
    registry.close()


def _run_processes(registry_url: str, store: Path, plans: list[list[str]], alias: str, rounds: int) -> list[str]:
    # A fork server imports the registry once; each test's processes are forked from it, clean of this one's
    # threads and connections.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.lifecycle.registry.support"])
    start = context.Barrier(len(plans))
    outcomes = context.Queue()
    processes = [
        context.Process(
            target=support.deploy_repeatedly, args=(registry_url, store, refs, alias, start, outcomes, rounds)
        )
        for refs in plans
    ]
    for process in processes:
        process.start()
    results = [outcomes.get(timeout=300) for _ in range(rounds * sum(len(refs) for refs in plans))]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return results


def test_two_candidates_judged_against_the_same_champion_are_not_both_promoted(
    registry_url: str, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    # Two `fraud train --promote` runs at once: both judged when there was no champion, both promoting together.
    registry, (first, second) = _registry_with_blessed_versions(registry_url, tmp_path, data, 2)
    outcomes = _run_processes(registry_url, tmp_path / "store", [[first], [second]], "champion", rounds=1)
    assert sorted(outcome == "ok" for outcome in outcomes) == [False, True], outcomes
    assert "judge it again" in next(outcome for outcome in outcomes if outcome != "ok")
    history = registry.alias_history()
    assert len(history) == 1
    assert history[0]["previous_content_id"] is None
    assert registry.get("champion").content_id == history[0]["content_id"]
    registry.close()


def test_concurrent_deployments_record_the_target_each_one_replaced(
    registry_url: str, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    # The reproduction: 2 processes x 40 deployments of the same alias. Every history row must name as
    # the previous target the one the row before it set.
    registry, refs = _registry_with_blessed_versions(registry_url, tmp_path, data, 3)
    plans = [[refs[0], refs[1]], [refs[2], refs[1]]]
    outcomes = _run_processes(registry_url, tmp_path / "store", plans, "challenger", rounds=20)
    assert outcomes == ["ok"] * 80
    history = registry.alias_history()
    # Deploying the version the alias already names records nothing: the others are the 40 to 80 real moves.
    assert 40 <= len(history) <= 80
    assert history[0]["previous_content_id"] is None
    for before, after in itertools.pairwise(history):
        assert after["previous_content_id"] == before["content_id"]
    assert registry.get("challenger").content_id == history[-1]["content_id"]
    registry.close()
