"""Card numbers in a batch: refused in ``card_token`` and never copied in clear into anything validation
writes (rejected rows, the HTML report, the statistics, the suite) or prints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ingest.validation import (
    CARD_NUMBER_REMOVED,
    CompiledChecker,
    build_suite,
    learn_statistics,
    mask_card_numbers,
    records_to_frame,
    storable_rows,
)
from ingest.validation.masking import mask_value
from scoring_api.cli import app
from tests.ingest.validation.corpus import PAN, good_rows

AMEX = "378282246310005"
AMEX_GROUPED = "3782 822463 10005"
MASTERCARD = "5500005555555559"
MISTYPED = "4111111111111112"
#: Every card number planted below, as its bare digits: none may appear in any output.
CLEAR_DIGITS = (PAN, AMEX, MASTERCARD, MISTYPED)


def _clear_forms() -> list[bytes]:
    return [form.encode() for form in (*CLEAR_DIGITS, AMEX_GROUPED, "4111-1111-1111-1112")]


def _leaks(data: bytes) -> list[bytes]:
    return [form for form in _clear_forms() if form in data]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (PAN, "411111******1111"),
        (AMEX_GROUPED, "378282*****0005"),
        (f"card {MASTERCARD}!", "card 550000******5559!"),
        ("4111-1111-1111-1112", CARD_NUMBER_REMOVED),  # the shape without the checksum: nothing kept
        (f"a{PAN}b", "a411111******1111b"),
        ("tok_3f2a", "tok_3f2a"),
        ("41111111111", "41111111111"),  # 11 digits: no card number
        ("41111111111111111111", "41111111111111111111"),  # 20 digits: no card number either
    ],
)
def test_card_numbers_in_text_are_masked(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked


def test_values_are_masked_inside_containers_and_integers() -> None:
    value = {"partial_unexpected_list": [PAN, 3.5, None], PAN: (int(MASTERCARD), True, np.int64(42))}
    assert mask_value(value) == {
        "partial_unexpected_list": ["411111******1111", 3.5, None],
        "411111******1111": ("550000******5559", True, 42),
    }


def test_storable_rows_keep_contract_columns_and_mask_card_numbers(tmp_path: Path) -> None:
    frame = records_to_frame(good_rows(3))
    frame["card_token"] = [PAN, "card-1", AMEX_GROUPED]
    frame["pan"] = PAN  # a source column that must never be stored
    frame["reason"] = "card_token.not_card_number"
    frame["customer_id"] = pd.array([int(MASTERCARD), 1, 2], dtype="int64")  # a card number as an integer
    frame["amount"] = [12.5, float(PAN), float("nan")]  # and one typed into the amount
    stored = storable_rows(frame)
    assert "pan" not in stored.columns
    assert list(stored.columns)[-1] == "reason"
    assert stored["card_token"].tolist() == ["411111******1111", "card-1", "378282*****0005"]
    # Numeric columns holding card numbers become text, masked, so that they can still be stored (one type each).
    assert stored["customer_id"].tolist() == ["550000******5559", "1", "2"]
    assert stored["amount"].tolist()[:2] == ["12.5", "411111******1111"]
    assert pd.isna(stored["amount"].iloc[2])
    assert not any(_leaks(stored.to_csv().encode()))
    stored.to_parquet(tmp_path / "rejected.parquet")
    assert not any(_leaks((tmp_path / "rejected.parquet").read_bytes()))


def test_the_suite_refuses_card_numbers_in_card_token_by_the_contracts_rule() -> None:
    checker = CompiledChecker.from_suite(build_suite())
    for token in (PAN, AMEX_GROUPED, MISTYPED, "4111-1111-1111-1112"):
        verdict = checker.check_record({**good_rows(1)[0], "card_token": token})
        assert not verdict.ok
        assert "card_token.not_card_number" in verdict.failures


def test_statistics_never_hold_a_card_number(tmp_path: Path) -> None:
    frame = records_to_frame(good_rows(200, seed=5))
    frame.loc[:9, "card_token"] = PAN  # a frequent value: in the top values and the vocabulary
    frame.loc[10:12, "card_token"] = MISTYPED
    frame.loc[:99, "customer_id"] = AMEX_GROUPED
    frame["pan"] = [MASTERCARD if i % 2 else f"{i:016d}" for i in range(len(frame))]
    stats = learn_statistics(frame)
    path = stats.save(tmp_path / "stats.json")
    assert _leaks(path.read_bytes()) == []
    tokens = stats.strings["card_token"]
    assert tokens.vocabulary is not None
    assert {"411111******1111", CARD_NUMBER_REMOVED} <= set(tokens.vocabulary)
    assert tokens.distinct_count == frame["card_token"].nunique()  # counted before masking
    assert stats.strings["customer_id"].top[0].value == "378282*****0005"
    assert stats.strings["pan"].top[0].value == "550000******5559"
    assert json.loads(path.read_text())["strings"]["pan"]["top"][0]["count"] == 100


def test_fraud_validate_writes_no_card_number_in_clear(tmp_path: Path) -> None:
    rows = good_rows(60, seed=13)
    rows[0]["card_token"] = PAN
    rows[1]["card_token"] = AMEX_GROUPED
    rows[2]["card_token"] = MISTYPED
    rows[3]["card_token"] = "4111-1111-1111-1112"
    rows[4]["customer_id"] = MASTERCARD  # refused like the card token: no identifier may be a card number
    rows[5]["transaction_id"] = f"tx {PAN}"  # fails its pattern: sampled into the report
    frame = records_to_frame(rows)
    frame["pan"] = [PAN] * len(frame)  # an extra source column
    batch = tmp_path / "batch.parquet"
    frame.to_parquet(batch)
    assert _leaks(batch.read_bytes()), "the check below must be able to see a card number in a Parquet file"
    out = tmp_path / "out"

    result = CliRunner().invoke(app, ["validate", str(batch), "--out", str(out)])

    assert result.exit_code == 1, result.output
    assert _leaks(result.output.encode()) == []
    assert "411111******1111" in result.output  # the summary's examples are shown, masked
    written = [path for path in out.rglob("*") if path.is_file()]
    assert {"rejected.parquet", "statistics.json", "suite.json", "index.html"} <= {path.name for path in written}
    for path in written:
        assert _leaks(path.read_bytes()) == [], path
    pages = "".join(path.read_text(errors="replace") for path in written if path.suffix == ".html")
    assert "411111******1111" in pages  # the report shows the sampled unexpected values masked
    rejected = pd.read_parquet(out / "rejected.parquet")
    assert "pan" not in rejected.columns
    assert set(rejected["card_token"].iloc[:4]) == {"411111******1111", "378282*****0005", CARD_NUMBER_REMOVED}
    assert rejected.loc[5, "transaction_id"] == "tx 411111******1111"
    assert rejected.loc[4, "customer_id"] == "550000******5559"
    assert "customer_id.not_card_number" in rejected.loc[4, "reason"]
    assert all("card_token.not_card_number" in reason for reason in rejected["reason"].iloc[:4])
    assert _leaks(rejected.to_csv().encode()) == []


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("customer_id", MASTERCARD),
        ("terminal_id", PAN),
        ("device_id", AMEX_GROUPED),
        ("transaction_id", MISTYPED),
        ("note", f"call back about card {PAN} tomorrow"),  # a column outside the contract, free text
        ("card_number", int(MASTERCARD)),  # outside the contract, as an integer
        ("card_float", float(PAN)),  # outside the contract, as a float
    ],
)
def test_a_card_number_in_any_column_fails_validation(tmp_path: Path, column: str, value: object) -> None:
    # Issue 12, point 5: only card_token was searched, so a card number in another identifier or in a
    # column outside the contract passed validation.
    frame = records_to_frame(good_rows(40, seed=21))
    if column not in frame.columns:
        frame[column] = pd.Series([value if i == 3 else type(value)(i) for i in range(len(frame))])
    else:
        frame[column] = frame[column].astype(object)
        frame.loc[3, column] = value
    batch = tmp_path / "batch.parquet"
    frame.to_parquet(batch)
    out = tmp_path / "out"

    result = CliRunner().invoke(app, ["validate", str(batch), "--out", str(out)])

    assert result.exit_code == 1, result.output
    rejected = pd.read_parquet(out / "rejected.parquet")
    assert list(rejected.index) == [3]
    assert f"{column}.not_card_number" in rejected.loc[3, "reason"]
    assert _leaks(result.output.encode()) == []
    for path in (p for p in out.rglob("*") if p.is_file()):
        assert _leaks(path.read_bytes()) == [], path


def test_a_card_number_typed_into_the_amount_is_written_nowhere(tmp_path: Path) -> None:
    # Issue 12, point 5: masking handled integers, not floats, so an amount of 4111111111111111.0 reached the
    # statistics, the learned reference and the data docs in clear.
    frame = records_to_frame(good_rows(80, seed=22))
    frame.loc[7, "amount"] = float(PAN)
    frame.loc[9, "amount"] = float(MASTERCARD)
    batch = tmp_path / "batch.parquet"
    frame.to_parquet(batch)
    reference = tmp_path / "reference.json"
    learned = CliRunner().invoke(app, ["validate", "--learn", str(batch), "--out", str(reference)])
    assert learned.exit_code == 0, learned.output
    assert _leaks(reference.read_bytes()) == []
    out = tmp_path / "out"

    result = CliRunner().invoke(app, ["validate", str(batch), "--reference", str(reference), "--out", str(out)])

    assert result.exit_code == 1, result.output
    assert _leaks(result.output.encode()) == []
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {"statistics.json", "rejected.parquet", "index.html"} <= {p.name for p in written}
    for path in written:
        assert _leaks(path.read_bytes()) == [], path
    statistics = json.loads((out / "statistics.json").read_text())["numeric"]["amount"]
    assert statistics["card_number_count"] == 2
    assert statistics["max"] < 1e7  # the summary is of the real amounts
    rejected = pd.read_parquet(out / "rejected.parquet")
    assert rejected.loc[7, "amount"] == "411111******1111"


def test_a_column_named_by_a_card_number_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    frame = records_to_frame(good_rows(10, seed=23)).assign(is_fraud=False)
    frame[PAN] = 1.0  # the name is copied into every report, suite and output
    batch = tmp_path / "batch.parquet"
    frame.to_parquet(batch)
    for command in (["validate", str(batch), "--out", str(tmp_path / "out")],
                    ["features", "build", str(batch), "--out", str(tmp_path / "f.parquet")]):  # fmt: skip
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "column name(s)" in result.output
        assert _leaks(result.output.encode()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.parquet"]
