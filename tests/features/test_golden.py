"""The offline engine reproduces the handbook's own July 2018 feature values, computed from the raw
April-July transactions, to 1e-9 for each of the 14 baseline columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from features import HANDBOOK_NAMES, baseline_feature_set, default_feature_set

pytestmark = [pytest.mark.handbook, pytest.mark.slow]
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def golden(handbook_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(handbook_dir / "features-golden-2018-07.parquet")


@pytest.mark.parametrize("name", list(HANDBOOK_NAMES))
def test_offline_matches_the_handbook_golden_file(
    name: str, golden: pd.DataFrame, handbook_raw: pd.DataFrame, handbook_offline: NDArray[np.float64]
) -> None:
    column = default_feature_set().names.index(name)
    ours = pd.Series(handbook_offline[:, column], index=handbook_raw["TRANSACTION_ID"].to_numpy())
    theirs = golden[HANDBOOK_NAMES[name]].to_numpy(dtype=np.float64)
    mine = ours.loc[golden["TRANSACTION_ID"].to_numpy()].to_numpy()
    assert len(mine) == len(golden) == 296_928
    worst = np.abs(mine - theirs)
    assert worst.max() <= TOLERANCE, f"{name}: {int((worst > TOLERANCE).sum())} rows differ, worst {worst.max()}"


def test_the_baseline_set_is_the_handbook_set_in_its_order() -> None:
    assert [HANDBOOK_NAMES[n] for n in baseline_feature_set().names] == [
        "TX_DURING_WEEKEND",
        "TX_DURING_NIGHT",
        "CUSTOMER_ID_NB_TX_1DAY_WINDOW",
        "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_7DAY_WINDOW",
        "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_30DAY_WINDOW",
        "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
        "TERMINAL_ID_NB_TX_1DAY_WINDOW",
        "TERMINAL_ID_RISK_1DAY_WINDOW",
        "TERMINAL_ID_NB_TX_7DAY_WINDOW",
        "TERMINAL_ID_RISK_7DAY_WINDOW",
        "TERMINAL_ID_NB_TX_30DAY_WINDOW",
        "TERMINAL_ID_RISK_30DAY_WINDOW",
    ]
    assert default_feature_set().names[:14] == baseline_feature_set().names
