"""Small random transaction streams for property and contract tests: few cards and terminals (so windows
fill up), second-resolution times with deliberate ties, several countries, and frauds."""

from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2018-04-01", tz="UTC")


def random_transactions(
    seed: int, n: int = 300, days: float = 50.0, cards: int = 6, terminals: int = 5
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, int(days * 86_400), size=n))
    # A tenth of the rows repeat the previous instant: ties must follow arrival order.
    repeat = rng.random(n) < 0.1
    repeat[0] = False
    seconds[repeat] = seconds[np.flatnonzero(repeat) - 1]
    # Bursts: some rows a few minutes after the previous one (short windows see several events).
    burst = (rng.random(n) < 0.15) & ~repeat
    burst[0] = False
    seconds = np.maximum.accumulate(np.where(burst, np.r_[0, seconds[:-1]] + rng.integers(1, 600, n), seconds))
    card = rng.integers(0, cards, size=n)
    return pd.DataFrame(
        {
            "transaction_id": [f"tx{seed}-{i}" for i in range(n)],
            "timestamp": START + pd.to_timedelta(seconds, unit="s"),
            "card_token": [f"card{c}" for c in card],
            "customer_id": [f"cust{c}" for c in card],
            "terminal_id": [f"term{t}" for t in rng.integers(0, terminals, size=n)],
            "amount": np.round(rng.gamma(2.0, 30.0, size=n), 2) * (rng.random(n) > 0.02),
            "country": rng.choice(["BE", "FR", "NL"], size=n, p=[0.8, 0.15, 0.05]),
            "is_fraud": rng.random(n) < 0.2,
        }
    )


def random_labels(transactions: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Reports for the frauds (and some genuine ones) between 1 hour and 20 days after the transaction."""
    rng = np.random.default_rng(seed + 1)
    chosen = transactions[transactions["is_fraud"] | (rng.random(len(transactions)) < 0.1)]
    delay = pd.to_timedelta(rng.integers(3_600, 20 * 86_400, size=len(chosen)), unit="s")
    return pd.DataFrame(
        {
            "transaction_id": chosen["transaction_id"].to_numpy(),
            "card_token": chosen["card_token"].to_numpy(),
            "is_fraud": chosen["is_fraud"].to_numpy(),
            "reported_at": (chosen["timestamp"] + delay).to_numpy(),
        }
    ).astype({"reported_at": "datetime64[us, UTC]"})
