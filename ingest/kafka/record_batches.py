"""Handing kafka-python's producer a micro-batch's records in blocks, one record batch per partition at a time.

kafka-python's ``KafkaProducer.send`` does, for every record, what a stream worker's batch needs once: the
argument and header checks, the transaction manager's readiness check (three condition-lock entries), a
``TopicPartition`` and a ``FutureRecordMetadata``, the accumulator's per-partition lock, and a record builder that
encodes each record with a dozen Python calls. :func:`append_records` hands the accumulator the same records in
blocks instead: the partition is added to the open transaction once, and the records are appended to
:class:`RecordBatchBuilder` record batches (Kafka's message format v2, uncompressed, the bytes kafka-python's own
builder writes) queued in the accumulator's deque for their partition and sealed (a block is whole: the sender
sends it at once rather than lingering ``linger_ms`` for more records), where the producer's sender drains them
like its own: it stamps each with the producer id, epoch and base sequence, closes it and sends it. Each record
batch has one future, the batch's; a batch that fails makes the open transaction fail (the broker refuses the
commit), as a failed record does.

This leans on kafka-python's producer internals (its accumulator's deques and locks, ``ProducerBatch``), pinned
by the ``kafka-python`` version range in ``pyproject.toml``; ``tests/ingest/kafka/test_record_batches.py`` pins
the behaviour against kafka-python's builder and decoder and against the real broker (transactions committed and
aborted, read_committed readers, the sequence numbers of idempotence).

>>> builder = RecordBatchBuilder(batch_size=1024, timestamp_ms=1_700_000_000_000)
>>> builder.extend([b"k1", b"k2"], [b"v1", b"v2"], [0, 1])
2
>>> builder.close()
>>> from kafka.record.memory_records import MemoryRecords
>>> [(r.key, r.value) for r in MemoryRecords(bytes(builder.buffer())).next_batch()]
[(b'k1', b'v1'), (b'k2', b'v2')]
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
from crc32c import crc32c
from kafka.record.util import encode_varint

#: A record batch's header (Kafka's ``DefaultRecordBatch``): base offset, length, partition leader epoch, magic,
#: CRC-32C, attributes, last offset delta, first and max timestamps, producer id and epoch, base sequence, count.
_HEADER: Final = struct.Struct(">qiibIhiqqqhii")
_AFTER_LENGTH: Final = struct.calcsize(">qi")
_CRC_OFFSET: Final = struct.calcsize(">qiib")
_ATTRIBUTES_OFFSET: Final = struct.calcsize(">qiibI")
_TRANSACTIONAL: Final = 0x10
_MAGIC: Final = 2


def varint(value: int) -> bytes:
    """Kafka's signed varint (zig-zag, 7 bits a byte, least significant first), as kafka-python writes it."""
    out = bytearray()
    encode_varint(value, out.append)
    return bytes(out)


#: The varints of the lengths and offset deltas a record batch uses most (0 to 16,383: one or two bytes).
_VARINTS: Final = [varint(n) for n in range(1 << 14)]


def _v(value: int) -> bytes:
    return _VARINTS[value] if 0 <= value < 16_384 else varint(value)


class RecordBatchBuilder:
    """One record batch (message format v2, no compression) filled a block of records at a time.

    It offers what kafka-python's accumulator and sender ask of their ``MemoryRecordsBuilder`` (``append``,
    ``set_producer_state``, ``close``, ``buffer``, ``records``, ``is_full``, ``size_in_bytes``,
    ``next_offset``, ``compression_rate`` and the producer state), and writes the same bytes for the same
    records."""

    def __init__(self, batch_size: int, timestamp_ms: int, *, transactional: bool = False) -> None:
        self._batch_size = batch_size
        self._first_timestamp = timestamp_ms
        self._max_timestamp = timestamp_ms
        self._transactional = transactional
        self._producer_id = -1
        self._producer_epoch = -1
        self._base_sequence = -1
        self._chunks: list[bytes] = []
        self._size = _HEADER.size
        self._count = 0
        self._buffer: bytearray | None = None
        self._sealed = False
        #: The largest record's size in bytes (the producer's metrics read it).
        self.largest = 0

    # -- filling -------------------------------------------------------------------------------------------------
    def extend(self, keys: Sequence[bytes], values: Sequence[bytes], rows: Sequence[int]) -> int:
        """Append records ``rows`` of ``keys``/``values`` (no headers, the batch's timestamp) while they fit;
        returns how many were appended (at least one when the batch is empty: a record larger than the batch
        size gets a batch of its own, as with kafka-python)."""
        if self._sealed or self._buffer is not None:
            return 0
        chunks = self._chunks
        size, offset, limit = self._size, self._count, self._batch_size
        varints, v = _VARINTS, _v
        appended, largest = 0, self.largest
        for row in rows:
            key, value = keys[row], values[row]
            body = (
                3  # attributes, the timestamp delta (0) and the headers count (0): one byte each
                + (len(varints[offset]) if offset < 16_384 else len(varint(offset)))
                + len(key) + len(v(len(key))) + len(value) + len(v(len(value)))
            )  # fmt: skip
            length = v(body)
            if size + body + len(length) > limit and offset:
                break
            chunks.append(b"".join((length, b"\x00\x00", v(offset), v(len(key)), key, v(len(value)), value, b"\x00")))
            size += body + len(length)
            largest = max(largest, body + len(length))
            offset += 1
            appended += 1
        self._size, self._count, self.largest = size, offset, largest
        return appended

    def append(
        self, timestamp: int | None, key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]
    ) -> Any:
        """One record (kafka-python's builder interface: a record the producer's ``send`` appends to this batch
        when it is the newest of its partition); None when it does not fit or the batch is sealed or closed."""
        if self._sealed or self._buffer is not None:
            return None
        timestamp = int(time.time() * 1000) if timestamp is None else timestamp
        parts = [b"\x00", varint(timestamp - self._first_timestamp), varint(self._count)]
        for field in (key, value):
            parts.extend((b"\x01",) if field is None else (varint(len(field)), field))
        parts.append(varint(len(headers)))
        for name, content in headers:
            encoded = name.encode("utf-8")
            parts.extend((varint(len(encoded)), encoded))
            parts.extend((b"\x01",) if content is None else (varint(len(content)), content))
        body = b"".join(parts)
        record = varint(len(body)) + body
        if self._size + len(record) > self._batch_size and self._count:
            return None
        self._chunks.append(record)
        self._size += len(record)
        self._max_timestamp = max(self._max_timestamp, timestamp)
        self._count += 1
        self.largest = max(self.largest, len(record))
        from kafka.record.default_records import DefaultRecordMetadata

        return DefaultRecordMetadata(self._count - 1, len(record), timestamp)

    # -- what the sender asks ------------------------------------------------------------------------------------
    def set_producer_state(
        self, producer_id: int, producer_epoch: int, base_sequence: int, transactional: bool
    ) -> None:
        self._producer_id, self._producer_epoch = producer_id, producer_epoch
        self._base_sequence, self._transactional = base_sequence, transactional

    @property
    def producer_id(self) -> int:
        return self._producer_id

    @property
    def producer_epoch(self) -> int:
        return self._producer_epoch

    @property
    def base_sequence(self) -> int:
        return self._base_sequence

    def close(self) -> None:
        """Write the batch (header, CRC-32C): called when the sender drains it, possibly again on a retry."""
        if self._buffer is not None:
            return
        buffer = bytearray(_HEADER.size)
        buffer += b"".join(self._chunks)
        _HEADER.pack_into(
            buffer, 0,
            0,  # base offset: the broker's
            len(buffer) - _AFTER_LENGTH,
            0,  # partition leader epoch: the broker's
            _MAGIC,
            0,  # the CRC, below
            _TRANSACTIONAL if self._transactional else 0,
            self._count - 1,
            self._first_timestamp,
            self._max_timestamp,
            self._producer_id,
            self._producer_epoch,
            self._base_sequence,
            self._count,
        )  # fmt: skip
        struct.pack_into(">I", buffer, _CRC_OFFSET, crc32c(memoryview(buffer)[_ATTRIBUTES_OFFSET:]))
        self._buffer = buffer
        self._chunks = []

    def buffer(self) -> bytearray:
        if self._buffer is None:
            raise RuntimeError("the record batch is not closed yet")
        return self._buffer

    def records(self) -> Any:
        from kafka.record.memory_records import MemoryRecords

        return MemoryRecords(self.buffer())

    def seal(self) -> None:
        """Take no more records: the batch counts as full, so the producer's sender sends it without waiting
        ``linger_ms`` for more (a record sent one at a time to its partition goes to a new batch)."""
        self._sealed = True

    def is_full(self) -> bool:
        return self._sealed or self._buffer is not None or self._size >= self._batch_size

    def size_in_bytes(self) -> int:
        return self._size

    def next_offset(self) -> int:
        return self._count

    def compression_rate(self) -> float:
        return 1.0


def block_appends_supported(producer: Any) -> bool:
    """Whether ``producer`` (a ``KafkaProducer``) writes what :class:`RecordBatchBuilder` writes: message format
    v2 without compression."""
    config = producer._accumulator.config
    return bool(config["message_version"] == _MAGIC and config["compression_attrs"] == 0)


def append_records(
    producer: Any,
    topic: str,
    keys: Sequence[bytes],
    values: Sequence[bytes],
    partitions: Sequence[int],
    on_failure: Callable[[BaseException], Any],
) -> int:
    """Queue record ``i`` (``keys[i]``, ``values[i]``, no headers) in partition ``partitions[i]`` of ``topic``
    through ``producer``'s accumulator, in blocks per partition, each partition added to the open transaction
    once; ``on_failure`` is told of each record batch that fails. Returns how many records were queued.

    Raises what ``KafkaProducer.send`` raises for a producer not ready to send (no transaction open, an earlier
    error) or a record too large for a request."""
    from kafka.errors import IllegalStateError
    from kafka.producer.producer_batch import ProducerBatch
    from kafka.structs import TopicPartition

    if producer._closed:
        raise IllegalStateError("KafkaProducer already closed!")
    if not len(keys):
        return 0
    largest = int(np.argmax(np.fromiter((len(k) + len(v) for k, v in zip(keys, values, strict=True)), np.int64)))
    producer._ensure_valid_record_size(producer._estimate_size_in_bytes(keys[largest], values[largest], []))
    accumulator = producer._accumulator
    manager = producer._transaction_manager
    transactional = bool(manager is not None and manager.is_transactional())
    batch_size = accumulator.config["batch_size"]
    timestamp_ms = int(time.time() * 1000)
    column = np.asarray(partitions, dtype=np.int64)
    order = np.argsort(column, kind="stable")
    bounds = np.flatnonzero(np.diff(column[order])) + 1
    wake = False
    for rows in np.split(order, bounds):
        tp = TopicPartition(topic, int(column[rows[0]]))
        if transactional:
            manager.maybe_add_partition_to_transaction(tp)  # raises unless a transaction is open and sound
        pending = rows.tolist()
        now = time.monotonic()
        accumulator._appends_in_progress.increment()
        try:
            with accumulator._tp_lock(tp):
                if accumulator._closed:
                    raise IllegalStateError("RecordAccumulator is closed")
                queue = accumulator._batches[tp]
                # Records go to new batches after the partition's newest (a builder kafka-python's own send
                # fills, or a sealed block).
                last: Any = queue[-1] if queue else None
                taken = 0
                if last is not None and isinstance(last.records, RecordBatchBuilder):
                    taken = last.records.extend(keys, values, pending)  # none once sealed
                while taken < len(pending):
                    builder = RecordBatchBuilder(batch_size, timestamp_ms, transactional=transactional)
                    last = ProducerBatch(tp, builder, now=now)
                    last.produce_future.add_errback(on_failure)
                    queue.append(last)
                    accumulator._incomplete.add(last)
                    taken += builder.extend(keys, values, pending[taken:])  # at least one: the batch is empty
                    wake = True
                last.last_append = now
                last.max_record_size = last.records.largest
                # The block is whole: nothing is gained by lingering for more records, the sender may send it.
                last.records.seal()
                wake = True
        finally:
            accumulator._appends_in_progress.decrement()
    if wake:
        producer._sender.wakeup()
    return len(keys)
