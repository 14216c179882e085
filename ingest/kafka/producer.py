"""A producer of transactions (and of their labels): keyed by card token, orjson values (see
:mod:`ingest.kafka.codec` and :mod:`ingest.kafka.labels`).

Idempotent with ``acks=all`` (kafka-python 3.0's defaults, stated here so a config change cannot lose them):
a retried batch is never written twice. Records are grouped in 64 KiB batches with a short linger, which is
where kafka-python's throughput comes from. Delivery errors are never swallowed: every failed record is
counted and :meth:`TransactionProducer.flush` raises :class:`~ingest.kafka.errors.ProduceError`.

>>> with TransactionProducer("127.0.0.1:9092", "transactions") as producer:  # doctest: +SKIP
...     producer.send_frame(frame)
...     producer.flush()
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import pandas as pd

from ingest.contract import Transaction
from ingest.kafka.codec import encode_frame, encode_transaction
from ingest.kafka.errors import ProduceError
from ingest.kafka.labels import encode_labels
from ingest.kafka.partitioning import key_partitions

#: Producer settings tuned for throughput on small records (about 300 bytes each).
DEFAULT_PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 10,
    "batch_size": 64 * 1024,
    "max_in_flight_requests_per_connection": 5,
}


class TransactionProducer:
    """Sends transactions to one topic; ``send_frame`` takes a whole contract DataFrame at once."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        *,
        client_id: str = "fraud-transaction-producer",
        **overrides: Any,
    ) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        self.topic = topic
        self.sent = 0
        self._failures = 0
        self._first_failure: BaseException | None = None
        self._lock = threading.Lock()
        config = {**DEFAULT_PRODUCER_CONFIG, **overrides}
        try:
            self._producer = KafkaProducer(bootstrap_servers=bootstrap_servers, client_id=client_id, **config)
        except KafkaError as exc:
            raise ProduceError(
                f"cannot reach Kafka at {bootstrap_servers} ({exc}); start it with `fraud kafka start`"
            ) from exc

    def send(self, transaction: Transaction) -> None:
        """Queue one validated transaction."""
        key, value = encode_transaction(transaction)
        self._producer.send(self.topic, value=value, key=key).add_errback(self._on_failure)
        self.sent += 1

    def send_frame(self, frame: pd.DataFrame) -> int:
        """Queue every row of a contract DataFrame; returns the number queued. Invalid frames are refused whole."""
        return self._send_encoded(*encode_frame(frame))

    def send_labels(self, labels: pd.DataFrame) -> int:
        """Queue labels (:mod:`ingest.kafka.labels`), keyed by card token like the transactions they label."""
        return self._send_encoded(*encode_labels(labels))

    def _send_encoded(self, keys: list[bytes], values: list[bytes]) -> int:
        from kafka.errors import KafkaTimeoutError

        try:
            partitions = self._partitions_of(keys)
        except KafkaTimeoutError as exc:
            raise ProduceError(f"no metadata for topic {self.topic!r}: {exc}; does it exist?") from exc
        send = self._producer.send
        topic = self.topic
        on_failure = self._on_failure
        for key, value, partition in zip(keys, values, partitions, strict=True):
            send(topic, value=value, key=key, partition=partition).add_errback(on_failure)
        self.sent += len(values)
        return len(values)

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every queued record is acknowledged; raise if any record failed since the last flush."""
        from kafka.errors import KafkaError, KafkaTimeoutError

        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaTimeoutError as exc:
            raise ProduceError(f"records were still unacknowledged after {timeout_s} s; is the broker up?") from exc
        except KafkaError as exc:
            raise ProduceError(f"flushing records to {self.topic!r} failed: {exc}") from exc
        with self._lock:
            failures, first = self._failures, self._first_failure
            self._failures, self._first_failure = 0, None
        if failures:
            raise ProduceError(
                f"{failures} record(s) sent to {self.topic!r} were not written; first error: {first!r}"
            ) from first

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Flush and close; raises like :meth:`flush` if records failed."""
        from kafka.errors import KafkaError

        try:
            self.flush(timeout_s)
        finally:
            try:
                self._producer.close(timeout=timeout_s)
            except KafkaError as exc:
                raise ProduceError(f"closing the producer of {self.topic!r} failed: {exc}") from exc

    def metrics(self) -> dict[str, Any]:
        """kafka-python's producer metrics (record-send-rate, batch-size-avg, ...)."""
        metrics: dict[str, Any] = self._producer.metrics()
        return metrics

    def _partitions_of(self, keys: list[bytes]) -> list[int]:
        """Each key's partition, exactly as Kafka's default partitioner picks it, for the whole batch at once."""
        return key_partitions(keys, self._producer.partitions_for(self.topic))

    def _on_failure(self, exc: BaseException) -> None:
        # Runs on the producer's I/O thread: record, never raise.
        with self._lock:
            self._failures += 1
            if self._first_failure is None:
                self._first_failure = exc

    def __enter__(self) -> TransactionProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # When already failing, a close error is raised with the original one as its context.
        self.close(timeout_s=30.0 if exc_type is None else 5.0)


def send_raw(
    bootstrap_servers: str,
    topic: str,
    messages: Sequence[tuple[bytes | None, bytes | None]],
    max_request_size: int = 1 << 20,
) -> None:
    """Bytes straight onto a topic, acknowledged: what a faulty upstream sends (the transaction producer refuses
    to encode what breaks the wire format). For demonstrations and tests of the dead-letter path."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", max_request_size=max_request_size)
    except KafkaError as exc:
        raise ProduceError(f"cannot reach Kafka at {bootstrap_servers} ({exc})") from exc
    try:
        for key, value in messages:
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=60)
    except KafkaError as exc:
        raise ProduceError(f"sending raw messages to {topic!r} failed: {exc}") from exc
    finally:
        producer.close(timeout=10)
