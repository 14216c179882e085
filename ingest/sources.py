"""Transaction sources: Parquet files and folders, a replay of a Kafka topic, and late label feeds.

One reader serves every command that takes transaction files (``fraud features build``, ``fraud train``), so
a folder yields the same files whoever reads it. The rule for a folder: its ``*.parquet`` files in name order,
except feature outputs (``features-*``, such as the handbook's golden features beside its transactions) and
label feeds (any name containing ``label``, such as the simulator's ``X.labels.parquet``). A file named
explicitly is always read.

>>> import tempfile, pathlib, pandas as pd
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("tx-1.parquet", "tx-1.labels.parquet", "features-golden.parquet"):
...     pd.DataFrame({"x": [1]}).to_parquet(folder / name)
>>> [p.name for p in transaction_files([folder])]
['tx-1.parquet']
"""

from __future__ import annotations

import fnmatch
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pandas as pd

from ingest.errors import IngestError
from ingest.mappings import apply_mapping

#: Files of a folder that are not transactions (``fnmatch`` patterns on the file name).
NOT_TRANSACTIONS: Final = ("features-*", "*label*")
LABEL_COLUMNS: Final = ("transaction_id", "is_fraud", "reported_at")


class SourceError(IngestError, ValueError):
    """A transaction or label source cannot be read (the message names the path and what to give instead)."""


def _is_transaction_file(path: Path) -> bool:
    return not any(fnmatch.fnmatch(path.name, pattern) for pattern in NOT_TRANSACTIONS)


def transaction_files(paths: Sequence[Path]) -> list[Path]:
    """The Parquet files that ``paths`` (files or folders) yield, by the module's one rule for folders."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.parquet"))
            kept = [f for f in found if _is_transaction_file(f)]
            if not kept:
                skipped = f" (skipped: {', '.join(f.name for f in found)})" if found else ""
                raise SourceError(
                    f"no transaction .parquet files in {path}{skipped}; files named {' or '.join(NOT_TRANSACTIONS)} "
                    "are not transactions"
                )
            files += kept
        elif path.is_file():
            files.append(path)
        else:
            raise SourceError(f"{path} does not exist; give a Parquet file or a folder of Parquet files")
    if not files:
        raise SourceError("no transaction source given; give a Parquet file or a folder of Parquet files")
    return files


def read_parquet_files(paths: Sequence[Path]) -> pd.DataFrame:
    """The rows of every file ``paths`` yield, concatenated in order, columns as stored."""
    frames = []
    for file in transaction_files(paths):
        try:
            frames.append(pd.read_parquet(file))
        except (OSError, ValueError) as error:
            raise SourceError(f"{file} is not a readable Parquet file: {error}") from None
    return pd.concat(frames, ignore_index=True)


def read_transactions(paths: Sequence[Path], mapping: str | None = None) -> pd.DataFrame:
    """Transactions from Parquet files or folders, mapped onto the contract when ``mapping`` names one."""
    frame = read_parquet_files(paths)
    return apply_mapping(frame, mapping) if mapping is not None else frame


def read_labels(path: Path) -> pd.DataFrame:
    """A label feed (``transaction_id``, ``is_fraud``, ``reported_at``; ``card_token`` when present)."""
    if not path.is_file():
        raise SourceError(f"the label file {path} does not exist")
    try:
        labels = pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise SourceError(f"{path} is not a readable Parquet label file: {error}") from None
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise SourceError(f"the label file {path} lacks columns {missing}; a label feed has {list(LABEL_COLUMNS)}")
    labels["transaction_id"] = labels["transaction_id"].astype(str)
    return labels


def attach_labels(transactions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """``is_fraud`` from the label feed (every label, whenever reported: a time split decides what was known)."""
    frauds = set(labels.loc[labels["is_fraud"].astype(bool), "transaction_id"].astype(str))
    return transactions.assign(is_fraud=transactions["transaction_id"].astype(str).isin(frauds))


def replay_kafka(bootstrap_servers: str, topic: str, *, idle_seconds: float = 5.0) -> pd.DataFrame:
    """Every valid transaction on ``topic``, read from the first offset by a fresh consumer group that commits
    nothing (a replay leaves the serving consumers' offsets alone). Stops after ``idle_seconds`` without data;
    the count of rejected messages is kept in ``frame.attrs["rejected_messages"]``."""
    from ingest.kafka import TransactionConsumer

    parts: list[pd.DataFrame] = []
    rejected = 0
    group = f"fraud-replay-{uuid.uuid4().hex[:12]}"
    with TransactionConsumer(bootstrap_servers, group, [topic], auto_offset_reset="earliest") as consumer:
        last_data = time.monotonic()
        while time.monotonic() - last_data < idle_seconds:
            batch = consumer.poll_batch(timeout_s=1.0)
            if batch is None or batch.size == 0:
                continue
            last_data = time.monotonic()
            rejected += len(batch.rejected)
            if len(batch.frame):
                parts.append(batch.frame.drop(columns=["kafka_partition", "kafka_offset"], errors="ignore"))
    if not parts:
        raise SourceError(f"topic {topic!r} at {bootstrap_servers} held no valid transactions")
    frame = pd.concat(parts, ignore_index=True)
    frame.attrs["rejected_messages"] = rejected
    return frame
