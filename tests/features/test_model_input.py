"""The model's input is laid out once, by name: the raw inputs, then the features in declaration order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import (
    RAW_INPUTS,
    FeatureInputError,
    OfflineFeatureEngine,
    default_feature_set,
    model_input,
    model_input_names,
)
from tests.features.synthetic import random_transactions


def test_names_are_the_raw_inputs_then_the_features() -> None:
    feature_set = default_feature_set()
    assert model_input_names(feature_set) == (*RAW_INPUTS, *feature_set.names)


def test_a_frame_of_features_is_read_by_name_whatever_its_column_order() -> None:
    feature_set = default_feature_set()
    tx = random_transactions(3, n=50)
    features = OfflineFeatureEngine(feature_set).compute(tx)
    expected = model_input(tx, features.to_numpy(), feature_set)
    shuffled = features[list(reversed(features.columns))]
    got = model_input(tx, shuffled, feature_set)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got[:, 0], tx["amount"].to_numpy(dtype=np.float32))
    np.testing.assert_array_equal(got[:, 1:], features.to_numpy(dtype=np.float32))


def test_mismatched_inputs_are_refused_with_what_is_wrong() -> None:
    feature_set = default_feature_set()
    tx = pd.DataFrame({"amount": [1.0, 2.0]})
    with pytest.raises(FeatureInputError, match="feature columns"):
        model_input(tx, np.zeros((2, 3)), feature_set)
    with pytest.raises(FeatureInputError, match="2 transactions but 3 rows"):
        model_input(tx, np.zeros((3, len(feature_set))), feature_set)
    with pytest.raises(FeatureInputError, match="lack"):
        model_input(tx, pd.DataFrame({"x": [0.0, 0.0]}), feature_set)
    with pytest.raises(FeatureInputError, match="raw inputs"):
        model_input(tx.rename(columns={"amount": "value"}), np.zeros((2, len(feature_set))), feature_set)
