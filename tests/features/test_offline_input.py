"""The offline engine refuses bad input with a message that names the problem, instead of computing from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import FeatureInputError, OfflineFeatureEngine, default_feature_set
from tests.features.synthetic import random_labels, random_transactions


@pytest.fixture
def engine() -> OfflineFeatureEngine:
    return OfflineFeatureEngine(default_feature_set(), workers=1)


def test_missing_columns_and_bad_values_are_refused(engine: OfflineFeatureEngine) -> None:
    tx = random_transactions(3, n=40)
    with pytest.raises(FeatureInputError, match="terminal_id"):
        engine.compute(tx.drop(columns=["terminal_id"]))
    with pytest.raises(FeatureInputError, match="time zone"):
        engine.compute(tx.assign(timestamp=tx["timestamp"].dt.tz_localize(None)))
    with pytest.raises(FeatureInputError, match="non-finite"):
        engine.compute(tx.assign(amount=np.where(np.arange(len(tx)) == 5, np.nan, tx["amount"])))
    with pytest.raises(FeatureInputError, match="'card_token' has missing values"):
        engine.compute(tx.assign(card_token=tx["card_token"].where(np.arange(len(tx)) != 7, None)))


def test_fraud_flags_that_are_missing_or_not_boolean_are_refused(engine: OfflineFeatureEngine) -> None:
    tx = random_transactions(3, n=40)
    with pytest.raises(FeatureInputError, match="missing fraud flags"):
        engine.compute(tx.assign(is_fraud=tx["is_fraud"].astype(float).where(np.arange(len(tx)) != 3, np.nan)))
    with pytest.raises(FeatureInputError, match="True/False"):
        engine.compute(tx.assign(is_fraud=np.where(tx["is_fraud"], "yes", "no")))
    labels = random_labels(tx, 3)
    with pytest.raises(FeatureInputError, match="missing fraud flags"):
        engine.compute(tx, labels.assign(is_fraud=labels["is_fraud"].astype(object).where(labels.index != 0, None)))


def test_integer_fraud_flags_give_the_boolean_values(engine: OfflineFeatureEngine) -> None:
    tx = random_transactions(3, n=200)
    as_int = tx.assign(is_fraud=tx["is_fraud"].astype(np.int64))
    np.testing.assert_array_equal(engine.compute_array(as_int), engine.compute_array(tx))


def test_a_label_file_needs_unique_transaction_ids(engine: OfflineFeatureEngine) -> None:
    tx = random_transactions(3, n=40)
    labels = random_labels(tx, 3)
    with pytest.raises(FeatureInputError, match="transaction_id"):
        engine.compute(tx.drop(columns=["transaction_id"]), labels)
    repeated = pd.concat([tx, tx.iloc[:1]], ignore_index=True).sort_values("timestamp", kind="stable")
    with pytest.raises(FeatureInputError, match="repeats"):
        engine.compute(repeated, labels)
