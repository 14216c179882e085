"""The graph model engine: fitted scikit-learn pipelines compiled into typed graphs, optimised and run.

``compile_model(estimator, signature)`` gives a :class:`CompiledModel`; ``model.save(path)`` writes a verified
artifact and ``load_model(path)`` reads one back.
"""

from __future__ import annotations

from model_engine.compile import compile_model
from model_engine.errors import ModelEngineError
from model_engine.model import CompiledModel, load_model
from model_engine.signature import Signature

__all__ = ["CompiledModel", "ModelEngineError", "Signature", "compile_model", "load_model"]
