"""Artifacts: round trip, reproducible content id, tamper refusal (one flipped byte in any file), golden check."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from model_engine import CompiledModel, compile_model, load_model, save_model
from model_engine.artifacts import FILES, MANIFEST
from model_engine.artifacts.manifest import write_manifest
from model_engine.artifacts.tensors import write_npz
from model_engine.errors import ArtifactError, GoldenMismatchError, TamperedArtifactError

NAMES = [f"f{i}" for i in range(5)]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5)).astype(np.float32).astype(np.float64)
    y = (X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=400) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def model(data: tuple[np.ndarray, np.ndarray]) -> CompiledModel:
    X, y = data
    X = X.copy()
    X[::17, 2] = np.nan
    return compile_model(HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(X, y), NAMES)


@pytest.fixture(scope="module")
def saved(model: CompiledModel, data: tuple[np.ndarray, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("artifact") / "model"
    save_model(model, path, golden_input=data[0][:40], lineage={"training_run": "run-1"})
    return path


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_round_trip_predicts_identically(model: CompiledModel, saved: Path, backend: str,
                                         data: tuple[np.ndarray, np.ndarray]) -> None:  # fmt: skip
    loaded = load_model(saved, backend=backend)
    X = data[0]
    np.testing.assert_array_equal(loaded.predict_proba(X, backend=backend), model.predict_proba(X, backend=backend))
    assert loaded.signature == model.signature
    assert loaded.metadata["lineage"] == {"training_run": "run-1"}
    assert loaded.metadata["content_id"].startswith("sha256:")


def test_content_id_is_reproducible(model: CompiledModel, saved: Path, tmp_path: Path,
                                    data: tuple[np.ndarray, np.ndarray]) -> None:  # fmt: skip
    again = save_model(model, tmp_path / "again", golden_input=data[0][:40], lineage={"training_run": "run-1"})
    assert again == json.loads((saved / MANIFEST).read_text())["content_id"]
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (saved / name).read_bytes()


def test_deterministic_scores(saved: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    first = load_model(saved, backend="numba").score(data[0])
    second = load_model(saved, backend="numba").score(data[0])
    np.testing.assert_array_equal(first, second)


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for item in src.iterdir():
        (dst / item.name).write_bytes(item.read_bytes())
    return dst


@pytest.mark.parametrize("name", [*FILES, MANIFEST])
def test_one_flipped_byte_in_any_file_is_refused(saved: Path, tmp_path: Path, name: str) -> None:
    for position in (0, 0.5, -1):
        copy = _copy(saved, tmp_path / f"copy{position}")
        target = copy / name
        raw = bytearray(target.read_bytes())
        index = int(len(raw) * position) if isinstance(position, float) else position
        raw[index] ^= 0x01
        target.write_bytes(bytes(raw))
        with pytest.raises(TamperedArtifactError):
            load_model(copy, backend="numpy")


@pytest.mark.parametrize("edit", [lambda t: t.replace("{", "{ ", 1), lambda t: t.replace("\n  ", "\n\t", 1),
                                  lambda t: t.replace('"sha256:', '"\\u0073ha256:', 1)],
                         ids=["space", "tab", "escape"])  # fmt: skip
def test_manifest_edit_that_parses_the_same_is_refused(saved: Path, tmp_path: Path, edit: Callable[[str], str]) -> None:
    copy = _copy(saved, tmp_path / "copy")
    text = (copy / MANIFEST).read_text()
    edited = edit(text)
    assert edited != text
    assert json.loads(edited) == json.loads(text)
    (copy / MANIFEST).write_text(edited)
    with pytest.raises(TamperedArtifactError, match="byte for byte"):
        load_model(copy, backend="numpy")


def test_truncated_missing_and_extra_files_are_refused(saved: Path, tmp_path: Path) -> None:
    truncated = _copy(saved, tmp_path / "truncated")
    (truncated / "weights.npz").write_bytes((saved / "weights.npz").read_bytes()[:-10])
    with pytest.raises(TamperedArtifactError, match="truncated"):
        load_model(truncated)
    missing = _copy(saved, tmp_path / "missing")
    (missing / "golden.npz").unlink()
    with pytest.raises(TamperedArtifactError, match="missing"):
        load_model(missing)
    extra = _copy(saved, tmp_path / "extra")
    (extra / "payload.pkl").write_bytes(b"x")
    with pytest.raises(TamperedArtifactError, match="unexpected"):
        load_model(extra)


def test_consistent_rewrite_with_other_weights_fails_the_golden_batch(saved: Path, tmp_path: Path) -> None:
    forged = _copy(saved, tmp_path / "forged")
    with np.load(forged / "weights.npz", allow_pickle=False) as archive:
        weights = {k: archive[k] for k in archive.files}
    name = next(k for k, v in weights.items() if v.dtype.kind == "f")
    weights[name] = weights[name] + np.asarray(0.5, dtype=weights[name].dtype)
    write_npz(forged / "weights.npz", weights)
    write_manifest(forged)  # a consistent manifest: only the golden batch can tell
    with pytest.raises(GoldenMismatchError):
        load_model(forged, backend="numpy")


def test_consistent_rewrite_with_out_of_range_tree_indices_is_refused_before_running(
    model: CompiledModel, saved: Path, tmp_path: Path
) -> None:
    forged = _copy(saved, tmp_path / "forged")
    with np.load(forged / "weights.npz", allow_pickle=False) as archive:
        weights = {k: archive[k] for k in archive.files}
    tree = next(n for n in model.graph.nodes if n.op.startswith("tree"))
    weights[tree.inputs[1]] = np.full_like(weights[tree.inputs[1]], 10**6)  # split features far beyond x
    write_npz(forged / "weights.npz", weights)
    write_manifest(forged)  # consistent: only the graph check stands between these indices and a kernel
    with pytest.raises(ArtifactError, match="indices outside"):
        load_model(forged, backend="numba")


def test_save_refuses_existing_directories_and_object_arrays(model: CompiledModel, saved: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="immutable"):
        save_model(model, saved)
    with pytest.raises(ArtifactError, match="objects"):
        write_npz(tmp_path / "x.npz", {"a": np.array([object()], dtype=object)})


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("family", ["logistic", "mlp"])
def test_binary_linear_and_mlp_round_trip(data: tuple[np.ndarray, np.ndarray], tmp_path: Path, family: str,
                                          dtype: str, backend: str) -> None:  # fmt: skip
    """Binary heads keep scalar (0-d) constants, which the tensor archive must keep as 0-d."""
    X, y = data
    head = LogisticRegression() if family == "logistic" else MLPClassifier((6,), max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = make_pipeline(StandardScaler(), head).fit(X, y)
    compiled = compile_model(estimator, NAMES, dtype=dtype)
    save_model(compiled, tmp_path / family)
    loaded = load_model(tmp_path / family, backend=backend)
    assert {k: v.shape for k, v in loaded.graph.constants.items()} == {
        k: v.shape for k, v in compiled.graph.constants.items()
    }
    got = loaded.predict_proba(X)
    np.testing.assert_array_equal(got, compiled.predict_proba(X, backend=backend))
    np.testing.assert_allclose(got, estimator.predict_proba(X), rtol=0, atol=1e-9 if dtype == "float64" else 1e-5)


def test_pickled_arrays_are_never_loaded(saved: Path, tmp_path: Path) -> None:
    forged = _copy(saved, tmp_path / "pickled")
    with np.load(forged / "weights.npz", allow_pickle=False) as archive:
        weights = {k: archive[k] for k in archive.files}
    name = next(iter(weights))
    weights[name] = np.array([{"payload": 1}], dtype=object)
    np.savez(forged / "weights.npz", **weights)  # numpy pickles object arrays into the archive
    write_manifest(forged)
    with pytest.raises(ArtifactError, match="not a readable tensor archive"):
        load_model(forged, backend="numpy")
