"""At the handbook's settings, the simulator matches the published handbook data.

Sixty simulated days are compared with the first sixty days of the real data (2018-04-01 to 2018-05-30) on the
daily transaction count, the amount distribution, the fraud rate and the frauds per day of each scenario.

Tolerances come from the sampling variation of the process itself. The real data is one draw of it and the
simulation another, so their difference has sqrt(2) times the standard deviation (sd) of one draw; each
tolerance is 4 x sqrt(2) x sd, which a correct simulator exceeds with probability below 1e-4. The sd are those
across 16 seeds of the 60-day handbook preset, measured with this simulator (they are dominated by the
random customer profiles, not by the daily Poisson noise), or derived where noted.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ingest.mappings import HANDBOOK_MAPPING, apply_mapping
from ingest.simulator import SimulatorConfig, simulate

DAYS = 60
_K = 4 * math.sqrt(2)

#: Mean transactions per day. The total daily rate is a sum of 5,000 U(0, 4) rates (sd sqrt(5000 x 16 / 12) =
#: 81.6), thinned by the 96.9 % of times of day kept: sd 79 per day (16 seeds measured 61).
DAILY_COUNT_TOLERANCE = _K * 79.0  # about 450, 4.7 %
#: Mean amount (sd 0.43 across seeds) and the 50th / 90th / 99th percentiles (sd 0.60 / 0.46 / 0.59).
MEAN_AMOUNT_TOLERANCE = _K * 0.43  # about 2.4
AMOUNT_QUANTILE_TOLERANCE = {0.5: _K * 0.60, 0.9: _K * 0.46, 0.99: _K * 0.59}
#: Kolmogorov-Smirnov distance between the simulated and real amounts: 0.011 +- 0.0047 across seeds.
AMOUNT_KS_MAX = 0.011 + 4 * 0.0047
#: Share of fraudulent transactions (sd 0.0002).
FRAUD_RATE_TOLERANCE = _K * 0.0002  # about 0.0011, 15 %
#: Frauds per day of each scenario over the 60 days (sd 0.35 / 0.84 / 0.88), and of scenario 2 in days 30-59,
#: once the 28-day compromise windows overlap fully (sd 1.12).
SCENARIO_PER_DAY_TOLERANCE = {1: _K * 0.35, 2: _K * 0.84, 3: _K * 0.88}
STEADY_SCENARIO_2_TOLERANCE = _K * 1.12


def _day(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["timestamp"] - pd.Timestamp("2018-04-01", tz="UTC")) // pd.Timedelta(days=1)).to_numpy()


@pytest.fixture(scope="module")
def real(handbook_dir: Path) -> pd.DataFrame:
    raw = pd.concat([pd.read_parquet(handbook_dir / f"transactions-2018-{m:02d}.parquet") for m in (4, 5)])
    frame = apply_mapping(raw, HANDBOOK_MAPPING)
    return frame[_day(frame) < DAYS].reset_index(drop=True)


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return simulate(SimulatorConfig.preset("handbook", days=DAYS, seed=0)).transactions


def _summary(frame: pd.DataFrame) -> dict[str, float]:
    day = _day(frame)
    scenario = frame["fraud_scenario"].to_numpy()
    out = {
        "daily_count": len(frame) / DAYS,
        "mean_amount": float(frame["amount"].mean()),
        "fraud_rate": float(frame["is_fraud"].mean()),
        "steady_scenario_2": float(((scenario == 2) & (day >= 30)).sum() / 30),
    }
    out.update({f"q{q}": float(frame["amount"].quantile(q)) for q in AMOUNT_QUANTILE_TOLERANCE})
    out.update({f"scenario_{s}": float((scenario == s).sum() / DAYS) for s in SCENARIO_PER_DAY_TOLERANCE})
    return out


pytestmark = [pytest.mark.handbook, pytest.mark.slow]


def test_real_data_spans_the_compared_days(real: pd.DataFrame) -> None:
    assert set(np.unique(_day(real))) == set(range(DAYS))


def test_daily_transaction_count(real: pd.DataFrame, simulated: pd.DataFrame) -> None:
    sim, ref = _summary(simulated), _summary(real)
    assert abs(sim["daily_count"] - ref["daily_count"]) <= DAILY_COUNT_TOLERANCE, (sim, ref)
    assert set(np.unique(_day(simulated))) == set(range(DAYS))


def test_amount_distribution(real: pd.DataFrame, simulated: pd.DataFrame) -> None:
    sim, ref = _summary(simulated), _summary(real)
    assert abs(sim["mean_amount"] - ref["mean_amount"]) <= MEAN_AMOUNT_TOLERANCE, (sim, ref)
    for q, tolerance in AMOUNT_QUANTILE_TOLERANCE.items():
        assert abs(sim[f"q{q}"] - ref[f"q{q}"]) <= tolerance, (q, sim, ref)
    ks = stats.ks_2samp(simulated["amount"].to_numpy(), real["amount"].to_numpy()).statistic
    assert ks <= AMOUNT_KS_MAX


def test_fraud_rate(real: pd.DataFrame, simulated: pd.DataFrame) -> None:
    sim, ref = _summary(simulated), _summary(real)
    assert abs(sim["fraud_rate"] - ref["fraud_rate"]) <= FRAUD_RATE_TOLERANCE, (sim, ref)


@pytest.mark.parametrize("scenario", sorted(SCENARIO_PER_DAY_TOLERANCE))
def test_frauds_per_day_of_each_scenario(real: pd.DataFrame, simulated: pd.DataFrame, scenario: int) -> None:
    sim, ref = _summary(simulated), _summary(real)
    key = f"scenario_{scenario}"
    assert abs(sim[key] - ref[key]) <= SCENARIO_PER_DAY_TOLERANCE[scenario], (sim[key], ref[key])


def test_compromised_terminals_ramp_up_then_hold(real: pd.DataFrame, simulated: pd.DataFrame) -> None:
    sim, ref = _summary(simulated), _summary(real)
    assert abs(sim["steady_scenario_2"] - ref["steady_scenario_2"]) <= STEADY_SCENARIO_2_TOLERANCE
    # Both ramp up over the first 28 days: the first week has far fewer scenario-2 frauds than the last.
    for frame in (real, simulated):
        day, s2 = _day(frame), frame["fraud_scenario"].to_numpy() == 2
        assert s2[day < 7].sum() * 3 < s2[day >= DAYS - 7].sum()
