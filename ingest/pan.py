"""Card numbers (PANs) at the edge: checked, turned into keyed tokens, and shown at most as BIN + last four.

A PAN is never stored, logged or exported in clear. :class:`CardTokenizer` maps it to a stable token with a
keyed HMAC-SHA256 (without the key, a token cannot be linked back to its card even by trying every possible
number, which an unkeyed hash would allow); :func:`mask_pan` gives the display form; errors name what is wrong
with a card number without repeating it.

>>> tokenizer = CardTokenizer(b"0123456789abcdef0123456789abcdef")
>>> tokenizer.tokenize("4111 1111 1111 1111") == tokenizer.tokenize("4111-1111-1111-1111")
True
>>> mask_pan("4111 1111 1111 1111")
'411111******1111'
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Final

from pydantic import ConfigDict, SecretStr, create_model, field_validator, model_validator

from ingest.contract import MAX_PAN_DIGITS, MIN_PAN_DIGITS, PAN_SEPARATORS, Transaction, luhn_valid
from ingest.errors import IngestError
from ingest.settings import IngestSettings

__all__ = [
    "CardNumberError",
    "CardPresentedTransaction",
    "CardTokenizer",
    "TokenKeyError",
    "luhn_valid",
    "mask_pan",
    "normalize_pan",
]

BIN_DIGITS: Final = 6
LAST_DIGITS: Final = 4
MIN_KEY_BYTES: Final = 16
TOKEN_PREFIX: Final = "tok_"
TOKEN_HEX_DIGITS: Final = 32


class CardNumberError(IngestError, ValueError):
    """A card number is malformed. The message says what is wrong and never contains the number."""


class TokenKeyError(IngestError, ValueError):
    """The tokenisation key is missing or too short."""


def normalize_pan(pan: str) -> str:
    """The card number's digits, with spaces and dashes removed, after checking length and Luhn checksum."""
    if not isinstance(pan, str):
        raise CardNumberError(f"a card number must be given as a string of digits, not {type(pan).__name__}")
    digits = PAN_SEPARATORS.sub("", pan)
    if digits and not (digits.isascii() and digits.isdigit()):
        raise CardNumberError("a card number may contain only digits, spaces and dashes")
    if not MIN_PAN_DIGITS <= len(digits) <= MAX_PAN_DIGITS:
        raise CardNumberError(
            f"a card number has {MIN_PAN_DIGITS} to {MAX_PAN_DIGITS} digits; this one has {len(digits)}"
        )
    if not luhn_valid(digits):
        raise CardNumberError("the card number fails its Luhn checksum: check it for a mistyped digit")
    return digits


def mask_pan(pan: str) -> str:
    """The display form of a card number: the BIN (first 6 digits) and the last 4, the rest as ``*``."""
    digits = normalize_pan(pan)
    hidden = len(digits) - BIN_DIGITS - LAST_DIGITS
    return digits[:BIN_DIGITS] + "*" * hidden + digits[-LAST_DIGITS:]


class CardTokenizer:
    """Turns card numbers into stable tokens: ``"tok_"`` and 32 hex digits of HMAC-SHA256(key, digits).

    The same number and key always give the same token; another key gives unrelated tokens. The key comes
    from :class:`ingest.settings.IngestSettings` (``FRAUD_CARD_TOKEN_KEY``); see :meth:`from_settings`.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes | SecretStr) -> None:
        raw = key.get_secret_value().encode() if isinstance(key, SecretStr) else key
        if not isinstance(raw, bytes):
            raise TokenKeyError(
                f"the card token key must be bytes or a SecretStr, not {type(raw).__name__}; "
                "build the tokenizer with CardTokenizer.from_settings(settings)"
            )
        if len(raw) < MIN_KEY_BYTES:
            raise TokenKeyError(
                f"the card token key must be at least {MIN_KEY_BYTES} bytes (32 random bytes recommended); "
                "set FRAUD_CARD_TOKEN_KEY"
            )
        self._key = raw

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> CardTokenizer:
        """The tokenizer keyed by ``settings.card_token_key``."""
        return cls(settings.card_token_key)

    def tokenize(self, pan: str) -> str:
        """The token of ``pan`` (spaces and dashes ignored); :class:`CardNumberError` if it is malformed."""
        digest = hmac.new(self._key, normalize_pan(pan).encode("ascii"), hashlib.sha256).hexdigest()
        return TOKEN_PREFIX + digest[:TOKEN_HEX_DIGITS]

    def __repr__(self) -> str:
        return "CardTokenizer(key=SecretStr('**********'))"


class _HiddenInput:
    """A card number given as something other than a string, kept only by its type name."""

    __slots__ = ("type_name",)

    def __init__(self, value: object) -> None:
        self.type_name = type(value).__name__

    def __repr__(self) -> str:
        return f"<hidden {self.type_name}>"


def _fields_with_the_card_number() -> dict[str, Any]:
    """:class:`~ingest.contract.Transaction`'s fields, in order, with the card number where its token stands."""
    fields: dict[str, Any] = {}
    for name, info in Transaction.model_fields.items():
        if name == "card_token":
            fields["pan"] = (SecretStr, ...)
        else:
            fields[name] = (info.annotation, info)
    return fields


# The contract's fields are taken from Transaction, not declared again: a rule added to the contract (a bound, a
# pattern, a new optional field) holds at the edge the moment it holds inside.
_CardPresentedFields = create_model(
    "_CardPresentedFields",
    __config__=ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True),
    **_fields_with_the_card_number(),
)


class CardPresentedTransaction(_CardPresentedFields):
    """A transaction as it arrives at the edge, with the card number; :meth:`tokenized` gives the contract's
    :class:`~ingest.contract.Transaction`. Its fields are the contract's, ``pan`` in the place of
    ``card_token``. The number is a secret: repr, str, dumps and validation errors never show it
    (``pan_masked`` gives the display form)."""

    pan: SecretStr

    @model_validator(mode="before")
    @classmethod
    def _hide_pan(cls, data: Any) -> Any:
        # Validation errors carry their input (FastAPI returns it to the client): wrap the number as a secret
        # before any field is validated, so that no error, at field or model level, can hold it in clear.
        if isinstance(data, dict) and "pan" in data and not isinstance(data["pan"], SecretStr):
            value = data["pan"]
            data = {**data, "pan": SecretStr(value) if isinstance(value, str) else _HiddenInput(value)}
        return data

    @field_validator("pan", mode="before")
    @classmethod
    def _pan_is_a_card_number(cls, value: Any) -> Any:
        if isinstance(value, _HiddenInput):
            raise CardNumberError(f"a card number must be given as a string of digits, not {value.type_name}")
        if isinstance(value, SecretStr):
            normalize_pan(value.get_secret_value())  # raises CardNumberError (a ValueError) without the number
        return value

    @property
    def pan_masked(self) -> str:
        """BIN and last four digits, e.g. ``411111******1111``."""
        return mask_pan(self.pan.get_secret_value())

    def tokenized(self, tokenizer: CardTokenizer) -> Transaction:
        """The contract transaction: the card number replaced by its token."""
        fields = self.model_dump(exclude={"pan"})
        return Transaction(card_token=tokenizer.tokenize(self.pan.get_secret_value()), **fields)
