"""The default compute precision of an artifact: exact for the inputs the pipeline was fitted on.

float32 halves the memory traffic and doubles the BLAS throughput, but it may change an answer: a float64 input
rounded to float32 can cross a split threshold, a bin edge or a category value, and long sums lose digits. So
float32 is chosen only when both hold, and float64 otherwise:

1. **every decision is kept** (:func:`~model_engine.passes.exactness.first_inexact_decision`): each comparison,
   split, bin edge and category match reads values float32 holds exactly for the declared input dtypes
   (float32 or bool data, category codes), the other side being rounded the way the decision needs;
2. **the arithmetic stays within** :data:`PROBE_TOLERANCE` of the float64 graph's probabilities on a probe batch
   (the caller's sample of real inputs when given, else a seeded synthetic batch of the signature).

The float64 graph itself reproduces the estimator (decisions exact, sums in float64), so either way the scores
match ``predict_proba`` within 1e-5 for inputs of the declared dtype. ``inspect`` shows the choice and its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from model_engine.backends.numpy_backend import run_graph
from model_engine.ir.graph import Graph
from model_engine.passes.exactness import first_inexact_decision
from model_engine.passes.infra import PipelineResult
from model_engine.signature import Signature

Array = np.ndarray[Any, Any]
PROBE_TOLERANCE = 1e-6
"""Largest float32 - float64 probability difference on the probe batch that still allows float32 (a tenth of the
1e-5 parity target: the probe is a sample, not every input)."""
PROBE_ROWS = 512


@dataclass(frozen=True)
class Precision:
    """The chosen compute dtype, why, and the probe's float32 - float64 difference when it was measured."""

    dtype: str
    reason: str
    probe_max_abs_diff: float | None

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "reason": self.reason, "probe_max_abs_diff": self.probe_max_abs_diff}


def _run(result: PipelineResult, x: Array) -> Array:
    for stat in result.stats:
        kept = stat.notes.get("kept_columns")
        if kept is not None:
            x = x[:, list(kept)]
    graph = result.graph
    index = list(graph.outputs).index("probabilities")
    return run_graph(graph, np.ascontiguousarray(x, dtype=graph.inputs[0].type.dtype.numpy))[index]


def _max_difference(a: Array, b: Array) -> float:
    both_nan = np.isnan(a) & np.isnan(b)
    gap = np.where(both_nan, 0.0, np.abs(a.astype(np.float64) - b.astype(np.float64)))
    return float(np.max(gap, initial=0.0)) if not np.isnan(gap).any() else float("inf")


def choose_precision(
    graph: Graph,
    signature: Signature,
    optimise: Callable[[str], PipelineResult],
    *,
    probe: Array | None = None,
) -> tuple[Precision, PipelineResult]:
    """The precision for the converted (float64) ``graph`` and the optimised graph in it.

    ``optimise(dtype)`` runs the pass pipeline for a dtype; ``probe`` is a float matrix in signature order.
    """
    declared = ", ".join(sorted(set(signature.dtypes)))
    problem = first_inexact_decision(graph, signature.float32_exact_columns)
    if problem is not None:
        return Precision("float64", f"inputs are {declared}: {problem}", None), optimise("float64")
    batch = probe if probe is not None else signature.synthetic_batch(PROBE_ROWS, missing=0.05)
    source = "the given sample" if probe is not None else f"{len(batch)} synthetic rows"
    wide, narrow = optimise("float64"), optimise("float32")
    gap = _max_difference(_run(narrow, batch), _run(wide, batch))
    if gap <= PROBE_TOLERANCE:
        reason = (f"inputs are {declared}: float32 keeps every decision, and its probabilities are within "
                  f"{gap:.1e} of float64 on {source}")  # fmt: skip
        return Precision("float32", reason, gap), narrow
    reason = f"float32 probabilities differ from float64 by {gap:.1e} (> {PROBE_TOLERANCE:.0e}) on {source}"
    return Precision("float64", reason, gap), wide
