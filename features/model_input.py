"""The model's input, laid out by name: one definition that training, the scorer and the benchmarks share.

A model reads the transaction columns in :data:`RAW_INPUTS` as they arrive, followed by the feature set's
features in declaration order. Training compiles a model with these names as its signature, and whatever
scores it later builds the same matrix from the same names, so the layout is never written out twice.

The matrix is float32, the engine's serving precision: models are fitted on exactly the values the engine will
see, so a compiled tree takes the branch scikit-learn takes (a float64 value between two float32 neighbours
could otherwise fall on the other side of a split after the cast).

>>> import numpy as np, pandas as pd
>>> from features.catalogue import baseline_feature_set
>>> fs = baseline_feature_set()
>>> model_input_names(fs)[:3]
('amount', 'is_weekend', 'is_night')
>>> tx = pd.DataFrame({"amount": [12.5, 80.0]})
>>> model_input(tx, np.zeros((2, len(fs))), fs).shape
(2, 15)
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.errors import FeatureInputError
from features.spec import FeatureSet

#: Transaction columns a model reads directly, before the computed features.
RAW_INPUTS: Final[tuple[str, ...]] = ("amount",)


def model_input_names(feature_set: FeatureSet) -> tuple[str, ...]:
    """The model's input columns, in order: :data:`RAW_INPUTS`, then the feature set's names."""
    return (*RAW_INPUTS, *feature_set.names)


def model_input(
    transactions: pd.DataFrame, features: pd.DataFrame | npt.NDArray[np.float64], feature_set: FeatureSet
) -> npt.NDArray[np.float32]:
    """The model's input matrix [rows, inputs] in :func:`model_input_names` order, as float32.

    ``features`` is what an engine computed for ``transactions``, row for row: a DataFrame (read by feature
    name) or an array whose columns follow ``feature_set.names`` (the engines' column order).
    """
    missing = [c for c in RAW_INPUTS if c not in transactions.columns]
    if missing:
        raise FeatureInputError(f"the transactions lack the model's raw inputs {missing}")
    if isinstance(features, pd.DataFrame):
        absent = [n for n in feature_set.names if n not in features.columns]
        if absent:
            raise FeatureInputError(f"the computed features lack {absent}; compute them with this feature set")
        values = features[list(feature_set.names)].to_numpy(dtype=np.float64)
    else:
        values = np.asarray(features, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(feature_set):
            raise FeatureInputError(
                f"expected {len(feature_set)} feature columns ({feature_set.version}), got shape {values.shape}"
            )
    if len(values) != len(transactions):
        raise FeatureInputError(f"{len(transactions)} transactions but {len(values)} rows of features")
    raw = transactions[list(RAW_INPUTS)].to_numpy(dtype=np.float64)
    return np.column_stack([raw, values]).astype(np.float32)
