"""The drift tests on binned counts, checked against scipy's reference implementations, and the contract
every test (KS for numeric columns, chi-square for categorical ones) passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from lifecycle.reference import bin_counts, profile_column
from monitoring.drift.statistics import (
    ReferenceColumn,
    chi_square_homogeneity,
    ks_binned,
    population_stability_index,
    psi_band,
)

RNG_SEED = 11


def _numeric(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.Series:
    return pd.Series(rng.gamma(2.0, 30.0, n) * (1.0 + shift))


def _categorical(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.Series:
    shares = np.array([0.7, 0.2, 0.06, 0.04])
    shares = shares + np.array([-shift, shift, 0.0, 0.0])
    return pd.Series(rng.choice(["pos", "ecom", "atm", "moto"], n, p=shares))


KINDS = {"ks": _numeric, "chi2": _categorical}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_identical_distributions_do_not_drift_and_shifted_ones_do(kind: str) -> None:
    rng = np.random.default_rng(RNG_SEED)
    draw = KINDS[kind]
    column = profile_column("x", draw(rng, 50_000), ("input",))
    assert column.test == kind
    reference = ReferenceColumn(column)
    same = reference.compare(bin_counts(column, draw(rng, 5_000)))
    moved = reference.compare(bin_counts(column, draw(rng, 5_000, shift=0.15)))
    assert 0.0 <= same.p_value <= 1.0
    assert same.p_value > 0.01
    assert same.js_distance < 0.1
    assert same.psi_band == "stable"
    assert moved.p_value < 1e-10
    assert moved.js_distance > same.js_distance
    assert moved.psi > same.psi


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_p_values_are_calibrated_or_conservative_under_no_drift(kind: str) -> None:
    """Over 400 windows drawn from the reference's own distribution, P(p <= a) <= a (with binomial slack)."""
    rng = np.random.default_rng(RNG_SEED)
    draw = KINDS[kind]
    column = profile_column("x", draw(rng, 50_000), ("input",))
    reference = ReferenceColumn(column)
    p_values = np.array([reference.compare(bin_counts(column, draw(rng, 1_000))).p_value for _ in range(400)])
    for level in (0.05, 0.1):
        assert np.mean(p_values <= level) <= level + 3 * np.sqrt(level * (1 - level) / 400)


def test_ks_on_fine_bins_is_scipys_statistic_from_below_and_its_p_value_from_above() -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference, window = rng.normal(size=20_000), rng.normal(0.05, 1.0, size=3_000)
    column = profile_column("x", reference, ("input",), numeric_bins=200)
    statistic, p_value = ks_binned(bin_counts(column, reference)[:-1], bin_counts(column, window)[:-1])
    exact = stats.ks_2samp(reference, window, method="asymp")
    assert statistic <= exact.statistic + 1e-12
    assert statistic == pytest.approx(exact.statistic, abs=0.01)  # 200 bins: at most half a percent of mass apart
    assert p_value >= exact.pvalue * 0.5


def test_chi_square_matches_scipy_when_no_cell_is_pooled() -> None:
    reference, window = np.array([700, 200, 60, 40]), np.array([130, 50, 12, 8])
    expected = stats.chi2_contingency(np.vstack([reference, window]), correction=False)
    statistic, p_value = chi_square_homogeneity(reference, window)
    assert statistic == pytest.approx(expected.statistic)
    assert p_value == pytest.approx(expected.pvalue)


def test_chi_square_pools_sparse_cells_instead_of_false_alarming() -> None:
    """One unseen value in a window of 200 is expected under 5 times: pooled, not a drift on its own."""
    reference = np.array([7_000, 2_000, 600, 400, 0])
    window = np.array([140, 40, 12, 7, 1])
    assert chi_square_homogeneity(reference, window)[1] > 0.05


def test_distances_match_scipy_and_psi_bands() -> None:
    rng = np.random.default_rng(RNG_SEED)
    column = profile_column("x", _categorical(rng, 10_000), ("field",))
    reference = ReferenceColumn(column)
    counts = bin_counts(column, _categorical(rng, 2_000, shift=0.2))
    result = reference.compare(counts)
    assert result.js_distance == pytest.approx(jensenshannon(reference.shares, counts / counts.sum(), base=2.0))
    assert result.linf == pytest.approx(np.max(np.abs(reference.shares - counts / counts.sum())))
    assert column.bin_label(result.top_bin) in ("pos", "ecom")
    assert [psi_band(v) for v in (0.05, 0.1, 0.2, 0.25, 1.0)] == [
        "stable",
        "moderate",
        "moderate",
        "significant",
        "significant",
    ]
    assert population_stability_index([50, 50], [50, 50]) == 0.0
