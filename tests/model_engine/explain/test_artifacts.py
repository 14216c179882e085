"""The explanation graph in an artifact: saved, covered by the manifest, loaded and checked against its golden
explanation; artifacts written before explanations existed still load and say to recompile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model_engine import CompiledModel, load_model, save_model
from model_engine.artifacts.manifest import MANIFEST, write_manifest
from model_engine.artifacts.tensors import read_npz, write_npz
from model_engine.errors import ArtifactError, ExplanationUnavailableError, GoldenMismatchError, TamperedArtifactError
from tests.model_engine.explain.cases import AnyCase, compiled, explainable_cases

EXPLAINABLE = {c.id: c for c in explainable_cases()}


def _saved(case: AnyCase, path: Path) -> tuple[CompiledModel, Path]:
    model = compiled(case.id, "float32")
    save_model(model, path, golden_input=case.inputs(40, seed=9))
    return model, path


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for item in src.iterdir():
        (dst / item.name).write_bytes(item.read_bytes())
    return dst


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("case_id", sorted(EXPLAINABLE))
def test_round_trip_explains_identically(case_id: str, backend: str, tmp_path: Path) -> None:
    case = EXPLAINABLE[case_id]
    model, path = _saved(case, tmp_path / "model")
    assert {"explanation.json", "explanation.npz"} <= set(json.loads((path / MANIFEST).read_text())["files"])
    loaded = load_model(path, backend=backend)
    X = case.inputs(31, seed=2)
    got, want = loaded.explain(X), model.explain(X, backend=backend)
    for name in ("values", "base_value", "margin"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    assert got.method == want.method
    assert loaded.metadata["explanation"]["method"] == want.method


def _old_artifact(path: Path) -> None:
    """Make ``path`` look like an artifact of an engine without explanations (manifest format version 1)."""
    for name in ("explanation.json", "explanation.npz"):
        (path / name).unlink()
    metadata = json.loads((path / "metadata.json").read_text())
    del metadata["explanation"]
    (path / "metadata.json").write_text(json.dumps(metadata, indent=1, sort_keys=True) + "\n")
    write_manifest(path)
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["format_version"] = 1
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def test_an_artifact_from_before_explanations_loads_and_says_to_recompile(tmp_path: Path) -> None:
    case = next(iter(EXPLAINABLE.values()))
    model, path = _saved(case, tmp_path / "model")
    _old_artifact(path)
    loaded = load_model(path, backend="numba")
    X = case.inputs(9)
    np.testing.assert_array_equal(loaded.score(X), model.score(X))
    with pytest.raises(ExplanationUnavailableError, match="recompile"):
        loaded.explain(X)
    (path / "explanation.json").write_text("{}")  # a version-1 artifact cannot hold explanation files
    with pytest.raises(TamperedArtifactError):
        load_model(path)


@pytest.mark.parametrize("name", ["explanation.json", "explanation.npz"])
def test_explanation_files_are_covered_by_the_manifest(name: str, tmp_path: Path) -> None:
    _, path = _saved(next(iter(EXPLAINABLE.values())), tmp_path / "model")
    flipped = _copy(path, tmp_path / "flipped")
    raw = bytearray((flipped / name).read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (flipped / name).write_bytes(bytes(raw))
    with pytest.raises(TamperedArtifactError):
        load_model(flipped, backend="numpy")
    removed = _copy(path, tmp_path / "removed")
    (removed / name).unlink()
    with pytest.raises(TamperedArtifactError, match="missing"):
        load_model(removed, backend="numpy")
    write_manifest(removed)  # a consistent manifest over half an explanation
    with pytest.raises(ArtifactError, match="without the other"):
        load_model(removed, backend="numpy")


def test_consistently_forged_explanation_weights_fail_the_golden_explanation(tmp_path: Path) -> None:
    case = next(iter(EXPLAINABLE.values()))
    _, path = _saved(case, tmp_path / "model")
    arrays = read_npz(path / "explanation.npz")
    name = next(k for k, v in arrays.items() if not k.startswith("golden:") and v.dtype.kind == "f" and v.size > 1)
    arrays[name] = arrays[name] * 1.5
    write_npz(path / "explanation.npz", arrays)
    write_manifest(path)
    loaded = load_model(path, backend="numba")  # scoring is untouched: only explaining runs the forged graph
    for backend in ("numpy", "numba"):
        with pytest.raises(GoldenMismatchError, match="golden explanation"):
            loaded.explain(case.inputs(3), backend=backend)
