"""ExplanationGraph: the graph a model's explanations run on, compiled beside its scoring graph.

It reads the signature's full input matrix ``x [N, F]`` in float64 and returns ``contributions [N, F + 1]`` (one
column per signature feature, then the base value) and ``margin [N, 1]``; ``quantity`` states what the margin is
(:data:`~model_engine.explain.contributions.SCORE_LOGIT` for a single classifier). A float32 model's explanation graph
rounds ``x`` to float32 first, so its tree decisions are the scoring graph's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model_engine.errors import ExplanationUnavailableError
from model_engine.explain.contributions import SCORE_LOGIT
from model_engine.ir.graph import Graph
from model_engine.ir.types import DType
from model_engine.ops.verify import verify_graph

CONTRIBUTIONS = "contributions"
MARGIN = "margin"
GOLDEN_ROWS = 16
RECOMPILE = (
    "it was compiled by an engine without explanations; recompile it (fraud artifact compile, or retrain) to "
    "store its explanation graph"
)


@dataclass(frozen=True)
class Golden:
    """A batch and the explanation the NumPy reference gave for it when the artifact was written."""

    input: np.ndarray[Any, Any]
    contributions: np.ndarray[Any, Any]
    margin: np.ndarray[Any, Any]


@dataclass(frozen=True)
class ExplanationGraph:
    """The verified explanation graph, its method and notes (JSON data: baseline, integration rule), and the
    quantity its margin is."""

    graph: Graph
    method: str
    notes: Mapping[str, Any] = field(default_factory=dict)
    golden: Golden | None = None
    quantity: str = SCORE_LOGIT

    def __post_init__(self) -> None:
        verify_graph(self.graph)
        if [v.type.dtype for v in self.graph.inputs] != [DType.FLOAT64] or set(self.graph.outputs) != {
            CONTRIBUTIONS,
            MARGIN,
        }:
            raise ExplanationUnavailableError(
                f"an explanation graph reads one float64 matrix and returns {CONTRIBUTIONS!r} and {MARGIN!r}; "
                "this one does not: recompile the model"
            )

    @property
    def n_features(self) -> int:
        return int(self.graph.inputs[0].type.shape[1] or 0)
