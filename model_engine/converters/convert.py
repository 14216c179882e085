"""``convert_estimator``: a fitted scikit-learn estimator to a verified graph over one input matrix ``x``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sklearn.base import is_classifier

from model_engine.converters.categories import ConversionBuilder
from model_engine.converters.registry import convert
from model_engine.errors import ConversionError, SignatureError
from model_engine.ir import DType, Graph, Value
from model_engine.ops import GraphBuilder

INPUT_NAME = "x"
PROBABILITIES = "probabilities"
TRANSFORMED = "transformed"


def convert_estimator(estimator: Any, inputs: int | Sequence[str], *, dtype: DType | str = DType.FLOAT32) -> Graph:
    """Compile a fitted estimator into a graph ``x [N, F] -> probabilities [N, C]`` (classifiers) or
    ``-> transformed [N, K]`` (transformers), computing in ``dtype``.

    ``inputs`` is either the width F of ``x`` or the signature's feature names in column order. With names, an
    estimator fitted on a DataFrame (it has ``feature_names_in_``) reads its columns by name, whatever their
    position in the signature; the signature may hold more features than the estimator uses.

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    >>> graph = convert_estimator(model, 1, dtype="float64")
    >>> list(graph.outputs)
    ['probabilities']
    """
    names = [str(n) for n in inputs] if not isinstance(inputs, int) else [f"x{i}" for i in range(inputs)]
    graph, vocabularies = _convert(estimator, names, {}, DType(dtype), by_name=not isinstance(inputs, int))
    if vocabularies:
        raise ConversionError(
            f"the estimator reads string categories ({', '.join(vocabularies)}): its graph takes vocabulary codes, "
            "so compile it with compile_model, whose signature carries the vocabularies"
        )
    return graph


def convert_with_vocabularies(
    estimator: Any, feature_names: Sequence[str], vocabularies: Mapping[str, Sequence[str]]
) -> tuple[Graph, dict[str, tuple[str, ...]]]:
    """The float64 graph of an estimator over named features, and the vocabulary of each categorical input.

    Encoders fitted on strings read vocabulary codes (see :mod:`.categories`); ``vocabularies`` are the ones the
    signature already declares (kept, and extended by categories only the encoders know).
    """
    return _convert(estimator, [str(n) for n in feature_names], vocabularies, DType.FLOAT64, by_name=True)


def start_conversion(
    estimator: Any,
    feature_names: Sequence[str],
    vocabularies: Mapping[str, Sequence[str]],
    dtype: DType = DType.FLOAT64,
    *,
    by_name: bool = True,
) -> tuple[ConversionBuilder, Value]:
    """A conversion under way: its builder (which knows the vocabularies) and the columns of the builder's input
    ``x [N, F]`` that ``estimator`` reads (chosen by name when ``by_name`` and it was fitted on named features).

    Every graph made from a fitted estimator starts here, the scoring graph and the explanation graph
    (:mod:`model_engine.explain.build`) alike, so both read the same columns and the same category codes.
    """
    if not dtype.is_float:
        raise ConversionError(f"graphs compute in float32 or float64, not {dtype.value}")
    names = [str(n) for n in feature_names]
    builder = ConversionBuilder(names, vocabularies)
    x = builder.input(INPUT_NAME, dtype, len(names))
    return builder, (_align_by_name(estimator, builder, x, names) if by_name else x)


def _convert(
    estimator: Any, names: list[str], vocabularies: Mapping[str, Sequence[str]], target: DType, *, by_name: bool
) -> tuple[Graph, dict[str, tuple[str, ...]]]:
    builder, aligned = start_conversion(estimator, names, vocabularies, target, by_name=by_name)
    y = convert(estimator, builder, aligned)
    builder.output(PROBABILITIES if is_classifier(estimator) else TRANSFORMED, y)
    return builder.build(), builder.vocabularies()


def _align_by_name(estimator: Any, builder: GraphBuilder, x: Value, names: list[str]) -> Value:
    """Select, by name, the columns an estimator fitted on named features expects, in its fitted order."""
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise SignatureError(f"the signature names features {duplicated} more than once; names must be unique")
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is None:
        return x
    wanted = [str(n) for n in fitted]
    missing = [n for n in wanted if n not in names]
    if missing:
        raise SignatureError(
            f"{type(estimator).__name__} was fitted on features {missing} that the signature lacks; add them to "
            "the signature or refit without them"
        )
    if wanted == names:
        return x
    return builder.op("gather_columns", x, indices=tuple(names.index(n) for n in wanted))
