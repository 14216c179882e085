"""The label wire format: exact round trips, keyed like transactions, bad labels rejected with a reason."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest

from ingest.contract import LABEL_SCHEMA
from ingest.kafka import EncodeError, decode_labels, encode_labels


def _labels() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": ["t1", "t2", "t3"],
            "card_token": ["c1", "c2", "c1"],
            "is_fraud": [True, False, True],
            "reported_at": pd.to_datetime(
                ["2018-04-09 10:00:00.000001", "2018-05-01", "2018-04-10"], utc=True, format="ISO8601"
            ),
        }
    )


def test_labels_round_trip_exactly_and_are_keyed_by_card() -> None:
    labels = _labels()
    keys, values = encode_labels(labels)
    assert keys == [b"c1", b"c2", b"c1"]
    decoded = decode_labels(values)
    assert decoded.rejected == []
    assert list(decoded.frame.columns) == [*LABEL_SCHEMA.names, "batch_index"]
    for column in LABEL_SCHEMA.names:
        assert decoded.frame[column].tolist() == labels[column].tolist()


def _record() -> dict[str, object]:
    record: dict[str, object] = orjson.loads(encode_labels(_labels().head(1))[1][0])
    return record


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r.pop("is_fraud"), "exactly the fields"),
        (lambda r: r.update(extra=1), "exactly the fields"),
        (lambda r: r.update(is_fraud=1), "is_fraud must be true or false"),
        (lambda r: r.update(reported_at="2018-04-09T10:00:00Z"), "reported_at must be integer epoch microseconds"),
        (lambda r: r.update(reported_at=10), "reported_at"),
        (lambda r: r.update(transaction_id=""), "transaction_id"),
        (lambda r: r.update(card_token="4111111111111111"), "card_token"),
    ],
)
def test_bad_labels_are_rejected_with_a_reason_and_no_value(change: object, reason: str) -> None:
    record = _record()
    change(record)  # type: ignore[operator]
    decoded = decode_labels([orjson.dumps(_record()), orjson.dumps(record), b"{not json", None])
    assert decoded.frame["batch_index"].tolist() == [0]
    assert [r.index for r in decoded.rejected] == [1, 2, 3]
    assert reason in decoded.rejected[0].reason
    assert "4111111111111111" not in decoded.rejected[0].reason


def test_label_frames_without_aware_report_times_are_refused() -> None:
    labels = _labels()
    labels["reported_at"] = labels["reported_at"].dt.tz_localize(None)
    with pytest.raises(EncodeError, match="reported_at"):
        encode_labels(labels)
