"""Transactions in: the contract, card-number tokenisation, the simulator, Kafka, and the sources that read
transaction files, Kafka replays and label feeds (:mod:`ingest.sources`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ingest.sources import (
        SourceError,
        attach_labels,
        read_labels,
        read_parquet_files,
        read_transactions,
        replay_kafka,
        transaction_files,
    )

#: Loaded on first use: they pull in pandas, which ``fraud --help`` must not pay for.
_SOURCES = (
    "SourceError",
    "attach_labels",
    "read_labels",
    "read_parquet_files",
    "read_transactions",
    "replay_kafka",
    "transaction_files",
)


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        from ingest import sources

        return getattr(sources, name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")


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
