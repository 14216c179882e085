"""Dead letters: what a rejected message becomes on the dead-letter topic (``transactions.dlq``).

A dead letter keeps the rejected message for the people who will look at it: its original key and value, the
reason, and where it came from, in headers:

* ``reason``: why it was rejected (the failed expectations, or the decoding problem);
* ``source-topic``, ``source-partition``, ``source-offset``, and ``origin`` (``topic/partition/offset``, the
  three in one);
* ``truncated-from``: the original size in bytes, when the value was longer than the configured bound and only
  its beginning is kept (a huge payload must not make the dead-letter write fail and stop the stream).

The original bytes are kept exactly, except that card numbers never reach the topic in clear: in a message
holding a run of digits shaped like one, every such run is masked (:func:`ingest.validation.mask_card_numbers`:
BIN and last four, or removed), in the key, the value and the reason alike. A JSON object is masked value by
value and written again (its ``timestamp``, integer epoch microseconds that have the shape of a card number, is
kept); anything else is masked as text, its other bytes unchanged.

>>> letter = dead_letter(RejectedMessage("transactions", 2, 41, b"c1", b'{"card_token": "4111 1111 1111 1111"}',
...                                      "card_token.not_card_number"))
>>> letter.value
b'{"card_token":"411111******1111"}'
>>> dict(letter.headers)["origin"]
b'transactions/2/41'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import orjson

from ingest.validation.masking import mask_card_numbers, mask_value

#: Longest value kept whole on the dead-letter topic (the broker's default message limit is 1 MiB).
DEFAULT_MAX_VALUE_BYTES: Final = 256 * 1024
# Any run of 12 or more digits (spaces and dashes between them allowed): the cheap test before masking.
_DIGIT_RUN: Final = re.compile(rb"[0-9](?:[ \-]*[0-9]){11}")


@dataclass(frozen=True)
class RejectedMessage:
    """A message that did not become a processed transaction, where it came from, and why."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str


@dataclass(frozen=True)
class DeadLetter:
    """A record for the dead-letter topic: key, value and headers, card numbers masked."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def dead_letter(message: RejectedMessage, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> DeadLetter:
    """The dead letter of ``message`` (see the module docstring)."""
    value = mask_card_number_bytes(message.value or b"", json_object=True)
    headers = [
        ("reason", mask_card_numbers(message.reason).encode()),
        ("source-topic", message.topic.encode()),
        ("source-partition", str(message.partition).encode()),
        ("source-offset", str(message.offset).encode()),
        ("origin", f"{message.topic}/{message.partition}/{message.offset}".encode()),
    ]
    if len(value) > max_value_bytes:
        headers.append(("truncated-from", str(len(value)).encode()))
        value = value[:max_value_bytes]
    key = None if message.key is None else mask_card_number_bytes(message.key, json_object=False)
    return DeadLetter(key=key, value=value, headers=headers)


def mask_card_number_bytes(raw: bytes, *, json_object: bool) -> bytes:
    """``raw`` with every card number masked; unchanged (the same bytes) when it holds none."""
    if _DIGIT_RUN.search(raw) is None:
        return raw
    if json_object:
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            keep = "timestamp" if type(record.get("timestamp")) is int else None
            masked = {mask_value(k): v if k == keep else mask_value(v) for k, v in record.items()}
            rest = {k: v for k, v in masked.items() if k != keep}
            if _DIGIT_RUN.search(_dumps(rest)) is None:  # else (a float holds one, say) it is masked as text
                # Unchanged when the digits were the timestamp's: the original bytes then stay as they are.
                return raw if masked == record else _dumps(masked)
    text = raw.decode("utf-8", errors="surrogateescape")
    return mask_card_numbers(text).encode("utf-8", errors="surrogateescape")


def _dumps(record: dict[Any, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS)
