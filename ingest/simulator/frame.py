"""From arrays to the contract: a :class:`Batch` becomes a DataFrame in contract columns plus the labels."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from ingest.contract import TRANSACTION_SCHEMA
from ingest.simulator import vocabulary as v
from ingest.simulator.batch import Batch

#: The simulator's columns: the contract's, then the label and the scenario that produced it (0 = genuine).
SIMULATED_SCHEMA = pa.schema(
    [
        *(pa.field(f.name, f.type, nullable=False) for f in TRANSACTION_SCHEMA),
        pa.field("is_fraud", pa.bool_(), nullable=False),
        pa.field("fraud_scenario", pa.int8(), nullable=False),
    ]
)


#: The same columns with 64-bit string offsets, the layout pandas keeps text in: building the frame from it
#: needs no conversion of the text columns (files are written with :data:`SIMULATED_SCHEMA`).
_FRAME_SCHEMA = pa.schema(
    [pa.field(f.name, pa.large_string() if f.type == pa.string() else f.type, nullable=False) for f in SIMULATED_SCHEMA]
)


def _text(codes: npt.NDArray[np.integer], vocabulary: list[str] | tuple[str, ...]) -> pa.Array:
    dictionary = pa.array(list(vocabulary), type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes), dictionary).cast(pa.large_string())


def to_table(batch: Batch, *, start: datetime, devices: list[str]) -> pa.Table:
    """The batch (already in time order) as an Arrow table of the simulator's columns; transaction ids are
    the row numbers, as in the handbook, and the card token is the customer id (one card per customer)."""
    n = len(batch)
    start_us = int(start.timestamp()) * 1_000_000
    customers = [str(i) for i in range(int(batch.customer.max(initial=-1)) + 1)]
    terminals = [str(i) for i in range(int(batch.terminal.max(initial=-1)) + 1)]
    customer = _text(batch.customer, customers)
    columns = {
        "transaction_id": pa.array(np.arange(n, dtype=np.int64)).cast(pa.large_string()),
        "timestamp": pa.array(start_us + batch.seconds * 1_000_000, type=pa.timestamp("us", tz="UTC")),
        "card_token": customer,
        "customer_id": customer,
        "terminal_id": _text(batch.terminal, terminals),
        "amount": pa.array(batch.amount, type=pa.float64()),
        "currency": _text(batch.currency, v.CURRENCIES),
        "mcc": _text(batch.mcc, v.MCCS),
        "channel": _text(batch.channel, v.CHANNELS),
        "entry_mode": _text(batch.entry_mode, v.ENTRY_MODES),
        "country": _text(batch.country, v.COUNTRIES),
        "device_id": _text(batch.device, devices),
        "is_fraud": pa.array(batch.is_fraud, type=pa.bool_()),
        "fraud_scenario": pa.array(batch.scenario, type=pa.int8()),
    }
    return pa.Table.from_arrays(list(columns.values()), schema=_FRAME_SCHEMA)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The table as a DataFrame with the contract's pandas dtypes (text as ``str``, UTC microseconds)."""
    frame: pd.DataFrame = table.to_pandas()
    frame["timestamp"] = frame["timestamp"].astype("datetime64[us, UTC]")
    return frame
