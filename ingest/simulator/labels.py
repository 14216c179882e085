"""Labels that arrive late, as a bank receives them.

A fraud is reported either quickly by the cardholder (a share ``fast_report_share``, between 2 hours and 3 days
after the payment) or through a chargeback, whose delay is log-normal with median ``chargeback_median_days``
(about 4 to 27 days for the middle 90 %). No report comes after the label maturity: then the chargeback window
is closed. Genuine transactions are labelled genuine exactly at maturity (when ``genuine_labels`` is set), so a
consumer of the label stream knows that every transaction older than the maturity has its final label; without
them, "no fraud label by maturity" means genuine.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from ingest.contract import LABEL_SCHEMA

FAST_REPORT_MIN_S = 2 * 3600
FAST_REPORT_MAX_S = 3 * 86_400
CHARGEBACK_LOG_SD = 0.6
MIN_DELAY_S = 3600


def report_delays(
    n: int, *, fast_share: float, chargeback_median_days: float, maturity_days: float, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Seconds between ``n`` frauds and their reports."""
    fast = rng.random(n) < fast_share
    quick = rng.uniform(FAST_REPORT_MIN_S, FAST_REPORT_MAX_S, size=n)
    chargeback = rng.lognormal(np.log(chargeback_median_days * 86_400), CHARGEBACK_LOG_SD, size=n)
    delay = np.where(fast, quick, chargeback)
    return np.clip(delay, MIN_DELAY_S, maturity_days * 86_400).astype(np.int64)


def draw_labels(
    transactions: pd.DataFrame,
    *,
    fast_share: float,
    chargeback_median_days: float,
    maturity_days: float,
    genuine_labels: bool,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The label stream of ``transactions`` (contract columns plus ``is_fraud``), in order of arrival, with the
    columns of :data:`ingest.contract.LABEL_SCHEMA`."""
    is_fraud = transactions["is_fraud"].to_numpy(dtype=np.bool_)
    stamps = transactions["timestamp"].to_numpy(dtype="datetime64[us]").astype(np.int64)
    delay = np.full(is_fraud.shape[0], int(maturity_days * 86_400), dtype=np.int64)
    delay[is_fraud] = report_delays(
        int(is_fraud.sum()),
        fast_share=fast_share,
        chargeback_median_days=chargeback_median_days,
        maturity_days=maturity_days,
        rng=rng,
    )
    reported = stamps + delay * 1_000_000
    rows = np.arange(is_fraud.shape[0]) if genuine_labels else np.flatnonzero(is_fraud)
    rows = rows[np.argsort(reported[rows], kind="stable")]
    # Text columns are gathered as Arrow arrays: no Python string objects for a million labels.
    take = pa.array(rows)
    table = pa.Table.from_arrays(
        [
            pa.array(transactions["transaction_id"], type=pa.string()).take(take),
            pa.array(transactions["card_token"], type=pa.string()).take(take),
            pa.array(is_fraud[rows], type=pa.bool_()),
            pa.array(reported[rows], type=pa.timestamp("us", tz="UTC")),
        ],
        schema=LABEL_SCHEMA,
    )
    frame: pd.DataFrame = table.to_pandas()
    return frame
