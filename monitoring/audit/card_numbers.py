"""No card number in clear in the audit trail, whatever field it hides in.

Every event is screened as the JSON it is stored as. A value shaped like a card number (12 to 19 digits,
grouped by spaces or dashes or not: :data:`ingest.contract.PAN_PATTERN`'s shape) is masked the way validation
masks them (:func:`ingest.validation.masking.mask_value`): BIN and last four when the digits pass the Luhn
check, ``<card number removed>`` otherwise. That holds in every string, dictionary key and integer of the
event, and in a float holding a whole number of that size.

Screening runs on every record, so it is written for speed (a measured need: it sits on the scoring path): a
quick test over the JSON text, made of byte translations and substring searches that run at C speed (regular
expressions are several times slower on a record), decides whether anything may need masking, and only then
is the document walked. Two kinds of digit runs are not card numbers: the digits after a decimal point that
follows a digit are a decimal's fraction (every float has them: ``0.30000000000000004``), and the digits inside
a hexadecimal word of 32 characters or more are part of a digest (a card token's ``tok_`` digest, a model's
``sha256:`` content id, a record hash: one in twenty such words holds a run of twelve decimal digits by chance,
and masking it would corrupt the identifier; a card number is at most 19 digits).
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

from ingest.contract import MAX_PAN_DIGITS, MIN_PAN_DIGITS

#: The shape of a JSON text, byte for byte: digits, and the spaces and dashes a card number may be grouped by,
#: become ``d``; decimal points ``P``; every other byte ``x``. The first twelve places of a decimal's fraction
#: (``dP`` and digits) are then blanked, and a run of twelve ``d`` left may be a card number. (Substring
#: searches whose needle repeats one letter skip ahead quickly; a needle mixing the shape's letters does not.)
_SHAPES: Final = bytes(100 if 48 <= b <= 57 or b in b" -" else 80 if b == 46 else 120 for b in range(256))
_RUN: Final = b"d" * MIN_PAN_DIGITS
_FRACTION: Final = b"dP" + _RUN
_BLANKED_FRACTION: Final = b"dP" + b"x" * MIN_PAN_DIGITS
#: How orjson writes a float of 1e16 or more (exponent form), which may hold a whole number of that size.
_LARGE_EXPONENT: Final = b"e+1"
#: Hexadecimal characters become ``h``, every other byte ``.``: the bounds of a hexadecimal word are then found
#: by substring searches (a decision id of 32 hex digits holding a long run of decimal ones is the common case).
_HEX_SHAPES: Final = bytes(104 if b in b"0123456789abcdefABCDEF" else 46 for b in range(256))
_HEX_WINDOW: Final = 80
_ALPHANUMERIC: Final = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: A hexadecimal word at least this long is a digest or a token, never a card number.
_HEX_WORD_LENGTH: Final = 32
_HEX_WORD: Final = re.compile(rf"(?<![0-9A-Za-z])[0-9a-fA-F]{{{_HEX_WORD_LENGTH},}}(?![0-9A-Za-z])")
_BIG: Final = 10 ** (MIN_PAN_DIGITS - 1)
_TOO_BIG: Final = 10**MAX_PAN_DIGITS


def screen(payload: bytes) -> tuple[bytes, int]:
    """``payload`` (an event's JSON) with every card-number-shaped value masked, and how many values were."""
    if not may_hold_card_number(payload):
        return payload, 0
    document = orjson.loads(payload)
    changed = [0]
    masked = _mask(document, changed)
    return (orjson.dumps(masked), changed[0]) if changed[0] else (payload, 0)


def may_hold_card_number(payload: bytes) -> bool:
    """Whether the JSON text may hold a card number anywhere (False is certain; True is checked by walking)."""
    if b"+1" in payload and _LARGE_EXPONENT in payload:  # "+" is rare in JSON; "e" is everywhere
        return True
    shape = payload.translate(_SHAPES).replace(_FRACTION, _BLANKED_FRACTION)
    position = shape.find(_RUN)
    while position >= 0:
        end = _run_end(shape, position)
        run = payload[position:end]
        digits = len(run) - run.count(b" ") - run.count(b"-")
        if digits >= MIN_PAN_DIGITS and not _in_hex_word(payload, position, end):
            return True
        position = shape.find(_RUN, end)
    return False


def _run_end(shape: bytes, start: int) -> int:
    ends = [found for found in (shape.find(b"x", start), shape.find(b"P", start)) if found >= 0]
    return min(ends, default=len(shape))


def _in_hex_word(text: bytes, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` lies inside a hexadecimal word of at least 32 characters (a digest)."""
    # The shape of a window around the run first (a digest is short), of the whole text if the word outgrows it.
    low, high = max(start - _HEX_WINDOW, 0), end + _HEX_WINDOW
    shape = text[low:high].translate(_HEX_SHAPES)
    first, last = shape.rfind(b".", 0, start - low), shape.find(b".", end - low)
    if (first < 0 < low) or (last < 0 and high < len(text)):
        low, shape = 0, text.translate(_HEX_SHAPES)
        first, last = shape.rfind(b".", 0, start), shape.find(b".", end)
    if shape.find(b".", start - low, end - low) >= 0:
        return False
    start = low + first + 1
    end = len(text) if last < 0 else low + last
    bounded = (start == 0 or text[start - 1] not in _ALPHANUMERIC) and (
        end == len(text) or text[end] not in _ALPHANUMERIC
    )
    return bounded and end - start >= _HEX_WORD_LENGTH


def _mask(value: Any, changed: list[int]) -> Any:
    from ingest.validation.masking import mask_value

    if isinstance(value, str):
        masked_text = mask_text(value)
        changed[0] += masked_text != value
        return masked_text
    if isinstance(value, dict):
        return {_mask(key, changed): _mask(item, changed) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, changed) for item in value]
    whole = int(value) if isinstance(value, float) and value.is_integer() and _BIG <= abs(value) < _TOO_BIG else value
    masked = mask_value(whole)
    if masked == whole:
        return value
    changed[0] += 1
    return masked


def mask_text(text: str) -> str:
    """``text`` with card numbers masked outside its hexadecimal words."""
    from ingest.validation.masking import mask_card_numbers

    pieces = _HEX_WORD.split(text)
    if len(pieces) == 1:
        return mask_card_numbers(text)
    words = _HEX_WORD.findall(text)
    out = [mask_card_numbers(pieces[0])]
    for word, piece in zip(words, pieces[1:], strict=True):
        out += [word, mask_card_numbers(piece)]
    return "".join(out)
