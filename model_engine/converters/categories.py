"""String categories: the vocabulary codes a graph computes with, and where each column's codes come from.

The graph takes numbers only. A categorical input column is encoded before the graph by the signature's
vocabulary (:func:`model_engine.signature.encode_categories`): a category's position, ``UNKNOWN_CODE`` for any
other value, NaN when missing. Converters of encoders fitted on strings therefore need, for each column they
read, the input feature it comes from, to turn their fitted categories into that feature's codes.

:class:`ConversionBuilder` is the :class:`~model_engine.ops.GraphBuilder` conversion uses: it follows, per column
of each value, the input column the value carries unchanged (through column gathers and concatenation, and
through ops a converter declares code-preserving, such as a categorical imputation), and collects the
vocabularies. A feature's vocabulary starts as the signature's (if it gives one) and grows by the categories of
every encoder that reads it, in the order met, so two encoders of one column share one set of codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from model_engine.converters.params.categories import F64, CodesOf, no_vocabulary
from model_engine.errors import ConversionError
from model_engine.ir import DType, Value
from model_engine.ops import GraphBuilder
from model_engine.signature import is_missing

Source = tuple[int | None, ...]


class ConversionBuilder(GraphBuilder):
    """A graph builder that knows which input column each column of a value carries, and the vocabularies."""

    def __init__(self, feature_names: Sequence[str], vocabularies: Mapping[str, Sequence[str]]) -> None:
        super().__init__()
        self.feature_names = list(feature_names)
        self._vocabularies: dict[int, list[str]] = {
            self.feature_names.index(name): [str(c) for c in categories] for name, categories in vocabularies.items()
        }
        self._sources: dict[str, Source] = {}

    def input(self, name: str, dtype: DType, n_features: int | tuple[int | None, ...]) -> Value:
        value = super().input(name, dtype, n_features)
        self._sources[value.name] = tuple(range(int(self.type_of(value).shape[1] or 0)))
        return value

    def op(self, op: str, *inputs: Value | str, name: str | None = None, **attrs: Any) -> Value:
        value = super().op(op, *inputs, name=name, **attrs)
        names = [v.name if isinstance(v, Value) else v for v in inputs]
        if op == "gather_columns":
            source = self.source(names[0])
            self._sources[value.name] = tuple(source[int(i)] for i in attrs["indices"])
        elif op == "concat":
            self._sources[value.name] = tuple(s for n in names for s in self.source(n))
        return value

    def carries(self, value: Value, source_of: Value) -> None:
        """Declare that ``value`` holds, column by column, the codes ``source_of`` holds (a code-preserving op)."""
        self._sources[value.name] = self.source(source_of)

    def source(self, value: Value | str) -> Source:
        """Per column of ``value``: the input column it carries unchanged, or None for a computed column."""
        name = value.name if isinstance(value, Value) else value
        width = self.type_of(name).shape[1] if self.type_of(name).rank == 2 else 1
        return self._sources.get(name, (None,) * int(width or 0))

    def codes(self, value: Value, column: int, categories: Sequence[Any], who: str) -> F64:
        """The codes of ``categories`` (strings, or None/NaN for missing) read from column ``column`` of ``value``.

        Categories the input's vocabulary lacks are appended to it; missing ones are NaN.
        """
        feature = self.source(value)[column]
        if feature is None:
            raise ConversionError(
                f"{who} reads string categories from a computed column; string categories must come from an input "
                "column unchanged (or through a categorical SimpleImputer)"
            )
        vocabulary = self._vocabularies.setdefault(feature, [])
        out = np.full(len(categories), np.nan)
        for k, category in enumerate(categories):
            if is_missing(category):
                continue
            text = str(category)
            if text not in vocabulary:
                vocabulary.append(text)
            out[k] = vocabulary.index(text)
        return out

    def codes_of(self, value: Value, who: str) -> CodesOf:
        """``codes_of(column, categories)`` for an encoder reading the columns of ``value``."""
        return lambda column, categories: self.codes(value, column, categories, who)

    def vocabularies(self) -> dict[str, tuple[str, ...]]:
        """The vocabulary of every categorical input, by feature name."""
        return {self.feature_names[k]: tuple(v) for k, v in sorted(self._vocabularies.items())}


def codes_reader(builder: GraphBuilder, x: Value, who: str) -> CodesOf:
    """The ``codes_of`` of an encoder converted on ``builder``; string categories need a ConversionBuilder."""
    return builder.codes_of(x, who) if isinstance(builder, ConversionBuilder) else no_vocabulary
