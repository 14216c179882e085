"""The graph model engine: fitted scikit-learn pipelines compiled into typed graphs, optimised and run.

``compile_model(estimator, signature)`` gives a :class:`CompiledModel`; ``save_model(model, path)`` writes a
verified artifact and ``load_model(path)`` reads one back. ``model.explain(X)`` gives :class:`Contributions`:
per-row additive contributions of the features to the margin (linear terms, TreeSHAP, integrated gradients).
"""

from __future__ import annotations

from model_engine.artifacts.store import load_model, save_model
from model_engine.compile import compile_model
from model_engine.errors import ExplanationUnavailableError, ModelEngineError
from model_engine.explain import Contributions
from model_engine.model import CompiledModel
from model_engine.signature import Signature

__all__ = [
    "CompiledModel",
    "Contributions",
    "ExplanationUnavailableError",
    "ModelEngineError",
    "Signature",
    "compile_model",
    "load_model",
    "save_model",
]
