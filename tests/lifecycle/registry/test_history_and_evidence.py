"""Alias history records who, why and under which ticket (card numbers typed into them masked); promoting the
champion again changes and records nothing; a sink that cannot record makes the call fail with a registry
error; evidence is kept by content under relative names; a registry copied elsewhere still finds its models;
registries made before the history columns gain them."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from lifecycle.registry import ModelRegistry, RegistryError, RegistryEvent, RegistryEventKind
from lifecycle.registry.evidence import evidence_files
from tests.lifecycle.registry import support


class Recorder:
    """A sink that keeps what it is told, and refuses once asked to (as an unreachable audit trail would)."""

    def __init__(self) -> None:
        self.events: list[RegistryEvent] = []
        self.fail = False

    def record(self, event: RegistryEvent) -> None:
        if self.fail:
            raise RuntimeError("the audit trail is unreachable")
        self.events.append(event)


def _registry(root: Path, sink: Recorder | None = None) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{root}/registry.sqlite", root / "store", signing_key=support.KEY, events=sink)


def _blessed(
    registry: ModelRegistry, tmp_path: Path, data: tuple[np.ndarray, np.ndarray], seed: int, champion: str | None = None
) -> str:
    """A registered forest, blessed by the gate against ``champion`` (a promotion requires the current one)."""
    artifact = support.forest_artifact(tmp_path / f"artifact{seed}", data, seed=seed)
    version = registry.register(artifact, name="rf", lineage=support.lineage())
    support.judge_and_record(registry, version.content_id, data, champion=champion)
    return version.content_id


def test_history_keeps_action_reason_and_ticket(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    registry = _registry(tmp_path)
    one = _blessed(registry, tmp_path, data, 1)
    two = _blessed(registry, tmp_path, data, 2, champion=one)
    registry.promote(one, actor="alice", reason="first champion", ticket="CHG-1")
    registry.promote(two, actor="bob", reason="customer 4111 1111 1111 1111 complained", ticket="4111111111111111")
    registry.rollback(actor="carol", reason="incident", ticket="INC-9")
    history = [(h["action"], h["changed_by"], h["reason"], h["ticket"]) for h in registry.alias_history()]
    assert history == [
        ("deploy", "alice", "first champion", "CHG-1"),
        ("deploy", "bob", "customer 411111******1111 complained", "411111******1111"),
        ("rollback", "carol", "incident", "INC-9"),
    ]


def test_promoting_the_champion_again_changes_and_records_nothing(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    sink = Recorder()
    registry = _registry(tmp_path, sink)
    one = _blessed(registry, tmp_path, data, 1)
    registry.promote(one, reason="first")
    recorded = len(sink.events)
    assert registry.promote(one, reason="again").content_id == one
    assert len(sink.events) == recorded
    assert [h["previous_content_id"] for h in registry.alias_history()] == [None]


def test_a_sink_that_fails_makes_the_call_fail_with_a_registry_error(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    sink = Recorder()
    registry = _registry(tmp_path, sink)
    one = _blessed(registry, tmp_path, data, 1)
    sink.fail = True
    with pytest.raises(RegistryError, match=r"deployed of sha256:.* could not be recorded: the audit trail"):
        registry.promote(one, reason="unrecorded")


def test_evidence_is_kept_by_content_under_relative_names(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    sink = Recorder()
    registry = _registry(tmp_path, sink)
    one = _blessed(registry, tmp_path, data, 1)
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    (run / "report.html").write_text("<img src='plots/roc.png'>")
    (run / "plots" / "roc.png").write_bytes(b"\x89PNG roc")
    (run / "plots" / "copy.png").write_bytes(b"\x89PNG roc")  # the same bytes: stored once
    kept = registry.attach_evidence(one, {"report.html": run / "report.html", **evidence_files(run / "plots", "plots")})
    assert [k.name for k in kept] == ["plots/copy.png", "plots/roc.png", "report.html"]
    assert len(list((tmp_path / "store" / "evidence" / "sha256").iterdir())) == 2
    announced = sink.events[-1]
    assert announced.kind is RegistryEventKind.EVIDENCE
    assert dict(announced.evidence)["report.html"] == kept[2].sha256
    # The run folder can go: the registry keeps the files. A stored file whose bytes change is refused.
    shutil.rmtree(run)
    assert registry.evidence_path(kept[2]).read_text() == "<img src='plots/roc.png'>"
    registry.evidence_path(kept[1]).write_bytes(b"\x89PNG forged")
    with pytest.raises(RegistryError, match="altered"):
        registry.evidence_path(kept[1])
    with pytest.raises(RegistryError, match="relative paths"):
        registry.attach_evidence(one, {"../escape.html": tmp_path / "x"})
    with pytest.raises(RegistryError, match="does not exist"):
        registry.attach_evidence(one, {"missing.html": tmp_path / "missing.html"})


def test_a_registry_copied_elsewhere_still_finds_its_models(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    registry = _registry(tmp_path / "here")
    one = _blessed(registry, tmp_path, data, 1)
    registry.close()
    shutil.copytree(tmp_path / "here", tmp_path / "there")
    shutil.rmtree(tmp_path / "here")
    moved = _registry(tmp_path / "there")
    assert moved.get(one).artifact_path.is_relative_to((tmp_path / "there").resolve())
    moved.promote(one, reason="after the move")  # deployment re-checks the files where they now are


def test_a_registry_made_before_the_history_columns_gains_them(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "registry.sqlite") as connection:
        connection.execute(
            "CREATE TABLE alias_history (alias TEXT NOT NULL, content_id TEXT NOT NULL, previous_content_id TEXT, "
            "changed_at TEXT NOT NULL, changed_by TEXT NOT NULL)"
        )
        connection.execute("INSERT INTO alias_history VALUES ('champion', 'sha256:old', NULL, '2025-01-01', 'root')")
    assert _registry(tmp_path).alias_history() == [
        {
            "alias": "champion",
            "content_id": "sha256:old",
            "previous_content_id": None,
            "changed_at": "2025-01-01",
            "changed_by": "root",
            "action": "deploy",
            "reason": None,
            "ticket": None,
        }
    ]
