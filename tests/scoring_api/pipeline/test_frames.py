"""A transaction's fingerprint is the same whether it comes alone or in a batch frame (idempotency compares
them across the two paths)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from ingest.contract import Transaction
from scoring_api.pipeline.frames import frame_fingerprints, transaction_fingerprint, transactions_frame


def test_a_transaction_alone_and_in_a_frame_has_one_fingerprint() -> None:
    base = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    transactions = [
        Transaction(
            transaction_id=f"t{k}", timestamp=base.replace(second=k), card_token=f"card-{k}", customer_id="u-1",
            terminal_id="m1", amount=amount, device_id="dev-1",
        )
        for k, amount in enumerate([0.1, 100.0, 9999999.99, 12.345678901234567, 0.0, 1e-05])
    ]  # fmt: skip
    frame = transactions_frame(transactions)
    alone = [transaction_fingerprint(tx) for tx in transactions]
    assert frame_fingerprints(frame) == alone
    assert len(set(alone)) == len(alone)
    halves = pd.concat([frame.iloc[:3], frame.iloc[3:]], ignore_index=True)  # columns in several Arrow chunks
    assert frame_fingerprints(halves) == alone
