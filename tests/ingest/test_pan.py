"""Card numbers: validation, keyed tokens, the masked display form, and no number in clear anywhere."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from ingest.contract import Transaction
from ingest.pan import (
    CardNumberError,
    CardPresentedTransaction,
    CardTokenizer,
    TokenKeyError,
    luhn_valid,
    mask_pan,
    normalize_pan,
)
from ingest.settings import IngestSettings

KEY = b"k" * 32
PAN = "4111111111111111"
PAN_SPACED = "4111 1111 1111 1111"
TOKEN_PATTERN = re.compile(r"^tok_[0-9a-f]{32}$")


def with_check_digit(body: str) -> str:
    """``body`` followed by the digit that makes it pass the Luhn check."""
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def test_tokens_are_stable_url_safe_and_ignore_separators() -> None:
    tokenizer = CardTokenizer(KEY)
    token = tokenizer.tokenize(PAN)
    assert TOKEN_PATTERN.match(token)
    assert tokenizer.tokenize(PAN) == token
    assert CardTokenizer(KEY).tokenize("4111-1111-1111-1111") == token
    assert tokenizer.tokenize(PAN_SPACED) == token
    assert PAN not in token


def test_tokens_depend_on_the_key_and_the_number() -> None:
    one, other = CardTokenizer(KEY), CardTokenizer(b"q" * 32)
    assert one.tokenize(PAN) != other.tokenize(PAN)
    assert one.tokenize(PAN) != one.tokenize("5500005555555559")


def test_known_token_value_is_hmac_sha256_of_the_digits() -> None:
    import hashlib
    import hmac

    expected = "tok_" + hmac.new(KEY, PAN.encode(), hashlib.sha256).hexdigest()[:32]
    assert CardTokenizer(KEY).tokenize(PAN_SPACED) == expected


def test_secret_key_from_settings_gives_the_same_tokens() -> None:
    settings = IngestSettings(card_token_key=SecretStr("s" * 32))
    assert CardTokenizer.from_settings(settings).tokenize(PAN) == CardTokenizer(b"s" * 32).tokenize(PAN)
    assert "s" * 32 not in repr(CardTokenizer.from_settings(settings))


@pytest.mark.parametrize("key", [b"", b"short", SecretStr("too-short")])
def test_short_keys_are_refused(key: bytes | SecretStr) -> None:
    with pytest.raises(TokenKeyError, match="at least 16 bytes"):
        CardTokenizer(key)


def test_a_key_given_as_plain_text_is_refused_saying_so() -> None:
    # A plain str key is no secret (it shows in reprs and tracebacks); the message must not claim it is short.
    with pytest.raises(TokenKeyError, match="bytes or a SecretStr, not str") as caught:
        CardTokenizer("k" * 32)  # type: ignore[arg-type]
    assert "k" * 32 not in str(caught.value)


@pytest.mark.parametrize(
    "pan",
    ["4111111111111111", "5500005555555559", "378282246310005", with_check_digit("4" * 11), with_check_digit("6" * 18)],
)
def test_valid_numbers_of_every_length_pass(pan: str) -> None:
    assert normalize_pan(pan) == pan
    assert TOKEN_PATTERN.match(CardTokenizer(KEY).tokenize(pan))


@pytest.mark.parametrize(
    ("pan", "message"),
    [
        ("4111111111111112", "Luhn"),
        ("4111 1111 1111 1121", "Luhn"),
        (with_check_digit("4" * 10), "12 to 19 digits; this one has 11"),
        (with_check_digit("4" * 19), "12 to 19 digits; this one has 20"),
        ("", "12 to 19 digits; this one has 0"),
        ("4111x111111111111", "only digits"),
        ("4111.1111.1111.1111", "only digits"),
        ("٤١١١١١١١١١١١١١١١", "only digits"),  # Arabic-Indic digits are digits to str.isdigit
    ],
)
def test_malformed_numbers_are_refused_without_echoing_them(pan: str, message: str) -> None:
    with pytest.raises(CardNumberError, match=message) as caught:
        CardTokenizer(KEY).tokenize(pan)
    digits = re.sub(r"\D", "", pan)
    assert len(digits) < 6 or digits not in str(caught.value)
    assert pan not in str(caught.value) or pan == ""


def test_non_strings_are_refused() -> None:
    with pytest.raises(CardNumberError, match="string of digits, not int"):
        normalize_pan(4111111111111111)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pan", "masked"),
    [
        (PAN_SPACED, "411111******1111"),
        ("378282246310005", "378282*****0005"),
        (with_check_digit("41234500000"), "412345**" + with_check_digit("41234500000")[-4:]),
    ],
)
def test_mask_shows_bin_and_last_four_only(pan: str, masked: str) -> None:
    assert mask_pan(pan) == masked
    assert len(masked) == len(normalize_pan(pan))


def presented(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "transaction_id": "t-1",
        "timestamp": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        "pan": PAN_SPACED,
        "customer_id": "cust-1",
        "terminal_id": "term-1",
        "amount": 42.5,
        "channel": "ecom",
        "entry_mode": "manual",
        "device_id": "dev-1",
    }
    values.update(overrides)
    return values


def test_presented_transaction_tokenizes_into_the_contract() -> None:
    tokenizer = CardTokenizer(KEY)
    edge = CardPresentedTransaction(**presented())
    tx = edge.tokenized(tokenizer)
    assert isinstance(tx, Transaction)
    assert tx.card_token == tokenizer.tokenize(PAN)
    assert tx.model_dump(exclude={"card_token"}) == edge.model_dump(exclude={"pan"})
    assert edge.pan_masked == "411111******1111"


def test_presented_transaction_has_the_contract_fields_with_pan_for_card_token() -> None:
    expected = [("pan" if name == "card_token" else name) for name in Transaction.model_fields]
    assert list(CardPresentedTransaction.model_fields) == expected


def _leaks(text: str) -> bool:
    return PAN in text or PAN_SPACED in text or "1111 1111" in text


def test_no_clear_number_in_repr_str_or_dumps() -> None:
    edge = CardPresentedTransaction(**presented())
    for text in (
        repr(edge),
        str(edge),
        str(edge.model_dump()),
        edge.model_dump_json(),
        json.dumps(edge.model_dump(mode="json")),
    ):
        assert not _leaks(text), text


@pytest.mark.parametrize(
    "overrides",
    [
        {"pan": "4111 1111 1111 1112"},  # Luhn
        {"pan": 4111111111111111},  # wrong type
        {"amount": -1.0},  # another field fails; the number is in the input
        {"customer_id": None},  # a model-level error quotes the whole input
        {"unexpected": "field"},
    ],
)
def test_no_clear_number_in_validation_errors(overrides: dict[str, Any]) -> None:
    values = presented(**overrides)
    if values.get("customer_id") is None:
        del values["customer_id"]
    with pytest.raises(ValidationError) as caught:
        CardPresentedTransaction(**values)
    error = caught.value
    for text in (str(error), repr(error), error.json(), str(error.errors())):
        assert not _leaks(text), text
    with pytest.raises(ValidationError) as from_json:
        CardPresentedTransaction.model_validate_json(json.dumps({**values, "timestamp": "2024-05-01T12:30:00Z"}))
    assert not _leaks(from_json.value.json())


def test_invalid_number_error_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        CardPresentedTransaction(**presented(pan="4111111111111112"))
    assert caught.value.errors()[0]["loc"] == ("pan",)
    assert "Luhn" in str(caught.value)
