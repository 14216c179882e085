"""Transactions in: the contract, card-number tokenisation, the simulator, Kafka and file sources."""

from __future__ import annotations

from ingest.contract import (
    LABEL_SCHEMA,
    TRANSACTION_COLUMNS,
    TRANSACTION_FIELDS,
    TRANSACTION_SCHEMA,
    Channel,
    EntryMode,
    Label,
    Transaction,
)
from ingest.errors import IngestError

__all__ = [
    "LABEL_SCHEMA",
    "TRANSACTION_COLUMNS",
    "TRANSACTION_FIELDS",
    "TRANSACTION_SCHEMA",
    "Channel",
    "EntryMode",
    "IngestError",
    "Label",
    "Transaction",
]
