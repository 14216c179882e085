"""Binning on the reference's bins and the card-day maxima, against the plain pandas ways of computing them."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from lifecycle.reference import ColumnProfile, bin_indices, card_day_maxima

CATEGORIES = ("pos", "ecom", "atm")
TEXT = ColumnProfile("channel", ("field",), "chi2", (1,) * 6, categories=CATEGORIES)
NUMBERS = ColumnProfile("amount", ("field",), "ks", (1,) * 5, edges=(1.0, 2.0, 3.0))


def _text_bins_by_index(values: pd.Series) -> np.ndarray:
    """The categories' positions by pandas' index lookup; missing values last, others "unseen"."""
    codes = pd.Index(CATEGORIES).get_indexer(pd.Index(values))
    unseen, missing = len(CATEGORIES) + 1, len(CATEGORIES) + 2
    return np.where(values.isna().to_numpy(), missing, np.where(codes < 0, unseen, codes))


@pytest.mark.parametrize("dtype", [object, "str", "string[python]", "category"])
def test_text_binning_finds_categories_unseen_values_and_missing_ones(dtype: object) -> None:
    rng = np.random.default_rng(0)
    choices = np.array(["pos", "ecom", "atm", "moto", "zz", None], dtype=object)
    values = pd.Series(choices[rng.integers(0, choices.size, 500)], dtype=dtype)  # type: ignore[call-overload]
    np.testing.assert_array_equal(bin_indices(TEXT, values), _text_bins_by_index(values))
    np.testing.assert_array_equal(bin_indices(TEXT, values.tolist()), _text_bins_by_index(values))


def test_numbers_bin_on_the_edges_with_missing_values_last() -> None:
    for values in (pd.Series([0.5, 1.0, 2.5, np.nan, 9.0]), pd.Series([0.5, 1.0, 2.5, None, 9.0], dtype="Float64")):
        np.testing.assert_array_equal(bin_indices(NUMBERS, values), [0, 0, 2, 4, 3])
    np.testing.assert_array_equal(bin_indices(NUMBERS, [True, False]), [0, 0])


def _grouped(scores: object, labels: object, cards: object, days: object) -> pd.DataFrame:
    frame = pd.DataFrame({"score": np.asarray(scores, dtype=np.float64), "card": cards, "day": days})
    frame["label"] = 0.0 if labels is None else np.asarray(labels, dtype=np.float64)
    return frame.groupby(["day", "card"], sort=False)[["score", "label"]].max().reset_index()


def _keys(kind: str, n: int, rng: np.random.Generator) -> tuple[object, object]:
    if kind == "text cards, timestamps":
        times = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.random(n) * 5, unit="D")
        return rng.integers(0, 300, n).astype(str).astype(object), pd.Series(times).dt.floor("D").to_numpy()
    if kind == "hashed cards, one day":
        return rng.integers(0, 2**63, n).astype(np.uint64), np.zeros(n, dtype=np.int8)
    return rng.integers(0, 30, n), [datetime.date(2024, 1, 1 + int(i)) for i in rng.integers(0, 3, n)]


@pytest.mark.parametrize("kind", ["text cards, timestamps", "hashed cards, one day", "number cards, dates"])
@pytest.mark.parametrize("with_labels", [True, False])
def test_card_day_maxima_equal_a_grouped_maximum(kind: str, with_labels: bool) -> None:
    rng = np.random.default_rng(1)
    n = 3_000
    cards, days = _keys(kind, n, rng)
    scores = np.round(rng.random(n), 2)
    labels = rng.integers(0, 2, n) if with_labels else None
    pd.testing.assert_frame_equal(card_day_maxima(scores, labels, cards, days), _grouped(scores, labels, cards, days))
