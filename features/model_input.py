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

:class:`ModelInput` carries the matrix with its column names across package boundaries (the scorer hands it to
the engine, which checks the names against the model's signature, and to the monitors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.errors import FeatureInputError
from features.spec import FeatureSet

#: Transaction columns a model reads directly, before the computed features.
RAW_INPUTS: Final[tuple[str, ...]] = ("amount",)


#: The raw inputs in words.
RAW_INPUT_DESCRIPTIONS: Final[dict[str, str]] = {"amount": "amount of this payment"}


def model_input_names(feature_set: FeatureSet) -> tuple[str, ...]:
    """The model's input columns, in order: :data:`RAW_INPUTS`, then the feature set's names."""
    return (*RAW_INPUTS, *feature_set.names)


def model_input_descriptions(feature_set: FeatureSet) -> dict[str, str]:
    """Each model input column, by name, in words (what a reason code tells an analyst)."""
    return {**RAW_INPUT_DESCRIPTIONS, **{f.name: f.description for f in feature_set.features}}


@dataclass(frozen=True, eq=False)
class ModelInput:
    """Model input rows [N, len(names)] in float32, with the name of each column."""

    names: tuple[str, ...]
    values: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(self.names):
            raise FeatureInputError(f"model input of shape {self.values.shape} for {len(self.names)} named columns")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def take(self, rows: npt.NDArray[Any] | slice) -> ModelInput:
        """The selected rows, with the same names."""
        return ModelInput(self.names, self.values[rows])


def model_input(
    transactions: pd.DataFrame | Mapping[str, Any],
    features: pd.DataFrame | npt.NDArray[np.float64],
    feature_set: FeatureSet,
) -> npt.NDArray[np.float32]:
    """The model's input matrix [rows, inputs] in :func:`model_input_names` order, as float32.

    ``transactions`` holds the raw inputs by column name (a DataFrame, or a mapping of columns for a single
    transaction on the scoring path); ``features`` is what an engine computed for them, row for row: a
    DataFrame (read by feature name) or an array whose columns follow ``feature_set.names`` (the engines'
    column order).
    """
    missing = [c for c in RAW_INPUTS if c not in transactions]
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
    raw = np.column_stack([np.asarray(transactions[c], dtype=np.float64).reshape(-1) for c in RAW_INPUTS])
    if len(values) != len(raw):
        raise FeatureInputError(f"{len(raw)} transactions but {len(values)} rows of features")
    out = np.empty((len(raw), len(RAW_INPUTS) + values.shape[1]), dtype=np.float32)
    out[:, : len(RAW_INPUTS)] = raw
    out[:, len(RAW_INPUTS) :] = values
    return out
