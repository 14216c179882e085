"""The converter registry: one converter per scikit-learn estimator type, and the dispatch every converter uses.

A converter is ``convert(estimator, builder, x) -> value``: it reads the fitted estimator, emits ops on ``builder``
that compute the estimator's ``transform`` (transformers) or ``predict_proba`` (classifiers) of the graph value
``x`` ([N, F] float), and returns the result. Converters register themselves with :func:`register_converter`;
the modules that hold them are listed in :mod:`model_engine.converters.supported`, which this registry loads on
first use (an import circle kept on purpose: see :func:`_load_converters`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from model_engine.converters.params import require_fitted
from model_engine.errors import ConversionError, MissingConverterError
from model_engine.ir import Value
from model_engine.ops import GraphBuilder

Converter = Callable[[Any, GraphBuilder, Value], Value]
C = TypeVar("C", bound=Converter)

_CONVERTERS: dict[type, Converter] = {}


def register_converter(*estimator_types: type) -> Callable[[C], C]:
    """Register the decorated function as the converter of exactly these estimator types."""

    def decorate(function: C) -> C:
        for estimator_type in estimator_types:
            if estimator_type in _CONVERTERS:
                raise ValueError(f"a converter for {estimator_type.__name__} is already registered")
            _CONVERTERS[estimator_type] = function
        return function

    return decorate


def registered_types() -> tuple[type, ...]:
    """Every estimator type with a converter, in registration order."""
    _load_converters()
    return tuple(_CONVERTERS)


def get_converter(estimator: Any) -> Converter:
    """The converter of an estimator's exact type (subclasses may change behaviour, so they are not matched)."""
    _load_converters()
    try:
        return _CONVERTERS[type(estimator)]
    except KeyError:
        names = ", ".join(sorted(t.__name__ for t in _CONVERTERS))
        raise MissingConverterError(
            f"no converter for {type(estimator).__module__}.{type(estimator).__name__}; supported estimators are "
            f"{names}. Replace the step with a supported one or add a converter module."
        ) from None


def convert(estimator: Any, builder: GraphBuilder, x: Value) -> Value:
    """Emit the ops of a fitted estimator applied to ``x``, after checking it is fitted and ``x`` fits it."""
    converter = get_converter(estimator)
    require_fitted(estimator)
    expected = getattr(estimator, "n_features_in_", None)
    width = builder.type_of(x).shape[1]
    if expected is not None and width != expected:
        raise ConversionError(
            f"{type(estimator).__name__} was fitted on {expected} features but receives {width}; check the "
            "signature's feature list against the columns the model was trained on"
        )
    return converter(estimator, builder, x)


def _load_converters() -> None:
    # The one import circle of the engine, by design: the catalogue imports every converter module, each of which
    # imports this registry to register itself; the registry loads the catalogue on first lookup so callers never
    # see a half-filled registry. tests/model_engine/test_import_graph.py allows this circle and no other.
    import model_engine.converters.supported  # noqa: F401
