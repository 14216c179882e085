"""Offline features for a Parquet dataset, kept beside the input columns (``fraud features build``).

The dataset is admitted first (:func:`ingest.validation.admit_batch`): features are computed only from rows
that ``fraud validate`` accepts, and no column copied into the output may hold a card number.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from features.catalogue import HANDBOOK_NAMES, LABEL_DELAY, baseline_feature_set, default_feature_set
from features.errors import FeatureInputError
from features.offline import OfflineFeatureEngine
from features.spec import FeatureSet
from ingest.mappings import apply_mapping
from ingest.validation.admission import admit_batch

FEATURE_SETS = {"default": default_feature_set, "baseline": baseline_feature_set}


def feature_set_named(name: str) -> FeatureSet:
    """The shipped feature set called ``name`` (``--feature-set``)."""
    try:
        return FEATURE_SETS[name]()
    except KeyError:
        raise FeatureInputError(f"unknown feature set {name!r}; choose one of {sorted(FEATURE_SETS)}") from None


def build_features(
    source: pd.DataFrame,
    feature_set: FeatureSet,
    mapping: str | None = None,
    label_delay: timedelta = LABEL_DELAY,
) -> pd.DataFrame:
    """The input columns followed by the features, row for row.

    With a ``mapping``, the source is mapped onto the contract to compute the features, the source's own
    columns are kept as they were, and the baseline features take the mapping's names when it has them
    (the handbook's ``TX_DURING_WEEKEND`` ... ``TERMINAL_ID_RISK_30DAY_WINDOW``).
    """
    transactions = apply_mapping(source, mapping) if mapping else source
    unmapped = source.drop(columns=[c for c in source.columns if c in transactions.columns])
    admit_batch(
        pd.concat([transactions.reset_index(drop=True), unmapped.reset_index(drop=True)], axis=1),
        source="the source",
    )
    values = OfflineFeatureEngine(feature_set, label_delay=label_delay).compute(transactions)
    if mapping == "handbook":
        values = values.rename(columns=HANDBOOK_NAMES)
    clashes = sorted(set(values.columns) & set(source.columns))
    if clashes:
        raise FeatureInputError(f"the input already has columns named like features: {clashes}; drop them first")
    values.index = source.index
    return pd.concat([source, values], axis=1)
