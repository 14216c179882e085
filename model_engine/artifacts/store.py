"""Save and load model artifacts: a directory of plain data, verified on every load.

Layout: ``graph.json`` (structure), ``weights.npz`` (constants, no pickle), ``signature.json``, ``metadata.json``
(with a ``lineage`` slot), ``golden.npz`` (an input batch and its output from the NumPy reference backend), the
explanation graph when the model has one (``explanation.json``, ``explanation.npz``: see :mod:`.explanation`) and
``manifest.json`` (SHA-256 of each file and one content id). Loading checks the manifest first, parses only JSON
and ``.npy`` data (nothing from the artifact is executed), then runs the golden batch on the chosen backend.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from model_engine.artifacts.explanation import read_explanation, write_explanation
from model_engine.artifacts.manifest import verify_manifest, write_manifest
from model_engine.artifacts.tensors import read_npz, write_npz
from model_engine.backends.numpy_backend import NumpyBackend
from model_engine.errors import ArtifactError, ArtifactExistsError, GoldenMismatchError, GraphError, SignatureError
from model_engine.ir.serialize import graph_from_json, graph_to_json
from model_engine.model import OUTPUT, CompiledModel
from model_engine.ops.groups import GroupOp
from model_engine.signature import Signature

Array = np.ndarray[Any, Any]
GOLDEN_ROWS = 64
TOLERANCE = {"float32": 1e-5, "float64": 1e-9}  # absolute, on probabilities, for backends other than numpy


def synthetic_golden_input(model: CompiledModel, rows: int = GOLDEN_ROWS) -> Array:
    """A seeded batch in signature order (see :meth:`Signature.synthetic_batch`); with NaN cells for tree models,
    to exercise the missing-value routing of their splits."""
    has_trees = any(node.op in GroupOp.TREE for node in model.graph.nodes)
    return model.signature.synthetic_batch(rows, missing=0.05 if has_trees else 0.0)


def check_new_artifact_path(path: Path) -> None:
    """Refuse to write an artifact where a file or a non-empty folder already is: artifacts are immutable."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ArtifactExistsError(f"{path} already exists and is not empty; artifacts are immutable, choose a new path")


def save_model(
    model: CompiledModel, path: str | Path, *, golden_input: Any = None, lineage: Mapping[str, Any] | None = None
) -> str:
    """Write ``model`` to a new directory ``path`` (atomically) and return the artifact's content id."""
    path = Path(path)
    check_new_artifact_path(path)
    raw = synthetic_golden_input(model) if golden_input is None else golden_input
    x = model.prepare_input(raw)
    expected = NumpyBackend().prepare(model.graph).run(x)[list(model.graph.outputs).index(OUTPUT)]
    metadata = {
        **model.metadata,
        "lineage": dict(lineage or {}),
        "passes": [{k: v for k, v in s.to_json().items() if k != "seconds"} for s in model.pass_stats],
        "op_counts": model.graph.op_counts(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        (staging / "graph.json").write_text(_dumps(graph_to_json(model.graph)))
        write_npz(staging / "weights.npz", model.graph.constants)
        (staging / "signature.json").write_text(_dumps(model.signature.to_json()))
        (staging / "metadata.json").write_text(_dumps(metadata))
        write_npz(staging / "golden.npz", {"input": x, "output": expected})
        write_explanation(model, staging, model.signature_matrix(raw), _dumps)
        cid = write_manifest(staging)
        if path.exists():
            path.rmdir()
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return cid


def _dumps(doc: Any) -> str:
    try:
        return json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"artifact metadata must be plain JSON (no NaN, no objects): {exc}") from exc


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc


def load_model(path: str | Path, backend: str = "numba", *, check_golden: bool = True) -> CompiledModel:
    """Load an artifact after verifying its manifest and, with ``check_golden``, its golden batch on ``backend``."""
    path = Path(path)
    cid = verify_manifest(path)
    try:
        graph = graph_from_json(_read_json(path / "graph.json"), read_npz(path / "weights.npz"))
        signature = Signature.from_json(_read_json(path / "signature.json"))
        metadata = _read_json(path / "metadata.json")
        explanation, note = read_explanation(path, metadata)
        model = CompiledModel(graph, signature, metadata={**metadata, "content_id": cid}, backend=backend,
                              explanation=explanation, explanation_note=note)  # fmt: skip
    except (GraphError, SignatureError) as exc:
        raise ArtifactError(f"{path} holds an invalid model: {exc}") from exc
    if check_golden:
        check_golden_batch(model, path, backend)
    return model


def check_golden_batch(model: CompiledModel, path: Path, backend: str) -> float:
    """Run the stored golden input and return the largest difference from the stored output (NaN on both sides
    counts as equal, on one side as infinitely far); it must be bit-identical on numpy and within the dtype's
    tolerance elsewhere, or :class:`GoldenMismatchError`."""
    golden = read_npz(path / "golden.npz")
    if set(golden) != {"input", "output"}:
        raise ArtifactError(f"{path / 'golden.npz'} must hold 'input' and 'output', has {sorted(golden)}")
    index = list(model.graph.outputs).index(OUTPUT)
    got = model.executable(backend).run(np.ascontiguousarray(golden["input"]))[index]
    expected = golden["output"]
    if got.shape != expected.shape:
        raise GoldenMismatchError(f"golden batch: output shape {got.shape}, expected {expected.shape}")
    if backend == "numpy":
        same = bool(np.array_equal(got, expected, equal_nan=True))
    else:
        same = bool(np.allclose(got, expected, rtol=0, atol=TOLERANCE[model.dtype], equal_nan=True))
    nan_got, nan_expected = np.isnan(got), np.isnan(expected)
    gaps = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    gaps = np.where(nan_got & nan_expected, 0.0, np.where(nan_got | nan_expected, np.inf, gaps))
    worst = float(np.max(gaps)) if gaps.size else 0.0
    if not same:
        raise GoldenMismatchError(
            f"{path}: the golden batch does not reproduce on backend {backend!r} (max difference {worst:.3g}); "
            "the artifact or this engine build is not the one it was made with"
        )
    return worst
