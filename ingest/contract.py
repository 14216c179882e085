"""The transaction contract: one definition of a card transaction, used three ways.

The fields are declared once, as data (``TRANSACTION_FIELDS``). From that table come

* :class:`Transaction`, a strict pydantic model for single records (API requests, Kafka messages);
* :data:`TRANSACTION_SCHEMA`, the Arrow schema for batches (Parquet files, micro-batches), and
  :func:`pandas_dtypes` for DataFrames;
* the bounds that the data-validation suite checks (``features`` reads them from here).

A card number (PAN) never enters the contract: it is tokenised at the edge (:mod:`ingest.pan`) and only
``card_token`` travels on.

>>> from datetime import datetime, timezone
>>> tx = Transaction(transaction_id="t1", timestamp=datetime(2018, 4, 1, tzinfo=timezone.utc),
...                  card_token="c1", customer_id="u1", terminal_id="m1", amount=12.5)
>>> tx.currency, tx.channel.value
('EUR', 'pos')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

import pyarrow as pa
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


class Channel(StrEnum):
    """How the card was presented."""

    POS = "pos"  # card present at a merchant terminal
    ECOM = "ecom"  # card not present, online
    MOTO = "moto"  # card not present, mail or telephone order
    ATM = "atm"  # cash withdrawal


class EntryMode(StrEnum):
    """How the card details were captured."""

    CHIP = "chip"
    CONTACTLESS = "contactless"
    MAGSTRIPE = "magstripe"
    MANUAL = "manual"  # keyed card number, typical of card-not-present fraud
    CREDENTIAL_ON_FILE = "credential_on_file"


#: Earliest and latest accepted transaction times: anything outside is a broken clock or a unit error
#: (seconds taken for milliseconds), never a real payment.
EARLIEST_TIMESTAMP: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIMESTAMP: Final = datetime(2100, 1, 1, tzinfo=UTC)
#: Largest single amount accepted, in the transaction currency's major unit.
MAX_AMOUNT: Final = 10_000_000.0
MAX_ID_LENGTH: Final = 64
#: A card number (PAN) has 12 to 19 digits (ISO/IEC 7812), often written in groups split by spaces or dashes.
MIN_PAN_DIGITS: Final = 12
MAX_PAN_DIGITS: Final = 19
PAN_SEPARATORS: Final = re.compile(r"[ \-]")
#: A value that is a card number in clear: 12 to 19 ASCII digits, grouped by spaces or dashes or not. One
#: pattern for the pydantic contract, the Kafka codec, the great-expectations suite (a regex expectation,
#: which great-expectations can run) and the compiled checker, so that all of them refuse the same values.
#: There is deliberately no Luhn check: Luhn is no regular language, and a card number with one mistyped
#: digit still gives away all the others.
PAN_PATTERN: Final = rf"^[ \-]*(?:[0-9][ \-]*){{{MIN_PAN_DIGITS},{MAX_PAN_DIGITS}}}\Z"
_PAN_REGEX: Final = re.compile(PAN_PATTERN)
#: A card number anywhere inside a text: the shape of :data:`PAN_PATTERN`, bounded by non-digits instead of the
#: ends. Columns outside the contract (free text, numbers written as text) are searched with it, and everything
#: written out is masked with it (:mod:`ingest.validation.masking`).
CARD_NUMBER_RUN_PATTERN: Final = (
    rf"(?<![0-9])[0-9](?:[ \-]*[0-9]){{{MIN_PAN_DIGITS - 1},{MAX_PAN_DIGITS - 1}}}(?![0-9])"
)
_CARD_NUMBER_RUN: Final = re.compile(CARD_NUMBER_RUN_PATTERN)
#: A number at least this large (and below 10**19) has a card number's 12 to 19 digits in its integer part: a
#: card number typed into a numeric column. (The text of a float cannot be searched: 10.368000000000002 is no
#: card number.)
CARD_SIZED_NUMBER: Final = 10.0 ** (MIN_PAN_DIGITS - 1)


@dataclass(frozen=True)
class FieldSpec:
    """One field of the contract: its name, Arrow type, whether it is required, and its default."""

    name: str
    arrow_type: pa.DataType
    required: bool
    default: str | None = None
    description: str = ""
    allowed: tuple[str, ...] | None = None
    max_length: int | None = None


TRANSACTION_FIELDS: Final[tuple[FieldSpec, ...]] = (
    FieldSpec("transaction_id", pa.string(), True, description="unique id", max_length=MAX_ID_LENGTH),
    FieldSpec("timestamp", pa.timestamp("us", tz="UTC"), True, description="when it happened (UTC)"),
    FieldSpec("card_token", pa.string(), True, description="keyed HMAC token of the PAN", max_length=MAX_ID_LENGTH),
    FieldSpec("customer_id", pa.string(), True, description="account holder", max_length=MAX_ID_LENGTH),
    FieldSpec("terminal_id", pa.string(), True, description="terminal or merchant", max_length=MAX_ID_LENGTH),
    FieldSpec("amount", pa.float64(), True, description="amount in the currency's major unit"),
    FieldSpec("currency", pa.string(), False, "EUR", "ISO 4217 code", max_length=3),
    FieldSpec("mcc", pa.string(), False, "5999", "merchant category code (ISO 18245)", max_length=4),
    FieldSpec("channel", pa.string(), False, Channel.POS.value, "presentation", tuple(c.value for c in Channel)),
    FieldSpec("entry_mode", pa.string(), False, EntryMode.CHIP.value, "capture", tuple(e.value for e in EntryMode)),
    FieldSpec("country", pa.string(), False, "BE", "ISO 3166-1 alpha-2 of the merchant", max_length=2),
    FieldSpec("device_id", pa.string(), False, "", "device fingerprint for card-not-present", max_length=MAX_ID_LENGTH),
)

TRANSACTION_COLUMNS: Final[tuple[str, ...]] = tuple(f.name for f in TRANSACTION_FIELDS)
REQUIRED_COLUMNS: Final[tuple[str, ...]] = tuple(f.name for f in TRANSACTION_FIELDS if f.required)
OPTIONAL_DEFAULTS: Final[dict[str, str]] = {
    f.name: f.default for f in TRANSACTION_FIELDS if not f.required and f.default is not None
}
TRANSACTION_SCHEMA: Final[pa.Schema] = pa.schema(
    [pa.field(f.name, f.arrow_type, nullable=not f.required) for f in TRANSACTION_FIELDS]
)


def sane_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC, refusing naive times and times outside the accepted range."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone (UTC preferred), e.g. 2018-04-01T10:00:00Z")
    value = value.astimezone(UTC)
    if not EARLIEST_TIMESTAMP <= value < LATEST_TIMESTAMP:
        raise ValueError(
            f"timestamp {value.isoformat()} is outside {EARLIEST_TIMESTAMP.year}-{LATEST_TIMESTAMP.year}; "
            "check the clock and the unit (seconds versus milliseconds)"
        )
    return value


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn checksum (every card number does; most typos do not)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_pan(value: str) -> bool:
    """Whether ``value`` is a card number in clear (:data:`PAN_PATTERN`): 12 to 19 ASCII digits, grouped by
    spaces or dashes or not, whether or not they pass the Luhn checksum."""
    return _PAN_REGEX.search(value) is not None


def holds_card_number(text: str) -> bool:
    """Whether ``text`` holds a run of digits shaped like a card number anywhere (:data:`CARD_NUMBER_RUN_PATTERN`)."""
    return _CARD_NUMBER_RUN.search(text) is not None


def _amount_is_a_number(value: Any) -> Any:
    # Booleans are ints in Python; an amount of True is a client bug, not one unit of currency.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("amount must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("amount must be finite (no NaN or infinity)")
    return value


def _not_a_card_number(value: str) -> str:
    if looks_like_pan(value):
        raise ValueError("looks like a card number; tokenise card numbers first (ingest.pan.CardTokenizer)")
    return value


#: The rule that a field never holds a card number in clear: every identifier and the device id carry it (a
#: card number sent as a customer or terminal id leaks as surely as one sent as the card token), and the
#: data-validation suite gives each field that carries it a ``not_card_number`` expectation.
NO_CARD_NUMBER: Final = AfterValidator(_not_a_card_number)

# The contract's field types, shared by every model of a transaction (here and at the edge, in ingest.pan), so
# that a rule is written once. The data-validation suite reads its bounds and patterns from their metadata.
Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=r"^[\x21-\x7e]+$"), NO_CARD_NUMBER]
#: The card's keyed token (:mod:`ingest.pan`): an identifier like the others.
CardToken = Identifier
UtcTimestamp = Annotated[datetime, AfterValidator(sane_utc)]
Amount = Annotated[float, Field(ge=0.0, le=MAX_AMOUNT, allow_inf_nan=False), BeforeValidator(_amount_is_a_number)]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
MerchantCategoryCode = Annotated[str, Field(pattern=r"^[0-9]{4}$")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
DeviceId = Annotated[str, Field(max_length=MAX_ID_LENGTH), NO_CARD_NUMBER]


class Transaction(BaseModel):
    """One card transaction, strictly checked: a wrong type, a non-finite or negative amount, an absurd
    timestamp or an oversized string is refused with a message that names the field."""

    # Inputs stay out of error messages (which end up in logs): a card number sent by mistake must not leak.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False, hide_input_in_errors=True)

    transaction_id: Identifier
    timestamp: UtcTimestamp
    card_token: CardToken
    customer_id: Identifier
    terminal_id: Identifier
    amount: Amount
    currency: CurrencyCode = OPTIONAL_DEFAULTS["currency"]
    mcc: MerchantCategoryCode = OPTIONAL_DEFAULTS["mcc"]
    channel: Channel = Channel.POS
    entry_mode: EntryMode = EntryMode.CHIP
    country: CountryCode = OPTIONAL_DEFAULTS["country"]
    device_id: DeviceId = OPTIONAL_DEFAULTS["device_id"]


class Label(BaseModel):
    """A fraud label that arrives after the transaction (a chargeback or a confirmed fraud report)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    transaction_id: Identifier
    card_token: CardToken
    is_fraud: bool
    reported_at: UtcTimestamp


LABEL_SCHEMA: Final[pa.Schema] = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("card_token", pa.string(), nullable=False),
        pa.field("is_fraud", pa.bool_(), nullable=False),
        pa.field("reported_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def pandas_dtypes() -> dict[str, str]:
    """pandas dtypes of the contract's columns, for building or checking DataFrames.

    Text columns use ``"str"``, pandas' string dtype (the default for text from pandas 3 on), which is what
    ``astype(str)`` and Arrow conversions produce.
    """
    out: dict[str, str] = {}
    for spec in TRANSACTION_FIELDS:
        if pa.types.is_timestamp(spec.arrow_type):
            out[spec.name] = "datetime64[us, UTC]"
        elif pa.types.is_floating(spec.arrow_type):
            out[spec.name] = "float64"
        else:
            out[spec.name] = "str"
    return out
