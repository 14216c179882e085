"""Poison messages (invalid JSON, wrong types, a huge payload, NaN amounts, card numbers in clear, tombstones, a
bad label) all land on the dead-letter topic with their reason and origin, never a card number in clear, and
stop nothing: every valid transaction around them gets exactly one decision."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from ingest.kafka import encode_frame
from ingest.kafka.dead_letters import mask_card_number_bytes
from tests.scoring_api.worker import support
from tests.scoring_api.worker.conftest import Setup, in_process_worker, run_through

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]

PAN = "4111111111111111"


def _poison(template: bytes) -> list[tuple[str, bytes | None]]:
    record = orjson.loads(template)

    def variant(**changes: object) -> bytes:
        return orjson.dumps({**record, **changes})

    return [
        ("not JSON", b'{"transaction_id": "p1", "amount": '),
        ("not JSON", template.replace(b'"amount":', b'"amount":NaN,"x":', 1)),
        ("not JSON", template.replace(b'"amount":', b'"amount":1e999,"x":', 1)),
        ("amount must be a number", variant(transaction_id="p4", amount="12.50")),
        ("timestamp must be integer epoch microseconds", variant(transaction_id="p5", timestamp="2018-04-01")),
        ("terminal_id must be a string", variant(transaction_id="p6", terminal_id=42)),
        ("device_id.length", variant(transaction_id="p7", device_id="x" * 400_000)),
        ("card_token.not_card_number", variant(transaction_id="p8", card_token=PAN)),
        ("card_token.not_card_number", variant(transaction_id="p9", card_token="4111 1111 1111 1111")),
        ("unknown field", variant(transaction_id="p10", **{PAN: "hidden in a field name"})),
        ("amount.range", variant(transaction_id="p11", amount=-10.0)),
        ("tombstone", None),
    ]


def test_poison_messages_go_to_the_dead_letter_topic_with_reasons_and_stop_nothing(setup: Setup) -> None:
    stream = support.simulated_stream(days=1, seed=11)
    valid = stream.transactions.head(2_000)
    keys, values = encode_frame(valid)
    poison = _poison(values[0])
    messages: list[tuple[bytes | None, bytes | None]] = []
    step = len(values) // (len(poison) + 1)
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        messages.append((key, value))
        if i % step == step - 1 and i // step < len(poison):
            messages.append((PAN.encode() if i // step == 0 else key, poison[i // step][1]))
    support.produce_raw(setup.bootstrap, setup.topics.transactions, messages)  # type: ignore[arg-type]
    support.produce_raw(setup.bootstrap, setup.topics.labels, [(b"c1", b"{a label, surely"), (b"c2", orjson.dumps(
        {"transaction_id": "t", "card_token": PAN, "is_fraud": True, "reported_at": 1}))])  # fmt: skip
    support.produce_labels(setup.bootstrap, setup.topics.labels, stream.labels.head(50))

    run_through(in_process_worker(setup), len(messages))  # the poison stops nothing

    decisions = support.decisions_of(support.read_committed(setup.bootstrap, setup.topics.scores, len(valid)))
    counts = Counter(d.transaction_id for d in decisions)
    assert set(counts) == set(valid["transaction_id"])
    assert max(counts.values()) == 1

    letters = support.read_committed(setup.bootstrap, setup.topics.dead_letters, len(poison) + 2)
    reasons = [dict(m.headers)["reason"].decode() for m in letters]
    origins = {dict(m.headers)["source-topic"].decode() for m in letters}
    assert len(letters) == len(poison) + 2, reasons
    assert origins == {setup.topics.transactions, setup.topics.labels}
    for expected, _ in poison:
        assert any(expected in reason for reason in reasons), f"no dead letter says {expected!r}: {reasons}"
    for message in letters:
        headers = dict(message.headers)
        assert {"reason", "source-topic", "source-partition", "source-offset", "origin"} <= headers.keys()
        for part in (message.key or b"", message.value or b"", *headers.values()):
            assert PAN.encode() not in part.replace(b" ", b"").replace(b"-", b""), "a card number in clear"
    # Each letter is its original message at the offset its origin names: the same bytes, but for card numbers
    # masked (in text that is not JSON any 13-19 digit run passing Luhn counts as one) and huge values cut.
    originals = {
        (m.topic, m.partition, m.offset): (m.key, m.value)
        for topic in (setup.topics.transactions, setup.topics.labels)
        for m in support.read_committed(setup.bootstrap, topic, settle_s=0.5)
    }
    whole = 0
    for message in letters:
        headers = dict(message.headers)
        origin = (headers["source-topic"].decode(), int(headers["source-partition"]), int(headers["source-offset"]))
        assert headers["origin"].decode() == "/".join(map(str, origin))
        key, value = originals[origin]
        if value is None:
            assert not message.value, "a tombstone stays empty"
            continue
        if "truncated-from" not in headers:
            assert message.value == mask_card_number_bytes(value, json_object=True), headers["reason"]
            whole += message.value == value
        assert message.key == (None if key is None else mask_card_number_bytes(key, json_object=False))
    assert whole >= 4, "letters without a card number keep their bytes whole"
    huge = next(m for m in letters if "device_id.length" in dict(m.headers)["reason"].decode())
    assert len(huge.value) == 256 * 1024
    assert int(dict(huge.headers)["truncated-from"]) > 400_000
    for decision in support.read_committed(setup.bootstrap, setup.topics.scores, len(valid)):
        assert PAN.encode() not in decision.value
