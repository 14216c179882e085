"""The wire format: round trips are exact, bad messages are rejected with a reason, bad frames are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pandas as pd
import pytest

from ingest.contract import TRANSACTION_COLUMNS, Transaction
from ingest.kafka.codec import decode_transaction, decode_values, encode_frame, encode_transaction
from ingest.kafka.errors import EncodeError


def _frame(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "timestamp": pd.date_range("2018-04-01 00:00:00.000001", periods=n, freq="37s", tz="UTC"),
            "card_token": [f"c{i % 3}" for i in range(n)],
            "customer_id": [f"u{i % 3}" for i in range(n)],
            "terminal_id": [f"m{i}" for i in range(n)],
            "amount": [0.0, 12.5, 99.99, 1234.56, 7.0][:n],
            "channel": ["pos", "ecom", "moto", "atm", "pos"][:n],
            "is_fraud": [False, True, False, False, True][:n],
        }
    )


def test_frame_round_trip_is_exact_and_drops_labels() -> None:
    frame = _frame()
    keys, values = encode_frame(frame)
    assert keys == [c.encode() for c in frame["card_token"]]
    decoded = decode_values(values)
    assert decoded.rejected == []
    out = decoded.frame
    assert list(out.columns) == [*TRANSACTION_COLUMNS, "batch_index"]
    assert "is_fraud" not in orjson.loads(values[1])
    assert out["timestamp"].tolist() == frame["timestamp"].tolist()  # microseconds survive
    assert out["amount"].tolist() == frame["amount"].tolist()
    assert out["channel"].tolist() == frame["channel"].tolist()
    assert (out["currency"] == "EUR").all()
    assert (out["device_id"] == "").all()


def test_single_transaction_round_trip() -> None:
    tx = Transaction(
        transaction_id="t1",
        timestamp=datetime(2018, 4, 1, 10, 0, 0, 123456, tzinfo=UTC),
        card_token="c1",
        customer_id="u1",
        terminal_id="m1",
        amount=42.0,
        channel="ecom",
        device_id="d-9",
    )
    key, value = encode_transaction(tx)
    assert key == b"c1"
    assert decode_transaction(value) == tx
    assert decode_values([value]).frame.loc[0, "device_id"] == "d-9"


def _valid_record() -> dict[str, object]:
    _, values = encode_frame(_frame(1))
    record: dict[str, object] = orjson.loads(values[0])
    return record


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r.pop("card_token"), "missing required fields ['card_token']"),
        (lambda r: r.update(surprise=1), "1 unknown field(s)"),
        (lambda r: r.update({"4111111111111111": 1}), "1 unknown field(s)"),
        (lambda r: r.update(timestamp="2018-04-01T00:00:00Z"), "timestamp must be integer epoch microseconds"),
        (lambda r: r.update(timestamp=1.5e15), "timestamp must be integer epoch microseconds"),
        (lambda r: r.update(amount="12"), "amount must be a number"),
        (lambda r: r.update(amount=True), "amount must be a number"),
        (lambda r: r.update(terminal_id=7), "terminal_id must be a string"),
        (lambda r: r.update(channel=None), "channel must be a string"),
    ],
)
def test_messages_without_the_wire_shape_are_rejected_with_a_reason(change: object, reason: str) -> None:
    record = _valid_record()
    change(record)  # type: ignore[operator]
    good = orjson.dumps(_valid_record())
    decoded = decode_values([good, orjson.dumps(record), good])
    assert len(decoded.frame) == 2
    assert decoded.frame["batch_index"].tolist() == [0, 2]
    assert [r.index for r in decoded.rejected] == [1]
    assert reason in decoded.rejected[0].reason
    assert "4111" not in decoded.rejected[0].reason, "a reason never quotes what the sender chose"


def test_integers_the_wire_types_cannot_hold_are_rejected_not_raised() -> None:
    good = _valid_record()
    stamp = str(good["timestamp"]).encode()
    value = orjson.dumps(good)
    beyond_int64 = value.replace(stamp, b"9223372036854775808")
    beyond_float = value.replace(b'"amount":0.0', b'"amount":' + b"9" * 400)
    decoded = decode_values([value, beyond_int64, beyond_float])
    assert len(decoded.frame) == 1
    assert "64 bits" in decoded.rejected[0].reason
    assert "not JSON" in decoded.rejected[1].reason or "too large" in decoded.rejected[1].reason


@pytest.mark.parametrize(
    ("change", "expectation"),
    [
        (lambda r: r.update(amount=-1.0), "amount.range"),
        (lambda r: r.update(timestamp=1_522_540_800), "timestamp.range"),
        (lambda r: r.update(transaction_id=""), "transaction_id.length"),
        (lambda r: r.update(customer_id="x" * 65), "customer_id.length"),
        (lambda r: r.update(channel="carrier-pigeon"), "channel.allowed"),
        (lambda r: r.update(currency="eur"), "currency.pattern"),
        (lambda r: r.update(card_token="has space"), "card_token.pattern"),
        (lambda r: r.update(card_token="4111111111111111"), "card_token.not_card_number"),
        (lambda r: r.update(card_token="4111-1111-1111-1111"), "card_token.not_card_number"),
    ],
)
def test_the_contracts_bounds_are_the_checkers_call_not_the_codecs(change: object, expectation: str) -> None:
    from ingest.validation import CompiledChecker, build_suite

    record, other = _valid_record(), _valid_record()
    change(record)  # type: ignore[operator]
    other["transaction_id"] = "another"
    decoded = decode_values([orjson.dumps(other), orjson.dumps(record)])
    assert decoded.rejected == [], "the message has the wire's shape"
    verdict = CompiledChecker.from_suite(build_suite()).check(decoded.frame[list(TRANSACTION_COLUMNS)])
    assert verdict.ok_mask.tolist() == [True, False]
    assert expectation in verdict.reasons()[0]


@pytest.mark.parametrize(
    ("value", "reason"),
    [(b"not json", "not JSON"), (b"[1, 2]", "not a JSON object"), (None, "tombstone")],
)
def test_undecodable_messages_are_rejected(value: bytes | None, reason: str) -> None:
    decoded = decode_values([value])
    assert decoded.frame.empty
    assert reason in decoded.rejected[0].reason


def test_frames_the_wire_cannot_carry_are_refused_whole() -> None:
    frame = _frame()
    frame.loc[2, "amount"] = float("nan")
    with pytest.raises(EncodeError, match=r"invalid .amount.*first at row 2"):
        encode_frame(frame)
    with pytest.raises(EncodeError, match="required contract columns"):
        encode_frame(_frame().drop(columns="card_token"))
    with_pan = _frame()
    with_pan.loc[1, "card_token"] = "4111 1111 1111 1111"
    with pytest.raises(EncodeError, match="not a card number in clear") as refused:
        encode_frame(with_pan)
    assert "4111 1111 1111 1111" not in str(refused.value), "the refusal masks the number it refuses"
    negative = _frame()
    negative.loc[0, "amount"] = -3.0
    assert len(encode_frame(negative)[1]) == 5, "a negative amount travels; the consumer's checker refuses it"
    mistyped = _frame()
    mistyped.loc[1, "card_token"] = "4111111111111112"  # one digit off: still a card number, Luhn or not
    with pytest.raises(EncodeError, match="not a card number in clear"):
        encode_frame(mistyped)
    digits = _frame()
    digits.loc[1, "card_token"] = "41111111111"  # 11 digits: too short for a card number, an ordinary id
    assert len(encode_frame(digits)[1]) == len(digits)
    naive = _frame()
    naive["timestamp"] = naive["timestamp"].dt.tz_localize(None)
    with pytest.raises(EncodeError, match="timezone-aware"):
        encode_frame(naive)
