"""Numba kernels shared by the offline and online engines.

One function, :func:`window_features`, computes every windowed feature of one entity for one transaction from
that entity's events sorted by time. It reads only events at or before the transaction's own position, so the
offline engine (which hands it the whole sorted history of an entity) cannot see the future, and the online
engine (which hands it a bounded per-entity buffer) computes the very same sums in the same order.

Times are int64 microseconds since the Unix epoch (UTC). A label time of :data:`NEVER` means no fraud label
is known for the event.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit
from numpy.typing import NDArray

#: A window's amounts whose standard deviation is below this share of their mean are equal (the z-score is 0): the
#: spread of equal amounts is rounding error, not zero, and would divide their difference into about 1e15.
ZSCORE_MIN_RELATIVE_STD: Final = 1e-9

NEVER: Final = np.iinfo(np.int64).max
US_PER_SECOND: Final = 1_000_000
US_PER_HOUR: Final = 3_600 * US_PER_SECOND
US_PER_DAY: Final = 24 * US_PER_HOUR

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


@njit(cache=True, nogil=True)
def _first_after(ts: I64, lo: int, hi: int, value: int) -> int:  # pragma: no cover - compiled
    """First index j in [lo, hi) with ts[j] > value (hi when none): numpy's searchsorted side='right'.

    Branch-free halving (the comparison feeds arithmetic, not a jump): window edges are unpredictable, and
    mispredicted branches would cost more than the comparisons themselves.
    """
    n = hi - lo
    if n <= 0:
        return lo
    base = lo
    while n > 1:
        half = n >> 1
        base += half * (ts[base + half - 1] <= value)
        n -= half
    return int(base + (ts[base] <= value))


@njit(cache=True, nogil=True)
def window_features(
    ts: I64, amount: F64, label_time: I64, lo: int, i: int, params: I64, out_row: F64
) -> None:  # pragma: no cover - compiled
    """Write the features of ``params`` for the event at ``i``, from the events ``[lo, i]`` (sorted by time)."""
    t = ts[i]
    # Nested windows with the same end (1 day inside 7 inside 30) extend the previous sum instead of
    # restarting it: the plan orders features so, and both engines add in the same (backward) order.
    cache_end = -1
    cache_start = -1
    cache_total = 0.0
    known_end = -1
    known_start = -1
    known_count = 0
    lag_seen = -1
    lag_end = -1
    history_start = -1
    history_total = 0.0
    start_end = -1
    start_reach = -1
    start_seen = -1
    for f in range(params.shape[0]):
        op = params[f, 0]
        window = params[f, 1]
        lag = params[f, 2]
        col = params[f, 3]
        if op <= 3:  # count, sum, mean, fraud share over (t - lag - window, t - lag]
            # Without lag the current event (and the earlier ones at the same instant) ends the window.
            current_end = i + 1 if params[f, 4] == 1 else i
            if lag == 0:
                end = current_end
            elif lag == lag_seen:
                end = lag_end
            else:
                end = _first_after(ts, lo, i, t - lag)
                lag_seen = lag
                lag_end = end
            if end == start_end and window + lag == start_reach:  # count and mean of one window share it
                start = start_seen
            else:
                start = _first_after(ts, lo, end, t - lag - window)
                start_end = end
                start_reach = window + lag
                start_seen = start
            n = end - start
            if op == 0:
                out_row[col] = n
            elif op <= 2:
                if end == cache_end and start <= cache_start:
                    total = cache_total
                    for j in range(cache_start - 1, start - 1, -1):
                        total += amount[j]
                else:
                    total = 0.0
                    for j in range(end - 1, start - 1, -1):
                        total += amount[j]
                cache_end = end
                cache_start = start
                cache_total = total
                if op == 1:
                    out_row[col] = total
                else:
                    out_row[col] = total / n if n > 0 else 0.0
            else:
                if end == known_end and start <= known_start:
                    known = known_count
                    for j in range(start, known_start):
                        known += label_time[j] <= t
                else:
                    known = 0
                    for j in range(start, end):
                        known += label_time[j] <= t
                known_end = end
                known_start = start
                known_count = known
                out_row[col] = known / n if n > 0 else 0.0
        elif op <= 5:  # the amount against the earlier events of (t - window, t)
            start = _first_after(ts, lo, i, t - window)
            n = i - start
            if start != history_start:  # ratio and z-score over the same window share the sum
                history_total = 0.0
                for j in range(i - 1, start - 1, -1):
                    history_total += amount[j]
                history_start = start
            total = history_total
            mean = total / n if n > 0 else 0.0
            if op == 4:
                out_row[col] = amount[i] / mean if mean > 0.0 else 1.0
            else:
                spread = 0.0
                for j in range(start, i):
                    spread += (amount[j] - mean) * (amount[j] - mean)
                std = np.sqrt(spread / n) if n > 1 else 0.0
                # Equal amounts leave a spread of rounding error, not zero: under a billionth of the mean it is 0.
                out_row[col] = (amount[i] - mean) / std if std > ZSCORE_MIN_RELATIVE_STD * abs(mean) else 0.0
        else:  # recency of the previous event, capped at the window
            has_previous = i > lo and ts[i - 1] > t - window
            if op == 6:
                out_row[col] = (t - ts[i - 1] if has_previous else window) / US_PER_SECOND
            else:
                out_row[col] = 0.0 if has_previous else 1.0


@njit(cache=True, nogil=True)
def time_flags(t: int, params: I64, out_row: F64) -> None:  # pragma: no cover - compiled
    """Weekend (Saturday, Sunday) and night (hour <= last night hour) flags of a UTC timestamp."""
    for f in range(params.shape[0]):
        if params[f, 0] == 0:
            weekday = (t // US_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
            out_row[params[f, 2]] = 1.0 if weekday >= 5 else 0.0
        else:
            hour = (t % US_PER_DAY) // US_PER_HOUR
            out_row[params[f, 2]] = 1.0 if hour <= params[f, 1] else 0.0


@njit(cache=True, nogil=True)
def time_flags_batch(ts: I64, params: I64, out: F64) -> None:  # pragma: no cover - compiled
    """:func:`time_flags` for each timestamp of a batch, into the rows of ``out``."""
    for r in range(ts.shape[0]):
        time_flags(ts[r], params, out[r])


@njit(cache=True, nogil=True)
def offline_entity(
    codes: I64, n_codes: int, ts: I64, amount: F64, label_time: I64, params: I64, horizon: int, out: F64
) -> None:  # pragma: no cover - compiled
    """Features of every row of a frame in time (then arrival) order, grouped by dense entity ``codes``.

    A counting sort groups the rows by entity while keeping their order inside each group.
    """
    n = codes.shape[0]
    starts = np.zeros(n_codes + 1, dtype=np.int64)
    for r in range(n):
        starts[codes[r] + 1] += 1
    for c in range(n_codes):
        starts[c + 1] += starts[c]
    fill = starts[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for r in range(n):
        order[fill[codes[r]]] = r
        fill[codes[r]] += 1
    s_ts = ts[order]
    s_amount = amount[order]
    s_label = label_time[order]
    width = params.shape[0]
    local = params.copy()
    for f in range(width):
        local[f, 3] = f
    # Rows are computed in entity order into a dense buffer (sequential writes), then each frame row reads its
    # values back in one cache line: far cheaper than scattering every value to a random row.
    dense = np.empty((n, width), dtype=np.float64)
    for c in range(n_codes):
        live = starts[c]  # first event of the group within the horizon: what the online state would hold
        for k in range(starts[c], starts[c + 1]):
            while s_ts[live] <= s_ts[k] - horizon:
                live += 1
            window_features(s_ts, s_amount, s_label, live, k, local, dense[k])
    inverse = np.empty(n, dtype=np.int64)
    for k in range(n):
        inverse[order[k]] = k
    for r in range(n):
        k = inverse[r]
        for f in range(width):
            out[r, params[f, 3]] = dense[k, f]


@njit(cache=True, nogil=True)
def _shift_left(
    s_ts: I64, s_amount: F64, s_label: I64, s_eid: I64, s: int, drop: int, count: int
) -> None:  # pragma: no cover
    for j in range(drop, count):
        s_ts[s, j - drop] = s_ts[s, j]
        s_amount[s, j - drop] = s_amount[s, j]
        s_label[s, j - drop] = s_label[s, j]
        s_eid[s, j - drop] = s_eid[s, j]


@njit(cache=True, nogil=True)
def online_entity_one(
    s_ts: I64,
    s_amount: F64,
    s_label: I64,
    s_eid: I64,
    s_count: I64,
    s: int,
    t: int,
    amount: float,
    eid: int,
    params: I64,
    horizon: int,
    latest_only: bool,
    out_row: F64,
) -> bool:  # pragma: no cover - compiled
    """Insert one event into slot ``s`` and write its features; False (nothing changed) when the slot is full.

    Events older than the horizon are evicted first; the event goes after any event at the same instant
    (arrival order), and its features see only the events before it.
    """
    count = s_count[s]
    if count > 0 and s_ts[s, 0] <= t - horizon:
        drop = _first_after(s_ts[s], 0, count, t - horizon)
        _shift_left(s_ts, s_amount, s_label, s_eid, s, drop, count)
        count -= drop
        s_count[s] = count
    if count == s_ts.shape[1]:
        return False
    pos = _first_after(s_ts[s], 0, count, t)
    for j in range(count, pos, -1):
        s_ts[s, j] = s_ts[s, j - 1]
        s_amount[s, j] = s_amount[s, j - 1]
        s_label[s, j] = s_label[s, j - 1]
        s_eid[s, j] = s_eid[s, j - 1]
    s_ts[s, pos] = t
    s_amount[s, pos] = amount
    s_label[s, pos] = NEVER
    s_eid[s, pos] = eid
    count += 1
    window_features(s_ts[s], s_amount[s], s_label[s], 0, pos, params, out_row)
    if latest_only and count > 1:
        _shift_left(s_ts, s_amount, s_label, s_eid, s, count - 1, count)
        count = 1
    s_count[s] = count
    return True


@njit(cache=True, nogil=True)
def online_entity_batch(
    s_ts: I64,
    s_amount: F64,
    s_label: I64,
    s_eid: I64,
    s_count: I64,
    slots: I64,
    ts: I64,
    amount: F64,
    eid: I64,
    params: I64,
    horizon: int,
    latest_only: bool,
    out: F64,
    first_row: int,
) -> int:  # pragma: no cover - compiled
    """:func:`online_entity_one` for each row in order. Returns the number of rows done: less than the batch
    when a slot is full of live events, so that the caller can widen the arena and resume there."""
    for r in range(first_row, ts.shape[0]):
        done = online_entity_one(
            s_ts, s_amount, s_label, s_eid, s_count, slots[r], ts[r], amount[r], eid[r],
            params, horizon, latest_only, out[r],
        )  # fmt: skip
        if not done:
            return r
    return int(ts.shape[0])


@njit(cache=True, nogil=True)
def set_label(s_label: I64, s_eid: I64, s_count: I64, slot: int, eid: int, label_time: int) -> bool:  # pragma: no cover
    """Record when the fraud label of event ``eid`` became known (the earliest report counts); False when the
    event is no longer held."""
    for j in range(s_count[slot]):
        if s_eid[slot, j] == eid:
            s_label[slot, j] = min(s_label[slot, j], label_time)
            return True
    return False
