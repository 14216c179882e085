"""Two-sample drift tests on binned counts: a window's counts against the reference's, on the same bins.

* Numeric columns: the Kolmogorov-Smirnov statistic at the bin edges, with its p-value from the Kolmogorov
  distribution at the effective size ``n m / (n + m)`` (``scipy.special.kolmogorov``, with Stephens' small-sample
  correction ``sqrt(ne) + 0.12 + 0.11 / sqrt(ne)``). Binning can only lower the statistic (the supremum is
  taken over fewer points), so the test errs on the conservative side.
* Categorical columns (text, and numbers with a few distinct values): Pearson's chi-square test of
  homogeneity on the 2 x K table of reference and window counts, which accounts for both sample sizes, its
  p-value from the chi-square distribution (``scipy.special.chdtrc``); cells whose expected window count is
  under 5 are pooled first, as the chi-square approximation requires.
* Effect sizes: the Jensen-Shannon distance (base 2, in [0, 1]), the L-infinity distance (largest change of a
  bin's share) and the population stability index over ten reference-quantile groups (or the categories), with
  its familiar 0.1 / 0.25 bands. The monitor counts a significant change as drift only when its PSI reaches a
  floor (``DriftMonitor(min_psi=...)``, docs/monitoring.md "When a column drifts").

The tests run on every closed window for every watched column, so they call scipy's special functions (ufuncs)
rather than ``scipy.stats.ks_2samp`` / ``chi2_contingency`` / ``scipy.spatial.distance.jensenshannon``, whose
argument checking costs a millisecond a call; the tests check the results against those functions.

A numeric column whose window has missing values where the reference had none (or the other way) also gets
a chi-square test of its missing share; the two p-values are combined by Bonferroni.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from lifecycle.reference import ColumnProfile

#: The usual PSI bands: under 0.1 stable, 0.1 to 0.25 a moderate shift, 0.25 and over a significant one.
PSI_BANDS: Final = (0.1, 0.25)
PSI_GROUPS: Final = 10
PSI_EPSILON: Final = 1e-4
MIN_EXPECTED: Final = 5.0

Counts = npt.NDArray[np.int64]
PsiBand = Literal["stable", "moderate", "significant"]


@dataclass(frozen=True)
class Comparison:
    """One column's window against its reference."""

    test: str
    statistic: float
    p_value: float
    js_distance: float
    linf: float
    psi: float
    top_bin: int
    n: int

    @property
    def psi_band(self) -> PsiBand:
        return psi_band(self.psi)


def psi_band(psi: float) -> PsiBand:
    """The band a PSI value falls in (see :data:`PSI_BANDS`)."""
    if psi < PSI_BANDS[0]:
        return "stable"
    return "moderate" if psi < PSI_BANDS[1] else "significant"


class ReferenceColumn:
    """A column's reference prepared once for fast comparisons: counts, shares, PSI groups."""

    __slots__ = ("column", "counts", "psi_groups", "shares")

    def __init__(self, column: ColumnProfile) -> None:
        self.column = column
        self.counts: Counts = np.asarray(column.counts, dtype=np.int64)
        if self.counts.sum() <= 0:
            raise ValueError(f"column {column.name!r} has an empty reference")
        self.shares = self.counts / self.counts.sum()
        self.psi_groups = _psi_groups(column, self.counts)

    def compare(self, window: Counts) -> Comparison:
        """Test ``window`` (counts on this column's bins) against the reference."""
        n = int(window.sum())
        if n == 0:
            return Comparison(self.column.test, 0.0, 1.0, 0.0, 0.0, 0.0, 0, 0)
        shares = window / n
        gaps = np.abs(shares - self.shares)
        top = int(np.argmax(gaps))
        js = jensen_shannon_distance(self.shares, shares)
        psi = population_stability_index(
            np.bincount(self.psi_groups, weights=self.counts), np.bincount(self.psi_groups, weights=window)
        )
        if self.column.test == "ks":
            statistic, p_value = ks_binned(self.counts[:-1], window[:-1])
            missing = (self.counts[-1], window[-1])
            if missing[0] > 0 or missing[1] > 0:
                missing_p = chi_square_homogeneity(
                    np.array([self.counts[:-1].sum(), missing[0]]), np.array([window[:-1].sum(), missing[1]])
                )[1]
                p_value = min(1.0, 2.0 * min(p_value, missing_p))
        else:
            statistic, p_value = chi_square_homogeneity(self.counts, window)
        return Comparison(self.column.test, statistic, p_value, js, float(gaps[top]), psi, top, n)


def ks_binned(reference: Counts, window: Counts) -> tuple[float, float]:
    """Kolmogorov-Smirnov statistic between two binned samples and its asymptotic two-sided p-value."""
    n, m = int(reference.sum()), int(window.sum())
    if n == 0 or m == 0:
        return 0.0, 1.0
    statistic = float(np.max(np.abs(np.cumsum(reference) / n - np.cumsum(window) / m)))
    root = np.sqrt(n * m / (n + m))
    return statistic, float(np.clip(special.kolmogorov((root + 0.12 + 0.11 / root) * statistic), 0.0, 1.0))


def chi_square_homogeneity(reference: Counts, window: Counts) -> tuple[float, float]:
    """Pearson's chi-square statistic and p-value for "both samples share one distribution", after pooling
    the cells whose expected window count is under :data:`MIN_EXPECTED`."""
    table = _pooled(np.asarray(reference, dtype=np.float64), np.asarray(window, dtype=np.float64))
    if table.shape[1] < 2 or table[1].sum() == 0:
        return 0.0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(special.chdtrc(table.shape[1] - 1, statistic))


def jensen_shannon_distance(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64]) -> float:
    """The Jensen-Shannon distance (base 2) between two distributions given as shares."""
    middle = (p + q) / 2.0
    divergence = (special.rel_entr(p, middle).sum() + special.rel_entr(q, middle).sum()) / (2.0 * np.log(2.0))
    return float(np.sqrt(max(divergence, 0.0)))


def population_stability_index(reference: npt.ArrayLike, window: npt.ArrayLike) -> float:
    """PSI = sum over groups of (window share - reference share) x ln(window share / reference share),
    shares floored at :data:`PSI_EPSILON` so that an empty group does not make it infinite."""
    r = np.asarray(reference, dtype=np.float64)
    w = np.asarray(window, dtype=np.float64)
    if r.sum() == 0 or w.sum() == 0:
        return 0.0
    p = np.maximum(r / r.sum(), PSI_EPSILON)
    q = np.maximum(w / w.sum(), PSI_EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def _pooled(reference: npt.NDArray[np.float64], window: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    table = np.vstack([reference, window])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return table
    expected = table.sum(axis=0) * table[1].sum() / table.sum()
    small = expected < MIN_EXPECTED
    if small.any():
        pooled = table[:, small].sum(axis=1, keepdims=True)
        table = np.hstack([table[:, ~small], pooled])
        expected = table.sum(axis=0) * table[1].sum() / table.sum()
        if expected[-1] < MIN_EXPECTED and table.shape[1] > 2:
            # The pool is still too small: fold it into the smallest remaining cell.
            smallest = int(np.argmin(expected[:-1]))
            table[:, smallest] += table[:, -1]
            table = table[:, :-1]
    return table


def _psi_groups(column: ColumnProfile, counts: Counts) -> npt.NDArray[np.intp]:
    """The PSI group of each bin: reference-quantile groups for a numeric column (deciles of the present
    values, then one group for missing values); the bins themselves for a categorical one."""
    if column.test == "chi2" or column.edges is None:
        return np.arange(column.bins, dtype=np.intp)
    present = counts[:-1].astype(np.float64)
    midpoints = (np.cumsum(present) - present / 2.0) / max(present.sum(), 1.0)
    groups = np.minimum((midpoints * PSI_GROUPS).astype(np.intp), PSI_GROUPS - 1)
    return np.append(groups, PSI_GROUPS).astype(np.intp)
