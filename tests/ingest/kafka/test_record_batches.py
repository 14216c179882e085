"""Record batches built a block at a time: the bytes kafka-python's builder writes, and, through the transactional
producer against the real broker, exactly the records of committed transactions, each once, in its key's
partition, in order, with none of an aborted one."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import pytest
from kafka.partitioner.default import murmur2
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

from ingest.kafka import BrokerState, TopicSpec, TransactionAbortedError, TransactionalProducer, ensure_topics
from ingest.kafka.record_batches import RecordBatchBuilder, varint

TIME = 1_700_000_000_000


def _records(seed: int, count: int, longest: int) -> tuple[list[bytes], list[bytes]]:
    rng = random.Random(seed)
    keys = [str(uuid.UUID(int=rng.getrandbits(128))).encode() for _ in range(count)]
    return keys, [rng.randbytes(rng.randint(0, longest)) for _ in range(count)]


def _kafka_pythons(keys: list[bytes], values: list[bytes], batch_size: int) -> list[bytes]:
    """kafka-python's own builder, record by record, a new batch whenever a record does not fit."""
    out: list[bytes] = []
    builder, offset = None, 0
    for key, value in zip(keys, values, strict=True):
        if builder is None or builder.append(offset, TIME, key, value, []) is None:
            if builder is not None:
                out.append(bytes(builder.build()))
            builder, offset = DefaultRecordBatchBuilder(2, 0, True, 41, 3, 17, batch_size), 0
            builder.append(offset, TIME, key, value, [])
        offset += 1
    assert builder is not None
    out.append(bytes(builder.build()))
    return out


def _blocks(keys: list[bytes], values: list[bytes], batch_size: int) -> list[bytes]:
    out: list[bytes] = []
    rows = list(range(len(keys)))
    while rows:
        builder = RecordBatchBuilder(batch_size, TIME, transactional=True)
        taken = builder.extend(keys, values, rows)
        assert taken >= 1
        rows = rows[taken:]
        builder.set_producer_state(41, 3, 17, True)
        builder.close()
        out.append(bytes(builder.buffer()))
    return out


@pytest.mark.parametrize(
    ("batch_size", "longest"),
    [
        pytest.param(256 * 1024, 600, id="the worker's batches"),
        pytest.param(16_384, 20_000, id="records of every size, some over the batch size"),
        pytest.param(50, 100, id="one record a batch"),
    ],
)
def test_blocks_write_the_bytes_of_kafka_pythons_builder(batch_size: int, longest: int) -> None:
    keys, values = _records(1, 1500, longest)
    assert _blocks(keys, values, batch_size) == _kafka_pythons(keys, values, batch_size)


def test_single_appends_write_the_bytes_of_kafka_pythons_builder() -> None:
    theirs = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, 1 << 20)
    ours = RecordBatchBuilder(1 << 20, TIME)
    keys, values = _records(2, 60, 300)
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        headers = [("trace", b"x" * i), ("ré", None)] if i % 2 else []
        k, v = (None if i % 5 == 0 else key), (None if i % 7 == 3 else value)
        assert theirs.append(i, TIME + 3 * i, k, v, headers) is not None
        assert ours.append(TIME + 3 * i, k, v, headers).offset == i
    ours.close()
    assert bytes(ours.buffer()) == bytes(theirs.build())


def test_a_batch_decodes_with_its_records_and_producer_state() -> None:
    keys, values = _records(3, 40, 80)
    builder = RecordBatchBuilder(1 << 20, TIME, transactional=True)
    assert builder.extend(keys, values, range(40)) == 40
    assert builder.extend(keys, values, [5]) == 1  # the same record again, at offset 40
    assert (builder.next_offset(), builder.is_full()) == (41, False)
    builder.seal()  # a whole block: full for the sender, closed to more records
    assert builder.is_full()
    assert builder.extend(keys, values, [0]) == 0
    builder.set_producer_state(7, 2, 1000, True)
    builder.close()
    assert builder.is_full()
    assert builder.extend(keys, values, [0]) == 0
    assert builder.append(None, b"k", b"v", []) is None
    batch = DefaultRecordBatch(bytes(builder.buffer()))
    assert batch.validate_crc()
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence, batch.is_transactional) == (7, 2, 1000, True)
    records = list(batch)
    assert [(r.offset, r.key, r.value, r.timestamp) for r in records] == [
        (i, key, value, TIME) for i, (key, value) in enumerate([*zip(keys, values, strict=True), (keys[5], values[5])])
    ]
    assert builder.size_in_bytes() == len(builder.buffer())


@pytest.mark.parametrize("value", [0, 1, -1, 63, 64, 127, 8191, 8192, 2**31 - 1, -(2**31), 2**62])
def test_varints_are_kafkas(value: int) -> None:
    from kafka.record.util import decode_varint, encode_varint

    written = bytearray()
    encode_varint(value, written.append)
    assert varint(value) == bytes(written)
    assert decode_varint(varint(value), 0) == (value, len(written))


# -- through the producer, against the real broker ---------------------------------------------------------------


@pytest.fixture
def topic(kafka_broker: BrokerState) -> str:
    name = f"blocks-{uuid.uuid4().hex[:10]}"
    ensure_topics(kafka_broker.bootstrap_servers, [TopicSpec(name, 6)])
    return name


@pytest.fixture
def producer(kafka_broker: BrokerState) -> Iterator[TransactionalProducer]:
    # Small record batches: a transaction's records of one partition span several of them.
    producer = TransactionalProducer(kafka_broker.bootstrap_servers, f"blocks-{uuid.uuid4().hex[:8]}", batch_size=4096)
    producer.init()
    yield producer
    producer.close()


def _committed(bootstrap: str, topic: str, expected: int) -> list[tuple[int, int, bytes, bytes]]:
    from ingest.kafka import read_topic

    return [(m.partition, m.offset, m.key, m.value) for m in read_topic(bootstrap, topic, expected=expected)]


@pytest.mark.kafka
def test_committed_records_arrive_once_in_their_partitions_and_aborted_ones_never(
    kafka_broker: BrokerState, topic: str, producer: TransactionalProducer
) -> None:
    transactions = [_records(seed, 700, 400) for seed in (10, 11, 12)]
    for k, (keys, values) in enumerate(transactions):
        producer.begin()
        assert producer.send_keyed(topic, keys, values) == len(keys)
        # A record sent one at a time to the same topic lands after the block's records of its partition.
        producer.send(topic, b"tail", key=f"tail-{k}".encode())
        if k == 1:
            producer.abort()
        else:
            producer.commit()
    committed = [transactions[0], transactions[2]]
    expected = sum(len(keys) + 1 for keys, _ in committed)
    read = _committed(kafka_broker.bootstrap_servers, topic, expected)
    assert len(read) == expected
    sent = {key: value for keys, values in committed for key, value in zip(keys, values, strict=True)}
    sent.update({f"tail-{k}".encode(): b"tail" for k in (0, 2)})
    assert {key: value for _, _, key, value in read} == sent  # every committed record once, nothing aborted
    for partition, _, key, _ in read:
        assert partition == (murmur2(key) & 0x7FFFFFFF) % 6
    # Within a partition, each transaction's records in the order they were handed over, the tail last.
    order = {key: (k, i) for k, (keys, _) in enumerate(committed) for i, key in enumerate(keys)}
    order.update({b"tail-0": (0, 10**6), b"tail-2": (1, 10**6)})
    for p in range(6):
        keys_read = [key for partition, _, key, _ in sorted(read, key=lambda r: r[1]) if partition == p]
        assert keys_read == sorted(keys_read, key=order.__getitem__)


@pytest.mark.kafka
def test_blocks_need_an_open_transaction(topic: str, producer: TransactionalProducer) -> None:
    with pytest.raises(TransactionAbortedError, match="sending to"):
        producer.send_keyed(topic, [b"k"], [b"v"])
    producer.begin()
    assert producer.send_keyed(topic, [], []) == 0
    producer.commit()
