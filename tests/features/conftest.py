"""Fixtures of the features tests: the handbook's four months mapped onto the contract, and their offline
features (computed once per session: several tests compare against them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from features import OfflineFeatureEngine, default_feature_set
from ingest.mappings import apply_mapping

MONTHS = ("04", "05", "06", "07")


@pytest.fixture(scope="session")
def handbook_raw(handbook_dir: Path) -> pd.DataFrame:
    """The raw April-July 2018 transactions, in file (time) order."""
    frames = [pd.read_parquet(handbook_dir / f"transactions-2018-{m}.parquet") for m in MONTHS]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="session")
def handbook_transactions(handbook_raw: pd.DataFrame) -> pd.DataFrame:
    """The same transactions in contract columns (plus is_fraud)."""
    return apply_mapping(handbook_raw, "handbook")


@pytest.fixture(scope="session")
def handbook_offline(handbook_transactions: pd.DataFrame) -> NDArray[np.float64]:
    """Offline values of the default feature set over the four months (handbook label rule)."""
    return OfflineFeatureEngine(default_feature_set()).compute_array(handbook_transactions)
