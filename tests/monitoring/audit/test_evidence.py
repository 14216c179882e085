"""A model's evidence exports as a signed bundle that verifies on its own; a modified one does not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifecycle.registry import RegistryError
from lifecycle.registry.evidence import evidence_files
from lifecycle.registry.registry import ModelRegistry
from monitoring.audit import verify_bundle
from monitoring.audit.evidence import export_evidence
from tests.lifecycle.registry import support as registry_support
from tests.monitoring.audit import support


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return registry_support.make_data()


def model_with_evidence(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> tuple[ModelRegistry, str]:
    registry = registry_support.make_registry(tmp_path)
    artifact = registry_support.forest_artifact(tmp_path / "artifact", data)
    version = registry.register(artifact, name="rf", lineage=registry_support.lineage(), actor="trainer")
    registry_support.judge_and_record(registry, version.content_id, data)
    registry.promote(version.content_id, actor="alice", reason="first champion", ticket="CHG-1")
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    (run / "validation" / "validations").mkdir(parents=True)
    (run / "report.html").write_text("<h1>Training run</h1><img src='plots/roc.png'>")
    (run / "evaluation.json").write_text(json.dumps({"overall": {"auc_roc": 0.95}}))
    (run / "plots" / "roc.png").write_bytes(b"\x89PNG roc curve")
    (run / "validation" / "index.html").write_text("<a href='validations/run.html'>run</a>")
    (run / "validation" / "validations" / "run.html").write_text("all expectations met")
    files = {"report.html": run / "report.html", "evaluation.json": run / "evaluation.json"}
    files |= evidence_files(run / "plots", "plots") | evidence_files(run / "validation", "validation")
    registry.attach_evidence(version.content_id, files)
    return registry, version.content_id


def test_the_evidence_bundle_holds_the_record_and_verifies(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    registry, content_id = model_with_evidence(tmp_path, data)
    manifest = export_evidence(registry, "champion", tmp_path / "bundle", signer=support.SIGNER, actor="examiner")
    bundle = tmp_path / "bundle"
    assert manifest["content_id"] == content_id
    assert manifest["blessed"] is True
    names = set(manifest["files"])
    assert {"model.json", "lineage.json", "verdict.json", "history.json", "artifact/manifest.json"} <= names
    assert {"evidence/report.html", "evidence/plots/roc.png", "evidence/validation/validations/run.html"} <= names
    assert all(not Path(name).is_absolute() and ".." not in name for name in names)
    history = json.loads((bundle / "history.json").read_text())
    assert [(h["action"], h["changed_by"], h["ticket"]) for h in history] == [("deploy", "alice", "CHG-1")]
    assert json.loads((bundle / "verdict.json").read_text())["content_id"] == content_id
    report = verify_bundle(bundle, support.SIGNER.public_key_hex)
    assert report.ok, report.findings
    assert report.kind == "fraud-model-evidence/1"


@pytest.mark.parametrize(
    ("modify", "message"),
    [
        (lambda b: (b / "evidence" / "plots" / "roc.png").write_bytes(b"\x89PNG other"), "roc.png differs"),
        (lambda b: (b / "verdict.json").write_text('{"blessed": true}'), "verdict.json differs"),
        (lambda b: (b / "evidence" / "validation" / "index.html").unlink(), "index.html is listed"),
        (
            lambda b: (b / "manifest.json").write_text((b / "manifest.json").read_text().replace("true", "false")),
            "signature does not verify",
        ),
    ],
)
def test_a_modified_evidence_bundle_fails(
    modify: object, message: str, tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    registry, _ = model_with_evidence(tmp_path, data)
    export_evidence(registry, "champion", tmp_path / "bundle", signer=support.SIGNER, actor="examiner")
    modify(tmp_path / "bundle")  # type: ignore[operator]
    report = verify_bundle(tmp_path / "bundle", support.SIGNER.public_key_hex)
    assert not report.ok
    assert any(message in f for f in report.findings), report.findings


def test_evidence_altered_in_the_store_is_not_exported(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    registry, content_id = model_with_evidence(tmp_path, data)
    item = next(i for i in registry.evidence(content_id) if i.name == "report.html")
    (tmp_path / "store" / "evidence" / "sha256" / item.sha256).write_text("<h1>a nicer story</h1>")
    with pytest.raises(RegistryError, match="altered"):
        export_evidence(registry, content_id, tmp_path / "bundle", signer=support.SIGNER, actor="examiner")
    assert not (tmp_path / "bundle").exists()
