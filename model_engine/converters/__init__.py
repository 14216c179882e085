"""Converters from fitted scikit-learn estimators to graphs: one module per family, one catalogue.

``convert_estimator(model, feature_names)`` gives the verified graph of a fitted model; ``SUPPORTED_ESTIMATORS``
lists what compiles. Fitted parameters are read by :mod:`model_engine.converters.params`, apart from emission.
"""

from __future__ import annotations

from model_engine.converters.convert import PROBABILITIES, TRANSFORMED, convert_estimator
from model_engine.converters.registry import Converter, convert, get_converter, register_converter, registered_types
from model_engine.converters.supported import SUPPORTED_ESTIMATORS

__all__ = [
    "PROBABILITIES",
    "SUPPORTED_ESTIMATORS",
    "TRANSFORMED",
    "Converter",
    "convert",
    "convert_estimator",
    "get_converter",
    "register_converter",
    "registered_types",
]
