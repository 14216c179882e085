"""Dead letters keep the rejected message, its reason and its origin, and never a card number in clear."""

from __future__ import annotations

import orjson
import pytest

from ingest.kafka import RejectedMessage, dead_letter
from ingest.kafka.dead_letters import mask_card_number_bytes

PAN = "4111111111111111"


def _message(value: bytes | None, reason: str = "amount.range", key: bytes | None = b"card-1") -> RejectedMessage:
    return RejectedMessage("transactions", 3, 1234, key, value, reason)


def test_a_dead_letter_keeps_the_original_bytes_and_says_where_they_came_from() -> None:
    value = b'{"transaction_id": "t1", "timestamp": 1522576800000000, "amount": -5}'
    letter = dead_letter(_message(value))
    assert letter.value == value, "without a card number the bytes are untouched (the timestamp included)"
    assert letter.key == b"card-1"
    assert dict(letter.headers) == {
        "reason": b"amount.range",
        "source-topic": b"transactions",
        "source-partition": b"3",
        "source-offset": b"1234",
        "origin": b"transactions/3/1234",
    }


@pytest.mark.parametrize(
    "value",
    [
        orjson.dumps({"card_token": PAN, "timestamp": 1522576800000000}),
        orjson.dumps({"card_token": "4111 1111 1111 1111"}),
        orjson.dumps({"customer_id": "4111-1111-1111-1111", "amount": 3.0}),
        orjson.dumps({"amount": 4111111111111111}),
        orjson.dumps({"amount": 4111111111111111.0}),
        orjson.dumps({PAN: "a key"}),
        orjson.dumps([PAN, 1]),
        b'{"card_token": "4111111111111111", "amount": ',  # not JSON
        b"\xff\xfe 4111111111111111 \x00",  # not text
    ],
)
def test_card_numbers_never_reach_the_dead_letter_topic_in_clear(value: bytes) -> None:
    letter = dead_letter(_message(value, reason=f"unknown field {PAN}", key=PAN.encode()))
    for part in (letter.value, letter.key or b"", *(v for _, v in letter.headers)):
        assert b"4111111111111111" not in part.replace(b" ", b"").replace(b"-", b"")


def test_a_masked_object_keeps_its_timestamp_and_its_other_fields() -> None:
    value = orjson.dumps({"transaction_id": "t1", "timestamp": 1522576800000000, "card_token": PAN})
    masked = orjson.loads(mask_card_number_bytes(value, json_object=True))
    assert masked == {"transaction_id": "t1", "timestamp": 1522576800000000, "card_token": "411111******1111"}


def test_a_huge_value_is_cut_to_the_bound_and_says_how_long_it_was() -> None:
    value = b'{"blob": "' + b"x" * 600_000 + b'"}'
    letter = dead_letter(_message(value), max_value_bytes=65_536)
    assert letter.value == value[:65_536]
    assert dict(letter.headers)["truncated-from"] == str(len(value)).encode()


def test_an_empty_message_becomes_an_empty_value() -> None:
    letter = dead_letter(_message(None, key=None))
    assert (letter.key, letter.value) == (None, b"")
