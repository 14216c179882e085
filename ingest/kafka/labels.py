"""The wire format of fraud labels on Kafka (topic ``labels``), and its conversions.

One message is one label (:class:`ingest.contract.Label`), as a bank's back office reports it:

* **key**: the card token, UTF-8, exactly as for transactions, so that with as many partitions as the
  ``transactions`` topic a label lands in the partition of its transaction (the stream worker that owns a card
  reads both, co-partitioned).
* **value**: a JSON object with exactly the fields ``transaction_id``, ``card_token``, ``is_fraud`` (a boolean)
  and ``reported_at`` (integer microseconds since the Unix epoch, UTC, like a transaction's ``timestamp``).

Decoding checks the JSON shape, then each label against the contract's :class:`~ingest.contract.Label` model
(identifiers, no card number in clear, a sane time); a bad message is rejected with a reason, never dropped.

>>> import pandas as pd
>>> labels = pd.DataFrame({"transaction_id": ["t1"], "card_token": ["c1"], "is_fraud": [True],
...                        "reported_at": [pd.Timestamp("2018-04-09 10:00", tz="UTC")]})
>>> keys, values = encode_labels(labels)
>>> keys[0], values[0]
(b'c1', b'{"transaction_id":"t1","card_token":"c1","is_fraud":true,"reported_at":1523268000000000}')
>>> decode_labels(values).frame.loc[0, "is_fraud"]
np.True_
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
from pydantic import ValidationError

from ingest.contract import LABEL_SCHEMA, Label
from ingest.kafka.codec import RejectedValue
from ingest.kafka.errors import EncodeError

LABEL_FIELDS: Final = tuple(LABEL_SCHEMA.names)
_FIELD_SET: Final = frozenset(LABEL_FIELDS)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_INT64_MAX: Final = 2**63 - 1


@dataclass
class DecodedLabels:
    """The valid labels of a batch (columns of :data:`~ingest.contract.LABEL_SCHEMA` plus ``batch_index``, each
    row's place in the input) and the rejected values with reasons."""

    frame: pd.DataFrame
    rejected: list[RejectedValue] = field(default_factory=list)


def encode_labels(labels: pd.DataFrame) -> tuple[list[bytes], list[bytes]]:
    """Keys and values of a label frame (the columns of :data:`~ingest.contract.LABEL_SCHEMA`)."""
    missing = [name for name in LABEL_FIELDS if name not in labels.columns]
    if missing:
        raise EncodeError(f"the label frame lacks the columns {missing}; it has {list(labels.columns)}")
    reported = labels["reported_at"]
    if not isinstance(reported.dtype, pd.DatetimeTZDtype) or reported.isna().any():
        raise EncodeError("column 'reported_at' must hold timezone-aware (UTC) times, none missing")
    micros = reported.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]").to_numpy().view("int64")
    ids = labels["transaction_id"].astype(str).tolist()
    cards = labels["card_token"].astype(str).tolist()
    frauds = labels["is_fraud"].to_numpy(dtype=bool).tolist()
    dumps = orjson.dumps
    values = [
        dumps({"transaction_id": t, "card_token": c, "is_fraud": f, "reported_at": r})
        for t, c, f, r in zip(ids, cards, frauds, micros.tolist(), strict=True)
    ]
    return [card.encode() for card in cards], values


def decode_labels(values: Sequence[bytes | None]) -> DecodedLabels:
    """Decode label message values; rejected ones carry the reason (no value a sender chose is quoted)."""
    kept: list[Label] = []
    positions: list[int] = []
    rejected: list[RejectedValue] = []
    for index, value in enumerate(values):
        label, reason = _decode_one(value)
        if label is None:
            rejected.append(RejectedValue(index, reason))
        else:
            kept.append(label)
            positions.append(index)
    table = pa.table(
        {
            "transaction_id": pa.array([label.transaction_id for label in kept], pa.string()),
            "card_token": pa.array([label.card_token for label in kept], pa.string()),
            "is_fraud": pa.array([label.is_fraud for label in kept], pa.bool_()),
            "reported_at": pa.array([label.reported_at for label in kept], LABEL_SCHEMA.field("reported_at").type),
            "batch_index": pa.array(positions, pa.int64()),
        }
    )
    frame = table.to_pandas()
    frame["is_fraud"] = frame["is_fraud"].to_numpy(dtype=np.bool_)
    return DecodedLabels(frame=frame, rejected=rejected)


def _decode_one(value: bytes | None) -> tuple[Label | None, str]:
    if value is None:
        return None, "empty message (tombstone)"
    try:
        record: Any = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return None, f"not JSON: {exc}"
    if type(record) is not dict:
        return None, f"not a JSON object but {type(record).__name__}"
    if record.keys() != _FIELD_SET:
        return None, f"a label has exactly the fields {list(LABEL_FIELDS)}"
    stamp = record["reported_at"]
    if type(stamp) is not int or not 0 <= stamp <= _INT64_MAX:
        return None, "reported_at must be integer epoch microseconds"
    if type(record["is_fraud"]) is not bool:
        return None, "is_fraud must be true or false"
    record["reported_at"] = pd.Timestamp(stamp, unit="us", tz="UTC").to_pydatetime()
    try:
        return Label.model_validate(record), ""
    except ValidationError as exc:  # the model hides inputs in its errors: field names and rules only
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return None, f"not a valid label: {problems}"
