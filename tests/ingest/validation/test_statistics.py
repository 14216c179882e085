"""Learned statistics: their values, the JSON round trip, refusal of unknown formats, and the learned
expectations derived from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ingest.validation import (
    STATISTICS_FORMAT,
    STATISTICS_VERSION,
    DatasetStatistics,
    ReferenceTolerance,
    StatisticsFormatError,
    build_suite,
    daily_volume_frame,
    daily_volume_suite,
    learn_statistics,
    records_to_frame,
)
from tests.ingest.validation.corpus import GOOD_CHANNELS, good_rows


def test_statistics_summarise_each_kind_of_column() -> None:
    frame = records_to_frame(good_rows(500, seed=4))
    frame.loc[0, "amount"] = np.inf
    frame.loc[1, "amount"] = np.nan
    stats = learn_statistics(frame)
    amount = stats.numeric["amount"]
    finite = frame["amount"][np.isfinite(frame["amount"])]
    assert (amount.count, amount.null_count, amount.infinite_count) == (499, 1, 1)
    assert amount.quantile(0.5) == pytest.approx(float(np.median(finite)))
    assert amount.mean == pytest.approx(float(finite.mean()))
    assert sum(amount.histogram.counts) == len(finite)
    assert len(amount.histogram.edges) == 21
    channel = stats.strings["channel"]
    assert channel.vocabulary == tuple(sorted(GOOD_CHANNELS))
    assert sum(top.count for top in channel.top) == 500
    assert stats.strings["transaction_id"].distinct_count == 500
    assert sum(stats.timestamps["timestamp"].hour_counts) == 500
    assert stats.daily_volume is not None
    assert stats.daily_volume.days == 3


def test_statistics_round_trip_through_their_json_file(tmp_path: Path) -> None:
    stats = learn_statistics(records_to_frame(good_rows(200)), source="unit test")
    path = stats.save(tmp_path / "stats.json")
    document = json.loads(path.read_text())
    assert (document["format"], document["version"]) == (STATISTICS_FORMAT, STATISTICS_VERSION)
    assert DatasetStatistics.load(path) == stats


@pytest.mark.parametrize(
    "values",
    [
        [1e308, -1e308, 1.0],  # the range overflows
        [1.7e308, 1.7e308],  # one value near the limit: NumPy's half-unit bins around it pass the limit
        [1e308] * 3 + [-1e308],  # the sum overflows
        [np.finfo(np.float64).max, -np.finfo(np.float64).max],  # the deviation itself is beyond float64
    ],
)
def test_values_near_the_float64_limits_are_summarised_and_saved(tmp_path: Path, values: list[float]) -> None:
    # A hostile frame with amounts near 1e308 gave "Too many bins for data range" or an infinity the JSON refused.
    column = np.array(values)
    stats = learn_statistics(pd.DataFrame({"amount": column}), source="unit test")
    amount = stats.numeric["amount"]
    assert (amount.min, amount.max) == (column.min(), column.max())
    assert amount.mean is not None
    assert column.min() <= amount.mean <= column.max()
    assert amount.quantiles[0] == column.min()
    assert amount.quantiles[-1] == column.max()
    assert sum(amount.histogram.counts) == len(values)
    assert DatasetStatistics.load(stats.save(tmp_path / "stats.json")) == stats


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "not a statistics file"),
        ({"version": STATISTICS_VERSION + 1}, "learn the reference again"),
        ({"numeric": {"amount": {"count": 1}}}, "damaged"),
    ],
)
def test_unknown_or_damaged_statistics_are_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    document = learn_statistics(records_to_frame(good_rows(20))).to_dict() | change
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(document))
    with pytest.raises(StatisticsFormatError, match=message):
        DatasetStatistics.load(path)


def test_learned_expectations_come_from_the_reference(reference: DatasetStatistics) -> None:
    tolerance = ReferenceTolerance(quantiles=(0.5,), quantile_band=0.1, vocabulary_share=0.02)
    learned = {e.configuration.meta["name"]: e.configuration for e in build_suite(reference, tolerance).expectations}
    amount = reference.numeric["amount"]
    ranges = learned["amount.quantiles"].kwargs["quantile_ranges"]["value_ranges"]
    assert ranges == [[amount.quantile(0.4), amount.quantile(0.6)]]
    assert learned["channel.vocabulary"].kwargs["value_set"] == sorted(GOOD_CHANNELS)
    assert learned["channel.vocabulary"].kwargs["mostly"] == pytest.approx(0.98)
    assert "transaction_id.vocabulary" not in learned  # identifiers are not vocabularies


def test_daily_volume_is_checked_on_complete_days(reference: DatasetStatistics) -> None:
    suite = daily_volume_suite(reference)
    assert suite is not None
    bounds = suite.expectations[0].configuration.kwargs
    volume = reference.daily_volume
    assert volume is not None
    assert volume.min is not None
    assert volume.max is not None
    assert (bounds["min_value"], bounds["max_value"]) == (volume.min * 0.5, volume.max * 1.5)
    stamps = pd.to_datetime(["2018-04-01 23:00", "2018-04-02 01:00", "2018-04-02 02:00", "2018-04-03 00:00"], utc=True)
    days = daily_volume_frame(pd.DataFrame({"timestamp": stamps}))
    assert days["transactions"].tolist() == [2]
