"""Transactions in: the contract, card-number tokenisation, the simulator, Kafka, and the sources that read
transaction files, Kafka replays and label feeds (:mod:`ingest.sources`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.errors import IngestError
from ingest.lazy_exports import lazy_exports

if TYPE_CHECKING:
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
    from ingest.sources import (
        SourceError,
        attach_labels,
        read_labels,
        read_parquet_files,
        read_transactions,
        replay_kafka,
        transaction_files,
    )

#: Loaded on first use: the contract pulls in pyarrow and the sources pandas, which ``fraud --help`` must not pay
#: for (every package imports this one for :func:`~ingest.lazy_exports.lazy_exports`).
_CONTRACT = (
    "LABEL_SCHEMA",
    "TRANSACTION_COLUMNS",
    "TRANSACTION_FIELDS",
    "TRANSACTION_SCHEMA",
    "Channel",
    "EntryMode",
    "Label",
    "Transaction",
)
_SOURCES = (
    "SourceError",
    "attach_labels",
    "read_labels",
    "read_parquet_files",
    "read_transactions",
    "replay_kafka",
    "transaction_files",
)
__getattr__ = lazy_exports(__name__, {**dict.fromkeys(_CONTRACT, ".contract"), **dict.fromkeys(_SOURCES, ".sources")})


__all__ = [
    "LABEL_SCHEMA",
    "TRANSACTION_COLUMNS",
    "TRANSACTION_FIELDS",
    "TRANSACTION_SCHEMA",
    "Channel",
    "EntryMode",
    "IngestError",
    "Label",
    "SourceError",
    "Transaction",
    "attach_labels",
    "read_labels",
    "read_parquet_files",
    "read_transactions",
    "replay_kafka",
    "transaction_files",
]
