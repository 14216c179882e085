"""Two fraud patterns of real card fraud, injected as new transactions (scenario ids 4 and 5).

* **Card-not-present burst** (4): stolen card details are tried online in quick succession: a small test
  payment, then a few larger ones, each at a different online shop abroad the card has never used, from the
  fraudster's device, card number typed in, all within minutes.
* **Account takeover** (5): a fraudster takes over the customer's online account: a new device and a new
  country, card on file, a few payments over the next day and a half with amounts climbing well above the
  customer's habit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ingest.simulator import vocabulary as v
from ingest.simulator.batch import Batch
from ingest.simulator.errors import SimulatorError
from ingest.simulator.genuine import SECONDS_PER_DAY, to_cents
from ingest.simulator.merchants import Merchants
from ingest.simulator.profiles import Profiles

CNP_BURST = 4
ACCOUNT_TAKEOVER = 5

BURST_MIN_SIZE = 3
BURST_EXTRA_MEAN = 2.0  # Poisson mean of payments beyond the minimum
BURST_MAX_SIZE = 12
BURST_GAP_MIN_S = 10.0  # payments are seconds to a few minutes apart
BURST_GAP_MEAN_S = 75.0
BURST_GAP_MAX_S = 300.0
TEST_PAYMENT = (0.5, 2.0)  # the first payment checks the card works
BURST_MEDIAN_AMOUNT = 150.0
BURST_AMOUNT_LOG_SD = 0.5

TAKEOVER_MIN_SIZE = 2
TAKEOVER_EXTRA_MEAN = 2.0
TAKEOVER_MAX_SIZE = 10
TAKEOVER_SPAN_S = 36 * 3600
TAKEOVER_GROWTH = 1.6  # each payment about 1.6 times the previous one
#: Multiplicative noise on each amount; narrow enough (1.6 x 0.85 / 1.15 > 1) that amounts keep climbing.
TAKEOVER_NOISE = (0.85, 1.15)
MAX_FRAUD_AMOUNT = 5_000.0


@dataclass(frozen=True)
class Events:
    """Injected fraud events and their payments: per event, the victim and the start (seconds from the
    simulation start); per payment (row), the event it belongs to and its rank inside that event."""

    victim: npt.NDArray[np.int32]
    start: npt.NDArray[np.int64]
    event: npt.NDArray[np.int64]
    rank: npt.NDArray[np.int64]

    @property
    def rows(self) -> int:
        return int(self.event.shape[0])


def _draw_events(
    profiles: Profiles,
    *,
    days: int,
    per_day: float,
    min_size: int,
    extra_mean: float,
    max_size: int,
    rng: np.random.Generator,
) -> Events:
    """A Poisson number of events over ``days``, each with a victim drawn uniformly, a start uniform over the
    period and ``min_size`` + Poisson(``extra_mean``) payments (at most ``max_size``)."""
    n_events = int(rng.poisson(per_day * days))
    sizes = np.minimum(min_size + rng.poisson(extra_mean, size=n_events), max_size).astype(np.int64)
    event = np.repeat(np.arange(n_events, dtype=np.int64), sizes)
    starts = np.cumsum(sizes) - sizes
    rank = np.arange(event.shape[0], dtype=np.int64) - starts[event]
    victim = rng.integers(0, profiles.n_customers, size=n_events).astype(np.int32)
    start = rng.integers(0, days * SECONDS_PER_DAY, size=n_events)
    return Events(victim=victim, start=start, event=event, rank=rank)


def _new_merchants(
    customer: npt.NDArray[np.int32], pool: npt.NDArray[np.int32], profiles: Profiles, rng: np.random.Generator
) -> npt.NDArray[np.int32]:
    """A terminal from ``pool`` for each row that the row's customer never uses (redrawn until so)."""
    if customer.shape[0] and not pool.shape[0]:
        raise SimulatorError("no online shop abroad for card-not-present bursts; raise n_terminals")
    n_terminals = profiles.n_terminals
    reach_customer = np.repeat(np.arange(profiles.n_customers, dtype=np.int64), profiles.reach_size)
    known = reach_customer * n_terminals + profiles.reach_terminals  # sorted: CSR rows are in order
    terminal: npt.NDArray[np.int32] = pool[rng.integers(0, pool.shape[0], size=customer.shape[0])]
    for _ in range(100):
        keys = customer.astype(np.int64) * n_terminals + terminal
        pos = np.minimum(np.searchsorted(known, keys), max(known.shape[0] - 1, 0))
        clash = known[pos] == keys if known.shape[0] else np.zeros(keys.shape[0], dtype=np.bool_)
        if not clash.any():
            return terminal.astype(np.int32)
        terminal[clash] = pool[rng.integers(0, pool.shape[0], size=int(clash.sum()))]
    raise SimulatorError(
        "could not find online shops abroad unused by the stolen cards; raise n_terminals or lower cnp_bursts_per_day"
    )


def _fraud_batch(
    events: Events,
    terminal: npt.NDArray[np.int32],
    offsets: npt.NDArray[np.float64],
    amount: npt.NDArray[np.float64],
    merchants: Merchants,
    *,
    days: int,
    first_device: int,
    scenario: int,
    entry_mode: int,
) -> Batch:
    """The events' online payments as fraud rows (event ``k`` on device code ``first_device + k``), those
    that would fall after the last simulated day left out."""
    country = merchants.country[terminal]
    n = events.rows
    batch = Batch(
        customer=events.victim[events.event],
        terminal=terminal,
        seconds=events.start[events.event] + offsets.astype(np.int64),
        amount=amount,
        is_fraud=np.ones(n, dtype=np.bool_),
        scenario=np.full(n, scenario, dtype=np.int8),
        channel=np.full(n, v.ECOM, dtype=np.int8),
        entry_mode=np.full(n, entry_mode, dtype=np.int8),
        country=country,
        currency=np.asarray(v.COUNTRY_CURRENCY, dtype=np.int8)[country],
        mcc=merchants.mcc[terminal],
        device=(first_device + events.event).astype(np.int32),
    )
    return batch.take(batch.seconds < days * SECONDS_PER_DAY)


def cnp_bursts(
    profiles: Profiles, merchants: Merchants, *, days: int, per_day: float, first_device: int, rng: np.random.Generator
) -> Batch:
    """Card-not-present bursts on stolen cards; event ``k`` uses device code ``first_device + k``."""
    ev = _draw_events(
        profiles,
        days=days,
        per_day=per_day,
        min_size=BURST_MIN_SIZE,
        extra_mean=BURST_EXTRA_MEAN,
        max_size=BURST_MAX_SIZE,
        rng=rng,
    )
    gap = np.minimum(BURST_GAP_MIN_S + rng.exponential(BURST_GAP_MEAN_S, size=ev.rows), BURST_GAP_MAX_S)
    gaps = np.where(ev.rank == 0, 0.0, gap)
    # Offsets within each event: cumulative gaps, restarted at every event.
    cumulative = np.cumsum(gaps)
    offsets = cumulative - (cumulative - gaps)[ev.rank == 0][ev.event]
    terminal = _new_merchants(ev.victim[ev.event], merchants.online_abroad(), profiles, rng)
    amount = np.where(
        ev.rank == 0,
        rng.uniform(*TEST_PAYMENT, size=ev.rows),
        rng.lognormal(np.log(BURST_MEDIAN_AMOUNT), BURST_AMOUNT_LOG_SD, size=ev.rows),
    )
    return _fraud_batch(
        ev,
        terminal,
        offsets,
        to_cents(np.minimum(amount, MAX_FRAUD_AMOUNT)),
        merchants,
        days=days,
        first_device=first_device,
        scenario=CNP_BURST,
        entry_mode=v.MANUAL,
    )


def _new_countries(
    victim: npt.NDArray[np.int32],
    countries: npt.NDArray[np.int8],
    merchants: Merchants,
    profiles: Profiles,
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """For each victim, a position in ``countries`` of a country none of the victim's usual merchants is in
    (any of ``countries`` when the victim's merchants already cover them all)."""
    used = np.zeros((profiles.n_customers, len(v.COUNTRIES)), dtype=np.bool_)
    reach_customer = np.repeat(np.arange(profiles.n_customers), profiles.reach_size)
    used[reach_customer, merchants.country[profiles.reach_terminals]] = True
    scores = rng.random((victim.shape[0], countries.shape[0]))
    seen = used[victim][:, countries]
    scores[seen & ~seen.all(axis=1, keepdims=True)] = -1.0
    return np.argmax(scores, axis=1) if countries.shape[0] else np.zeros(victim.shape[0], dtype=np.int64)


def account_takeovers(
    profiles: Profiles, merchants: Merchants, *, days: int, per_day: float, first_device: int, rng: np.random.Generator
) -> Batch:
    """Account takeovers: one new country and device per event, amounts climbing from the customer's mean."""
    ev = _draw_events(
        profiles,
        days=days,
        per_day=per_day,
        min_size=TAKEOVER_MIN_SIZE,
        extra_mean=TAKEOVER_EXTRA_MEAN,
        max_size=TAKEOVER_MAX_SIZE,
        rng=rng,
    )
    # Online shops abroad grouped by country, so that all payments of one takeover come from one country.
    pool = merchants.online_abroad()
    pool = pool[np.argsort(merchants.country[pool], kind="stable")]
    countries, first, size = np.unique(merchants.country[pool], return_index=True, return_counts=True)
    if countries.shape[0] == 0 and ev.rows:
        raise SimulatorError("no online shop abroad to stage an account takeover; raise n_terminals")
    event_country = _new_countries(ev.victim, countries, merchants, profiles, rng)
    row_country = event_country[ev.event]
    terminal = pool[first[row_country] + np.floor(rng.random(ev.rows) * size[row_country]).astype(np.int64)]
    offsets = np.sort(rng.uniform(0.0, TAKEOVER_SPAN_S, size=ev.rows) + ev.event * 2.0 * TAKEOVER_SPAN_S)
    offsets = offsets - ev.event * 2.0 * TAKEOVER_SPAN_S  # sorted inside each event, the first at the start
    offsets = offsets - offsets[ev.rank == 0][ev.event]
    customer = ev.victim[ev.event]
    growth = TAKEOVER_GROWTH ** ev.rank.astype(np.float64)
    noise = rng.uniform(*TAKEOVER_NOISE, size=ev.rows)
    amount = to_cents(np.minimum(profiles.mean_amount[customer] * growth * noise, MAX_FRAUD_AMOUNT))
    return _fraud_batch(
        ev,
        terminal.astype(np.int32),
        offsets,
        amount,
        merchants,
        days=days,
        first_device=first_device,
        scenario=ACCOUNT_TAKEOVER,
        entry_mode=v.CREDENTIAL_ON_FILE,
    )
