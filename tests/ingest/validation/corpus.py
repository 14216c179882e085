"""A corpus of good transaction rows and of bad rows of every named kind, with the expectations each kind
must fail (under the contract suite plus the expectations learned from the good rows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

GOOD_CURRENCIES = ("EUR", "USD")
GOOD_MCCS = ("5411", "5999", "5812")
GOOD_CHANNELS = ("pos", "ecom", "moto")
GOOD_ENTRY_MODES = ("chip", "contactless", "manual")
GOOD_COUNTRIES = ("BE", "NL", "FR")


def good_rows(count: int, seed: int = 7, start: str = "2018-04-01") -> list[dict[str, Any]]:
    """``count`` valid transactions over a few days, values drawn from small vocabularies."""
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp(start, tz="UTC")
    rows = []
    for i in range(count):
        rows.append(
            {
                "transaction_id": f"tx-{seed}-{i:05d}",
                "timestamp": origin + pd.Timedelta(seconds=int(rng.integers(0, 5 * 86_400))),
                "card_token": f"card-{int(rng.integers(0, 40))}",
                "customer_id": f"cust-{int(rng.integers(0, 40))}",
                "terminal_id": f"term-{int(rng.integers(0, 60))}",
                "amount": round(float(rng.gamma(2.0, 30.0)), 2),
                "currency": str(rng.choice(GOOD_CURRENCIES)),
                "mcc": str(rng.choice(GOOD_MCCS)),
                "channel": str(rng.choice(GOOD_CHANNELS)),
                "entry_mode": str(rng.choice(GOOD_ENTRY_MODES)),
                "country": str(rng.choice(GOOD_COUNTRIES)),
                "device_id": f"dev-{i}" if i % 3 else "",
            }
        )
    return rows


Mutation = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class BadKind:
    """One kind of bad row: how to spoil a good row, and the expectations the spoiled row fails."""

    name: str
    spoil: Mutation
    fails: frozenset[str]


def _set(column: str, value: Any) -> Mutation:
    def spoil(row: dict[str, Any]) -> None:
        row[column] = value

    return spoil


def _kind(name: str, column: str, value: Any, *fails: str) -> BadKind:
    return BadKind(name, _set(column, value), frozenset(fails))


LONG_ID = "x" * 65
#: Test card numbers (Luhn-valid, except the mistyped one): none of them may appear in any output in clear.
PAN = "4111111111111111"
GROUPED_PAN = "5500 0055 5555 5559"
MISTYPED_PAN = "4111-1111-1111-1112"
NOT_CARD_NUMBER = "card_token.not_card_number"

BAD_KINDS: tuple[BadKind, ...] = (
    _kind("null_transaction_id", "transaction_id", None, "transaction_id.not_null"),
    _kind("empty_transaction_id", "transaction_id", "", "transaction_id.length", "transaction_id.pattern"),
    _kind("oversized_transaction_id", "transaction_id", LONG_ID, "transaction_id.length"),
    _kind("transaction_id_with_space", "transaction_id", "tx 1", "transaction_id.pattern"),
    _kind("transaction_id_not_a_string", "transaction_id", 4242, "transaction_id.type"),
    _kind("null_card_token", "card_token", None, "card_token.not_null"),
    # A card number in clear where its token belongs, Luhn-valid, grouped, or mistyped (still mostly a card).
    _kind("card_number_in_card_token", "card_token", PAN, NOT_CARD_NUMBER),
    _kind("grouped_card_number_in_card_token", "card_token", GROUPED_PAN, "card_token.pattern", NOT_CARD_NUMBER),
    _kind("mistyped_card_number_in_card_token", "card_token", MISTYPED_PAN, NOT_CARD_NUMBER),
    _kind("oversized_customer_id", "customer_id", LONG_ID, "customer_id.length"),
    _kind("terminal_id_with_newline", "terminal_id", "term-1\n", "terminal_id.pattern"),
    _kind("negative_amount", "amount", -5.0, "amount.range"),
    _kind("nan_amount", "amount", float("nan"), "amount.not_null"),
    _kind("null_amount", "amount", None, "amount.not_null"),
    _kind("infinite_amount", "amount", float("inf"), "amount.range"),
    _kind("minus_infinite_amount", "amount", float("-inf"), "amount.range"),
    _kind("amount_above_maximum", "amount", 2.0e7, "amount.range"),
    _kind("null_timestamp", "timestamp", pd.NaT, "timestamp.not_null"),
    _kind("timestamp_before_2000", "timestamp", pd.Timestamp("1999-12-31T23:59:59Z"), "timestamp.range"),
    _kind("timestamp_at_2100", "timestamp", pd.Timestamp("2100-01-01T00:00:00Z"), "timestamp.range"),
    _kind("lowercase_currency", "currency", "eur", "currency.pattern", "currency.vocabulary"),
    _kind("four_letter_currency", "currency", "EURO", "currency.length", "currency.pattern", "currency.vocabulary"),
    _kind("currency_with_newline", "currency", "EUR\n", "currency.length", "currency.pattern", "currency.vocabulary"),
    _kind("null_currency", "currency", None, "currency.not_null"),
    _kind("mcc_with_letter", "mcc", "59a9", "mcc.pattern", "mcc.vocabulary"),
    _kind("unknown_channel", "channel", "pigeon", "channel.allowed", "channel.vocabulary"),
    _kind("unknown_entry_mode", "entry_mode", "telepathy", "entry_mode.allowed", "entry_mode.vocabulary"),
    _kind("country_name_not_code", "country", "Belgium", "country.length", "country.pattern", "country.vocabulary"),
    _kind("oversized_device_id", "device_id", LONG_ID, "device_id.length"),
    # Valid by the contract, never seen in the reference: only the learned vocabulary expectations fail.
    _kind("mcc_outside_vocabulary", "mcc", "7995", "mcc.vocabulary"),
    _kind("channel_outside_vocabulary", "channel", "atm", "channel.vocabulary"),
    _kind("entry_mode_outside_vocabulary", "entry_mode", "magstripe", "entry_mode.vocabulary"),
    _kind("country_outside_vocabulary", "country", "DE", "country.vocabulary"),
    _kind("currency_outside_vocabulary", "currency", "GBP", "currency.vocabulary"),
)

#: Duplicated ids: both rows of the pair fail uniqueness (great-expectations flags every copy).
DUPLICATE_ID = "duplicate_transaction_id"
LEARNED = "vocabulary"


@dataclass(frozen=True)
class Corpus:
    frame: pd.DataFrame
    kinds: tuple[str, ...]  # per row: "good" or the bad kind's name
    expected: tuple[frozenset[str], ...]  # per row: the expectations it must fail (learned ones included)


def build_corpus(good: int = 40, seed: int = 11) -> Corpus:
    """``good`` good rows, then one row of every bad kind, then a pair of rows sharing a transaction id."""
    rows = good_rows(good + len(BAD_KINDS) + 2, seed=seed)
    kinds: list[str] = ["good"] * good
    expected: list[frozenset[str]] = [frozenset()] * good
    for offset, kind in enumerate(BAD_KINDS):
        kind.spoil(rows[good + offset])
        kinds.append(kind.name)
        expected.append(kind.fails)
    first, second = rows[-2], rows[-1]
    second["transaction_id"] = first["transaction_id"]
    kinds += [DUPLICATE_ID, DUPLICATE_ID]
    expected += [frozenset({"transaction_id.unique"})] * 2
    frame = pd.DataFrame(rows)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return Corpus(frame, tuple(kinds), tuple(expected))


def contract_only(failures: frozenset[str]) -> frozenset[str]:
    """The expected failures without the learned (reference) expectations."""
    return frozenset(name for name in failures if not name.endswith("." + LEARNED))
