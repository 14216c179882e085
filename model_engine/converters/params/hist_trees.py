"""HistGradientBoostingClassifier: its predictor nodes as a node table (see :mod:`.trees` for the layout).

The histogram booster compares float64 inputs with float64 ``num_threshold`` values and routes NaN by each node's
``missing_go_to_left``, so its thresholds are taken as they are. Leaf values already include the learning rate.
Categorical splits (bitsets) are refused with a clear error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.converters.params.fitted import require_fitted
from model_engine.converters.params.trees import TreeEnsembleParams, _TableBuilder
from model_engine.errors import ConversionError


def hist_boosting_params(model: Any) -> TreeEnsembleParams:
    """Read a fitted HistGradientBoostingClassifier (binary: one logit; multiclass: one raw score per class)."""
    require_fitted(model)
    n_outputs = int(model.n_trees_per_iteration_)
    n_classes = len(model.classes_)
    tables = _TableBuilder.empty(n_outputs)
    for iteration in model._predictors:
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            if np.any(nodes["is_categorical"].astype(bool)):
                raise ConversionError(
                    "HistGradientBoostingClassifier with categorical splits is not supported: one-hot or ordinal "
                    "encode the categorical features in a preprocessing step and refit with categorical_features=None"
                )
            leaf = nodes["is_leaf"].astype(bool)
            value = np.zeros((nodes.shape[0], n_outputs))
            value[:, k] = np.where(leaf, nodes["value"], 0.0)
            tables.add(
                feature=nodes["feature_idx"],
                threshold=np.asarray(nodes["num_threshold"], dtype=np.float64),
                left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
                right=np.where(leaf, -1, nodes["right"].astype(np.int64)),
                value=value,
                missing_go_left=nodes["missing_go_to_left"].astype(bool),
            )
    if not tables.roots:
        raise ConversionError("HistGradientBoostingClassifier has no trees (n_iter_ == 0); refit it")
    return tables.build(
        aggregation="sum",
        post_transform="sigmoid" if n_outputs == 1 else "softmax",
        base_score=np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1).copy(),
        n_classes=n_classes,
    )
