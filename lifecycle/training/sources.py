"""Where training data comes from: Parquet files (contract columns, or a named column mapping), or a replay
of a Kafka topic from its first offset; labels from a Parquet label file when the source carries none."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ingest.mappings import apply_mapping
from lifecycle.training.errors import TrainingError


def _parquet_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.glob("*.parquet") if "label" not in p.name and "golden" not in p.name)
        elif path.exists():
            files.append(path)
        else:
            raise TrainingError(f"no such file or folder: {path}")
    if not files:
        raise TrainingError(f"no Parquet files in {[str(p) for p in paths]}")
    return files


def read_parquet_source(paths: Sequence[Path], mapping: str | None = None) -> pd.DataFrame:
    """Transactions from Parquet files or folders, mapped onto the contract when ``mapping`` names one."""
    frame = pd.concat([pd.read_parquet(p) for p in _parquet_files(paths)], ignore_index=True)
    if mapping is not None:
        frame = apply_mapping(frame, mapping)
    return frame


def read_labels(path: Path) -> pd.DataFrame:
    """A label file (transaction_id, card_token, is_fraud, reported_at)."""
    labels = pd.read_parquet(path)
    missing = {"transaction_id", "is_fraud", "reported_at"} - set(labels.columns)
    if missing:
        raise TrainingError(f"the label file {path} lacks columns {sorted(missing)}")
    labels["transaction_id"] = labels["transaction_id"].astype(str)
    return labels


def attach_labels(transactions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """``is_fraud`` from the label feed (every label, whenever reported: the split decides what was known)."""
    frauds = set(labels.loc[labels["is_fraud"].astype(bool), "transaction_id"].astype(str))
    return transactions.assign(is_fraud=transactions["transaction_id"].astype(str).isin(frauds))


def replay_kafka(bootstrap_servers: str, topic: str, *, idle_seconds: float = 5.0) -> pd.DataFrame:
    """Every valid transaction on ``topic``, read from the first offset by a fresh consumer group that commits
    nothing (a replay leaves the serving consumers' offsets alone). Stops after ``idle_seconds`` without data."""
    from ingest.kafka import TransactionConsumer

    parts: list[pd.DataFrame] = []
    rejected = 0
    group = f"fraud-train-replay-{uuid.uuid4().hex[:12]}"
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
        raise TrainingError(f"topic {topic!r} at {bootstrap_servers} held no valid transactions")
    frame = pd.concat(parts, ignore_index=True)
    frame.attrs["rejected_messages"] = rejected
    return frame
