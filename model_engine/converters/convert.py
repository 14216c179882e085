"""``convert_estimator``: a fitted scikit-learn estimator to a verified graph over one input matrix ``x``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.base import is_classifier

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
    target = DType(dtype)
    if not target.is_float:
        raise ConversionError(f"graphs compute in float32 or float64, not {target.value}")
    names = None if isinstance(inputs, int) else [str(n) for n in inputs]
    width = inputs if isinstance(inputs, int) else len(inputs)
    builder = GraphBuilder()
    x = builder.input(INPUT_NAME, target, width)
    aligned = _align_by_name(estimator, builder, x, names) if names is not None else x
    y = convert(estimator, builder, aligned)
    builder.output(PROBABILITIES if is_classifier(estimator) else TRANSFORMED, y)
    return builder.build()


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
