"""OneHotEncoder as a match table: output column ``column[k]`` is 1 where ``x[:, feature[k]] == value[k]``.

A table (rather than one block of categories per feature) expresses every encoder configuration scikit-learn
offers with one rule: dropped categories have column ``-1`` (known, but no output), infrequent categories share a
column, a NaN category matches NaN inputs, and ``unknown_column[f]`` says where values matching no row of feature
``f`` go (``-1``: all zeros). Supported: numeric categories (NaN included) and string categories (as
vocabulary codes, see :mod:`..categories`; None/NaN categories match missing values), ``drop`` (None, "first",
"if_binary", explicit), ``min_frequency``/``max_categories``, and ``handle_unknown`` "ignore",
"infrequent_if_exist" and "warn".
``handle_unknown="error"`` compiles like "ignore" (unknown values encode as all zeros), because a compiled graph
cannot raise per row: callers validate categories against the signature's vocabularies before scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.categories import CodesOf, no_vocabulary, numeric_or_codes
from model_engine.converters.params.fitted import require_fitted
from model_engine.errors import ConversionError

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class OneHotParams:
    """The match table of a one-hot encoding of ``n_features`` inputs into ``n_outputs`` columns.

    Output columns come in one block per input feature, ``widths[f]`` columns wide, in feature order.
    """

    n_features: int
    n_outputs: int
    widths: I64
    feature: I64
    value: npt.NDArray[np.float64]
    column: I64
    unknown_column: I64


def _codes_after_grouping(encoder: Any, index: int, n_categories: int) -> tuple[I64, int | None]:
    """Each category's code after infrequent grouping, and the code unknown values take (``None``: dropped)."""
    codes = np.arange(n_categories, dtype=np.int64)
    unknown: int | None = None
    infrequent = encoder._infrequent_indices[index] if encoder._infrequent_enabled else None
    if infrequent is None:
        return codes, unknown
    mapping = np.asarray(encoder._default_to_infrequent_mappings[index], dtype=np.int64)
    if mapping.shape[0] != n_categories:
        # Some scikit-learn releases leave the NaN category out of the mapping; their transform is not reproducible.
        raise ConversionError(
            f"OneHotEncoder feature {index} has an infrequent-category mapping of {mapping.shape[0]} entries for "
            f"{n_categories} categories; refit with scikit-learn >= 1.9, or impute NaN before encoding"
        )
    if encoder.handle_unknown in ("infrequent_if_exist", "warn"):
        unknown = int(mapping[int(infrequent[0])])
    return mapping[codes], unknown


def one_hot_params(encoder: Any, codes_of: CodesOf = no_vocabulary) -> OneHotParams:
    """Read a fitted OneHotEncoder into its match table (mirrors ``OneHotEncoder.transform``); ``codes_of`` gives
    the vocabulary codes of string categories."""
    require_fitted(encoder)
    features: list[I64] = []
    values: list[npt.NDArray[np.float64]] = []
    columns: list[I64] = []
    unknown_column = np.full(len(encoder.categories_), -1, dtype=np.int64)
    widths = np.asarray(encoder._n_features_outs, dtype=np.int64).reshape(-1)
    drops = encoder._drop_idx_after_grouping
    offset = 0
    for index in range(len(encoder.categories_)):
        categories = numeric_or_codes(encoder.categories_[index], index, codes_of)
        codes, unknown = _codes_after_grouping(encoder, index, categories.shape[0])
        drop = None if drops is None or drops[index] is None else int(drops[index])
        keep = np.ones(codes.shape[0], dtype=bool)
        if drop is not None:
            keep = codes != drop
            codes = np.where(codes > drop, codes - 1, codes)
            if unknown is not None:
                unknown = None if unknown == drop else (unknown - 1 if unknown > drop else unknown)
        features.append(np.full(codes.shape[0], index, dtype=np.int64))
        values.append(categories)
        columns.append(np.where(keep, codes + offset, -1))
        if unknown is not None:
            unknown_column[index] = unknown + offset
        offset += int(widths[index])
    return OneHotParams(
        n_features=len(encoder.categories_),
        n_outputs=offset,
        widths=widths.copy(),
        feature=np.concatenate(features) if features else np.zeros(0, dtype=np.int64),
        value=np.concatenate(values) if values else np.zeros(0),
        column=np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64),
        unknown_column=unknown_column,
    )
