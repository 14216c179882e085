"""HistGradientBoostingClassifier: its predictor nodes as a node table (see :mod:`.trees` for the layout).

The histogram booster compares float64 inputs with float64 ``num_threshold`` values and routes NaN by each node's
``missing_go_to_left``, so its thresholds are taken as they are. Leaf values already include the learning rate.

Categorical splits test membership of the category in a bitset. Each distinct categorical split becomes a derived
input column appended after the F real ones: 0 where the value is a known category sent left, 1 where it is a
known category sent right, NaN where it is missing or unknown (scikit-learn routes those like missing values);
the node then splits that column at 0.5 with its own missing routing. With categorical features scikit-learn
ordinal-encodes the input first and moves categorical columns in front; node features are mapped back to the
original column order here. String categories are read as the input's vocabulary codes (``codes_of``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.categories import CodesOf, no_vocabulary, numeric_or_codes
from model_engine.converters.params.fitted import require_fitted
from model_engine.converters.params.trees import TreeEnsembleParams, _TableBuilder
from model_engine.errors import ConversionError

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CategoricalSplitColumn:
    """A derived column: ``0`` if ``x[:, feature]`` is in ``left``, ``1`` if in ``known`` but not ``left``, else NaN."""

    feature: int
    left: F64
    known: F64


@dataclass(frozen=True)
class HistBoostingParams:
    """The node tables (over ``F + len(derived)`` columns) and the derived categorical-split columns."""

    tables: TreeEnsembleParams
    derived: tuple[CategoricalSplitColumn, ...]


def _bitset_members(bitset: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    bits = np.unpackbits(np.asarray(bitset, dtype="<u4").view(np.uint8), bitorder="little")
    return np.flatnonzero(bits).astype(np.int64)


@dataclass
class _Categories:
    """The ordinal encoding scikit-learn applied before the trees, read back as raw category values."""

    order: npt.NDArray[np.int64]  # preprocessed column k reads original column order[k]
    values: dict[int, F64]  # original categorical column -> its categories (code = position)
    known: dict[int, F64]  # original categorical column -> the categories seen at fit

    @classmethod
    def of(cls, model: Any, codes_of: CodesOf) -> _Categories:
        n = int(model.n_features_in_)
        preprocessor = getattr(model, "_preprocessor", None)
        if preprocessor is None:
            return cls(np.arange(n, dtype=np.int64), {}, {})
        masks = {name: np.asarray(columns) for name, _, columns in preprocessor.transformers_}
        categorical = np.flatnonzero(masks["encoder"]).astype(np.int64)
        order = np.concatenate([categorical, np.flatnonzero(masks["numerical"])]).astype(np.int64)
        encoder = preprocessor.named_transformers_["encoder"]
        known_bitsets, f_idx_map = model._bin_mapper.make_known_categories_bitsets()
        values: dict[int, F64] = {}
        known: dict[int, F64] = {}
        for position, column in enumerate(categorical):
            categories = numeric_or_codes(encoder.categories_[position], int(column), codes_of)
            values[int(column)] = categories
            codes = _bitset_members(known_bitsets[f_idx_map[position]])
            known[int(column)] = categories[codes[codes < categories.shape[0]]]
        return cls(order, values, known)


def hist_boosting_params(model: Any, codes_of: CodesOf = no_vocabulary) -> HistBoostingParams:
    """Read a fitted HistGradientBoostingClassifier (binary: one logit; multiclass: one raw score per class);
    ``codes_of`` maps string categories of an input column to its vocabulary codes."""
    require_fitted(model)
    n_outputs = int(model.n_trees_per_iteration_)
    n_features = int(model.n_features_in_)
    categories = _Categories.of(model, codes_of)
    derived: dict[tuple[int, tuple[float, ...]], int] = {}
    columns: list[CategoricalSplitColumn] = []
    tables = _TableBuilder.empty(n_outputs)
    for iteration in model._predictors:
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            feature = categories.order[nodes["feature_idx"].astype(np.int64)]
            threshold = np.asarray(nodes["num_threshold"], dtype=np.float64).copy()
            for i in np.flatnonzero(nodes["is_categorical"].astype(bool) & ~leaf):
                original = int(feature[i])
                codes = _bitset_members(predictor.raw_left_cat_bitsets[nodes["bitset_idx"][i]])
                left = categories.values[original][codes]
                key = (original, tuple(float(v) for v in left))
                if key not in derived:
                    derived[key] = n_features + len(columns)
                    columns.append(CategoricalSplitColumn(original, left, categories.known[original]))
                feature[i], threshold[i] = derived[key], 0.5
            value = np.zeros((nodes.shape[0], n_outputs))
            value[:, k] = np.where(leaf, nodes["value"], 0.0)
            tables.add(
                feature=feature,
                threshold=threshold,
                left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
                right=np.where(leaf, -1, nodes["right"].astype(np.int64)),
                value=value,
                missing_go_left=nodes["missing_go_to_left"].astype(bool),
                cover=nodes["count"],
            )
    if not tables.roots:
        raise ConversionError("HistGradientBoostingClassifier has no trees (n_iter_ == 0); refit it")
    return HistBoostingParams(
        tables=tables.build(
            aggregation="sum",
            post_transform="sigmoid" if n_outputs == 1 else "softmax",
            base_score=np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1).copy(),
            n_classes=len(model.classes_),
        ),
        derived=tuple(columns),
    )
