"""The transaction contract: valid records pass, each kind of invalid record is refused with a message naming
the field, and the three forms (pydantic, Arrow, pandas) agree."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from pydantic import ValidationError
from pydantic_core import PydanticUndefined

from ingest.contract import (
    LABEL_SCHEMA,
    MAX_AMOUNT,
    MAX_ID_LENGTH,
    OPTIONAL_DEFAULTS,
    REQUIRED_COLUMNS,
    TRANSACTION_COLUMNS,
    TRANSACTION_FIELDS,
    TRANSACTION_SCHEMA,
    Channel,
    EntryMode,
    Label,
    Transaction,
    pandas_dtypes,
)

WHEN = datetime(2018, 4, 1, 10, 30, tzinfo=UTC)


def record(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "transaction_id": "tx-1",
        "timestamp": WHEN,
        "card_token": "tok_0123456789abcdef0123456789abcdef",
        "customer_id": "cust-1",
        "terminal_id": "term-1",
        "amount": 57.16,
    }
    values.update(overrides)
    return values


def test_minimal_record_takes_the_defaults() -> None:
    tx = Transaction(**record())
    assert tx.amount == 57.16
    assert tx.timestamp == WHEN
    assert (tx.currency, tx.mcc, tx.channel, tx.entry_mode, tx.country, tx.device_id) == (
        "EUR", "5999", Channel.POS, EntryMode.CHIP, "BE", ""
    )  # fmt: skip


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": 0},
        {"amount": 0.0},
        {"amount": MAX_AMOUNT},
        {"amount": 12},
        {"amount": "12.50"},  # decimal strings, as some JSON producers send amounts
        {"timestamp": "2018-04-01T10:30:00Z"},
        {"timestamp": "2018-04-01T12:30:00+02:00"},
        {"transaction_id": "x" * MAX_ID_LENGTH},
        {"currency": "USD", "mcc": "6011", "channel": "atm", "entry_mode": "chip", "country": "US"},
        {"channel": "ecom", "entry_mode": "credential_on_file", "device_id": "dev-1"},
    ],
)
def test_valid_records_are_accepted(overrides: dict[str, Any]) -> None:
    tx = Transaction(**record(**overrides))
    assert tx.timestamp.utcoffset() == timedelta(0)
    assert tx.timestamp == WHEN


def test_timestamps_are_converted_to_utc() -> None:
    local = datetime(2018, 4, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    tx = Transaction(**record(timestamp=local))
    assert tx.timestamp.tzinfo == UTC
    assert tx.timestamp == WHEN


INVALID: list[tuple[str, dict[str, Any], str]] = [
    # wrong types
    ("amount", {"amount": True}, "must be a number"),
    ("amount", {"amount": None}, "must be a number"),
    ("amount", {"amount": [1.0]}, "must be a number"),
    ("amount", {"amount": "twelve"}, "valid number"),
    ("transaction_id", {"transaction_id": 17}, "valid string"),
    ("card_token", {"card_token": None}, "valid string"),
    ("timestamp", {"timestamp": "yesterday"}, "datetime"),
    # non-finite and out-of-range amounts
    ("amount", {"amount": math.nan}, "finite"),
    ("amount", {"amount": math.inf}, "finite"),
    ("amount", {"amount": -math.inf}, "finite"),
    ("amount", {"amount": "1e999"}, "finite"),
    ("amount", {"amount": -0.01}, "greater than or equal to 0"),
    ("amount", {"amount": MAX_AMOUNT * 10}, "less than or equal to"),
    # absurd or naive timestamps
    ("timestamp", {"timestamp": datetime(2018, 4, 1, 10, 30)}, "time zone"),
    ("timestamp", {"timestamp": "2018-04-01T10:30:00"}, "time zone"),
    ("timestamp", {"timestamp": datetime(1970, 1, 1, tzinfo=UTC)}, "outside 2000-2100"),
    ("timestamp", {"timestamp": datetime(2200, 1, 1, tzinfo=UTC)}, "outside 2000-2100"),
    # oversized, empty or odd strings
    ("transaction_id", {"transaction_id": "x" * (MAX_ID_LENGTH + 1)}, "at most 64"),
    ("customer_id", {"customer_id": ""}, "at least 1"),
    ("terminal_id", {"terminal_id": "term 1"}, "pattern"),
    ("device_id", {"device_id": "d" * (MAX_ID_LENGTH + 1)}, "at most 64"),
    # enums and codes
    ("channel", {"channel": "shop"}, "'pos', 'ecom', 'moto' or 'atm'"),
    ("channel", {"channel": "POS"}, "'pos'"),
    ("entry_mode", {"entry_mode": "swipe"}, "'chip'"),
    ("currency", {"currency": "eur"}, "pattern"),
    ("currency", {"currency": "EURO"}, "pattern"),
    ("country", {"country": "BEL"}, "pattern"),
    ("mcc", {"mcc": "59"}, "pattern"),
    ("mcc", {"mcc": "ABCD"}, "pattern"),
    # a card number where the token belongs
    ("card_token", {"card_token": "4111111111111111"}, "looks like a card number"),
    ("card_token", {"card_token": "4111-1111-1111-1111"}, "looks like a card number"),
    # fields outside the contract
    ("pan", {"pan": "4111111111111111"}, "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(
    ("field", "overrides", "message"), INVALID, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(INVALID)]
)
def test_invalid_records_are_refused_naming_the_field(field: str, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Transaction(**record(**overrides))
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [(field,)], errors
    assert message in errors[0]["msg"], errors[0]["msg"]
    assert field in str(caught.value)


def test_error_messages_do_not_repeat_the_input() -> None:
    with pytest.raises(ValidationError) as caught:
        Transaction(**record(card_token="4111111111111111", pan="5500005555555559"))
    assert "4111111111111111" not in str(caught.value)
    assert "5500005555555559" not in str(caught.value)
    assert {e["loc"] for e in caught.value.errors()} == {("card_token",), ("pan",)}


def test_card_numbers_failing_luhn_are_refused_too_and_short_digit_ids_accepted() -> None:
    # One mistyped digit leaves a card number mostly in clear: the rule is the shape, as in the validation suite.
    with pytest.raises(ValidationError, match="looks like a card number"):
        Transaction(**record(card_token="4111111111111112"))
    assert Transaction(**record(card_token="41111111111")).card_token == "41111111111"  # 11 digits
    assert Transaction(**record(card_token="596")).card_token == "596"


@pytest.mark.parametrize("field", REQUIRED_COLUMNS)
def test_missing_required_fields_are_named(field: str) -> None:
    values = record()
    del values[field]
    with pytest.raises(ValidationError) as caught:
        Transaction(**values)
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_records_are_immutable() -> None:
    tx = Transaction(**record())
    with pytest.raises(ValidationError):
        tx.amount = 1.0  # type: ignore[misc]


def test_json_round_trip() -> None:
    tx = Transaction(**record(channel="ecom", device_id="dev-9"))
    assert Transaction.model_validate_json(tx.model_dump_json()) == tx


def test_labels_need_an_aware_timestamp() -> None:
    label = Label(transaction_id="tx-1", card_token="c", is_fraud=True, reported_at=WHEN)
    assert label.reported_at == WHEN
    with pytest.raises(ValidationError, match="reported_at"):
        Label(transaction_id="tx-1", card_token="c", is_fraud=True, reported_at=datetime(2018, 4, 1))


@pytest.mark.parametrize("pan", ["4111111111111111", "4111-1111-1111-1111"])
def test_labels_refuse_a_card_number_as_card_token_without_echoing_it(pan: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Label(transaction_id="tx-1", card_token=pan, is_fraud=True, reported_at=WHEN)
    assert [e["loc"] for e in caught.value.errors()] == [("card_token",)]
    assert "looks like a card number" in str(caught.value)
    assert pan not in str(caught.value)


# --- the three forms agree ---------------------------------------------------------------------------------


def test_field_table_pydantic_model_and_arrow_schema_have_the_same_columns() -> None:
    assert tuple(Transaction.model_fields) == TRANSACTION_COLUMNS
    assert tuple(TRANSACTION_SCHEMA.names) == TRANSACTION_COLUMNS
    assert tuple(pandas_dtypes()) == TRANSACTION_COLUMNS


@pytest.mark.parametrize("spec", TRANSACTION_FIELDS, ids=lambda s: s.name)
def test_each_field_agrees_across_the_forms(spec: Any) -> None:
    model_field = Transaction.model_fields[spec.name]
    arrow_field = TRANSACTION_SCHEMA.field(spec.name)
    assert model_field.is_required() == spec.required
    assert arrow_field.nullable == (not spec.required)
    if not spec.required:
        default = model_field.default
        assert default is not PydanticUndefined
        assert str(default.value if isinstance(default, Channel | EntryMode) else default) == (spec.default or "")
    if spec.allowed is not None:
        annotation = model_field.annotation
        assert isinstance(annotation, type)
        assert tuple(m.value for m in annotation) == spec.allowed
    if spec.max_length is not None:
        lengths = [getattr(m, "max_length", None) for m in model_field.metadata]
        patterns = [getattr(m, "pattern", None) for m in model_field.metadata]
        assert spec.max_length in lengths or any(p and f"{{{spec.max_length}}}" in p for p in patterns), spec.name
    expected_arrow = {"float64": pa.float64(), "datetime64[us, UTC]": pa.timestamp("us", tz="UTC"), "str": pa.string()}
    assert arrow_field.type == expected_arrow[pandas_dtypes()[spec.name]]


def test_defaults_table_matches_the_model() -> None:
    tx = Transaction(**record())
    for name, default in OPTIONAL_DEFAULTS.items():
        assert str(getattr(tx, name)) == default


def test_validated_records_make_an_arrow_batch_with_the_pandas_dtypes() -> None:
    records = [
        Transaction(**record()).model_dump(mode="python"),
        Transaction(**record(transaction_id="tx-2", amount=3, channel="ecom", device_id="d")).model_dump(),
    ]
    table = pa.Table.from_pylist(records, schema=TRANSACTION_SCHEMA)
    frame = table.to_pandas()
    assert {c: str(t) for c, t in frame.dtypes.items()} == pandas_dtypes()
    assert frame.loc[1, "channel"] == "ecom"
    back = [Transaction.model_validate(row) for row in frame.to_dict(orient="records")]
    assert [t.transaction_id for t in back] == ["tx-1", "tx-2"]
    assert back[0].timestamp == WHEN


def test_empty_frame_with_pandas_dtypes_converts_to_the_arrow_schema() -> None:
    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in pandas_dtypes().items()})
    table = pa.Table.from_pandas(frame, schema=TRANSACTION_SCHEMA, preserve_index=False)
    assert table.schema.remove_metadata().equals(TRANSACTION_SCHEMA)


def test_label_schema_matches_the_label_model() -> None:
    assert tuple(LABEL_SCHEMA.names) == tuple(Label.model_fields)
