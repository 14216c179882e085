"""What a simulation returns: the transactions, their late labels, and how both are written to Parquet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.contract import LABEL_SCHEMA
from ingest.outputs import atomic_output
from ingest.simulator.config import SimulatorConfig
from ingest.simulator.frame import SIMULATED_SCHEMA

#: Schema metadata key under which a written file records the config that produced it.
CONFIG_METADATA_KEY = b"fraud.simulator.config"
_ROW_GROUP_SIZE = 256 * 1024


def labels_path(path: str | Path) -> Path:
    """Where the labels of the transactions file ``path`` go: ``X.parquet`` -> ``X.labels.parquet``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.labels{path.suffix or '.parquet'}")


@dataclass(frozen=True)
class SimulatedData:
    """A simulated stream: ``transactions`` in time order (contract columns, ``is_fraud``, ``fraud_scenario``
    with 0 for genuine) and ``labels`` in order of arrival (the columns of ``LABEL_SCHEMA``)."""

    config: SimulatorConfig
    transactions: pd.DataFrame
    labels: pd.DataFrame

    def write_parquet(self, path: str | Path) -> tuple[Path, Path]:
        """Write the transactions to ``path`` and the labels beside it (see :func:`labels_path`).

        The bytes depend only on the config (and the library versions): no timestamps or random names enter
        the files, so the same seed gives identical files. Both files are written whole under temporary names
        first and then renamed into place one after the other, so a failure while writing leaves the previous
        pair as it was (never new transactions beside old labels).
        """
        path = Path(path)
        metadata = {CONFIG_METADATA_KEY: self.config.to_json().encode()}
        label_file = labels_path(path)
        with atomic_output(path) as transactions, atomic_output(label_file) as labels:
            _write(self.transactions, SIMULATED_SCHEMA, metadata, transactions)
            _write(self.labels, LABEL_SCHEMA, metadata, labels)
        return path, label_file


def _write(frame: pd.DataFrame, schema: pa.Schema, metadata: dict[bytes, bytes], path: Path) -> None:
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False).replace_schema_metadata(metadata)
    pq.write_table(table, path, compression="zstd", row_group_size=_ROW_GROUP_SIZE)
