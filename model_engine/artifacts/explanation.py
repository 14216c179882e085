"""The explanation graph in an artifact: ``explanation.json`` (structure, method, notes) and ``explanation.npz``.

``explanation.json`` states the quantity the margin is (``quantity``; a file without it, written before calibrated
models and soft votes explained, explains the score's logit).

The archive holds the graph's constants and, under ``golden:`` names (which no graph value can take), a golden
batch: the first rows of the artifact's golden input and the explanation the NumPy reference gave for them. The
manifest covers both files; loading verifies the graph, and the model checks the golden explanation the first time
it explains on each backend. An artifact without the two files still loads; its model explains nothing and says
to recompile (or, for a model that cannot be explained, why: from ``metadata.json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model_engine.artifacts.tensors import read_npz, write_npz
from model_engine.errors import ArtifactError, GraphError, ModelEngineError
from model_engine.explain.contributions import SCORE_LOGIT
from model_engine.explain.explanation import CONTRIBUTIONS, GOLDEN_ROWS, MARGIN, RECOMPILE, ExplanationGraph, Golden
from model_engine.ir.serialize import graph_from_json, graph_to_json

if TYPE_CHECKING:
    from model_engine.model import CompiledModel

Array = np.ndarray[Any, Any]
STRUCTURE, ARRAYS = "explanation.json", "explanation.npz"
GOLDEN = "golden:"
FORMAT_VERSION = 1


def write_explanation(model: CompiledModel, directory: Path, golden_input: Array, dumps: Any) -> None:
    """Write the model's explanation graph and its golden explanation (none when the model has no graph)."""
    explanation = model.explanation
    if explanation is None:
        return
    from model_engine.backends.numpy_backend import NumpyBackend

    x = np.ascontiguousarray(golden_input[:GOLDEN_ROWS], dtype=np.float64)
    outputs = dict(zip(explanation.graph.outputs, NumpyBackend().prepare(explanation.graph).run(x), strict=True))
    doc = {"format_version": FORMAT_VERSION, "method": explanation.method, "quantity": explanation.quantity,
           "notes": dict(explanation.notes), "graph": graph_to_json(explanation.graph)}  # fmt: skip
    (directory / STRUCTURE).write_text(dumps(doc))
    golden = {f"{GOLDEN}input": x, f"{GOLDEN}contributions": outputs[CONTRIBUTIONS], f"{GOLDEN}margin": outputs[MARGIN]}
    write_npz(directory / ARRAYS, {**explanation.graph.constants, **golden})


def read_explanation(directory: Path, metadata: Mapping[str, Any]) -> tuple[ExplanationGraph | None, str]:
    """The artifact's explanation graph, or None and why the model explains nothing."""
    present = [(directory / name).is_file() for name in (STRUCTURE, ARRAYS)]
    if not any(present):
        recorded = metadata.get("explanation")
        reason = recorded.get("unavailable") if isinstance(recorded, Mapping) else None
        return None, str(reason) if reason else RECOMPILE
    if not all(present):
        raise ArtifactError(f"{directory} holds one of {STRUCTURE} and {ARRAYS} without the other")
    try:
        doc = json.loads((directory / STRUCTURE).read_text())
        if doc["format_version"] != FORMAT_VERSION:
            raise ArtifactError(f"{directory / STRUCTURE}: unsupported format_version {doc['format_version']!r}")
        arrays = read_npz(directory / ARRAYS)
        golden = {k[len(GOLDEN) :]: v for k, v in arrays.items() if k.startswith(GOLDEN)}
        constants = {k: v for k, v in arrays.items() if not k.startswith(GOLDEN)}
        if set(golden) != {"input", "contributions", "margin"}:
            raise ArtifactError(f"{directory / ARRAYS} lacks the golden explanation (has {sorted(golden)})")
        # written before quantities were recorded: every graph then explained the score's logit
        quantity = str(doc.get("quantity", SCORE_LOGIT))
        explanation = ExplanationGraph(graph_from_json(doc["graph"], constants), str(doc["method"]),
                                       dict(doc["notes"]), Golden(**golden), quantity)  # fmt: skip
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{directory / STRUCTURE} is not a readable explanation graph: {exc!r}") from exc
    except (GraphError, ModelEngineError) as exc:
        if isinstance(exc, ArtifactError):
            raise
        raise ArtifactError(f"{directory} holds an invalid explanation graph: {exc}") from exc
    return explanation, ""
