"""A transactional producer: a micro-batch's outputs and its input offsets commit together, or not at all.

The consume-transform-produce loop of a stream worker (:mod:`scoring_api.worker`) runs each micro-batch in one
Kafka transaction: :meth:`TransactionalProducer.begin`, :meth:`send_offsets` the input offsets with the
consumer's group metadata (known once the batch is polled: the coordinator's round trips then run on the
producer's I/O thread while the batch is processed), :meth:`send` its outputs (decisions, dead letters, a journal
record), :meth:`commit`. Readers with ``isolation_level="read_committed"`` see all of it or none of it.

``transactional_id`` is stable per worker slot: a restarted worker calls :meth:`init`, which fences the previous
instance (a zombie's later commits fail with :class:`~ingest.kafka.errors.FencedError`) and aborts the
transaction it left open. The group metadata sent with the offsets lets the broker refuse the offsets of a member
that a rebalance has replaced (KIP-447).

>>> producer = TransactionalProducer("127.0.0.1:9092", "scorer-0")  # doctest: +SKIP
>>> producer.init()  # doctest: +SKIP
>>> producer.begin(); producer.send_offsets(batch.offsets, consumer.group_metadata())  # doctest: +SKIP
>>> producer.send("scores", b"...", key=b"t1"); producer.commit()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from ingest.kafka.errors import FencedError, ProduceError, TransactionAbortedError
from ingest.kafka.partitioning import key_partitions

_log = logging.getLogger(__name__)

#: Settings for transactions of a few thousand small records: idempotent, acknowledged by all replicas, batched.
DEFAULT_TRANSACTIONAL_CONFIG: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 100,
    "batch_size": 256 * 1024,
    "max_in_flight_requests_per_connection": 5,
    # The coordinator aborts a transaction left open this long (a worker that died mid-batch).
    "transaction_timeout_ms": 60_000,
}


class TransactionalProducer:
    """A Kafka producer with a ``transactional_id``; every send belongs to the open transaction."""

    def __init__(
        self,
        bootstrap_servers: str,
        transactional_id: str,
        *,
        client_id: str | None = None,
        **overrides: Any,
    ) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        self.transactional_id = transactional_id
        self._lock = threading.Lock()
        self._failures = 0
        self._first_failure: BaseException | None = None
        config = {**DEFAULT_TRANSACTIONAL_CONFIG, **overrides}
        #: The open transaction's offsets on their way to the coordinator (kafka-python's
        #: TransactionalRequestResult), waited for by :meth:`commit`.
        self._offsets: Any = None
        self._offsets_wait_ms = int(config.get("transaction_timeout_ms", 60_000))
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=bootstrap_servers,
                client_id=client_id or transactional_id,
                transactional_id=transactional_id,
                **config,
            )
        except KafkaError as exc:
            raise ProduceError(
                f"cannot reach Kafka at {bootstrap_servers} ({exc}); start it with `fraud kafka start`"
            ) from exc

    def init(self) -> None:
        """Register the transactional id: fence its previous instance and abort what that one left open."""
        from kafka.errors import KafkaError

        try:
            self._producer.init_transactions()
        except KafkaError as exc:
            raise self._translate("initialising the transactions", exc) from exc

    def begin(self) -> None:
        """Open a transaction (call :meth:`init` once first)."""
        from kafka.errors import KafkaError

        with self._lock:
            self._failures, self._first_failure = 0, None
        self._offsets = None
        try:
            self._producer.begin_transaction()
        except KafkaError as exc:
            raise self._translate("beginning a transaction", exc) from exc

    def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> Any:
        """Queue one record in the open transaction (in ``partition``, else where its key hashes); returns its
        future (the record's metadata once written)."""
        from kafka.errors import KafkaError

        try:
            future = self._producer.send(
                topic, value=value, key=key, headers=list(headers) if headers else None, partition=partition
            )
        except KafkaError as exc:
            raise self._translate(f"sending to {topic!r}", exc) from exc
        return future.add_errback(self._on_failure)

    def send_keyed(self, topic: str, keys: Sequence[bytes], values: Sequence[bytes]) -> int:
        """Queue one record per (key, value) in the open transaction, each in the partition Kafka's default
        partitioner picks for its key (computed for the whole batch at once, :mod:`ingest.kafka.partitioning`);
        returns how many. The records reach the producer's accumulator in blocks, one record batch per partition
        at a time (:mod:`ingest.kafka.record_batches`), without a future per record: a record batch that fails
        later fails the transaction's :meth:`commit`."""
        from kafka.errors import KafkaError

        from ingest.kafka.record_batches import append_records, block_appends_supported

        producer = self._producer
        try:
            partitions = key_partitions(keys, producer.partitions_for(topic))
            if block_appends_supported(producer):
                return append_records(producer, topic, keys, values, partitions, self._on_failure)
            send, on_failure = producer.send, self._on_failure
            for key, value, partition in zip(keys, values, partitions, strict=True):
                send(topic, value=value, key=key, partition=partition).add_errback(on_failure)
        except KafkaError as exc:
            raise self._translate(f"sending to {topic!r}", exc) from exc
        return len(partitions)

    def send_offsets(self, offsets: dict[Any, Any], group_metadata: Any) -> None:
        """Add the consumed ``offsets`` (TopicPartition -> OffsetAndMetadata) to the open transaction, without
        waiting for the coordinator.

        kafka-python's ``send_offsets_to_transaction`` queues AddOffsetsToTxn (then TxnOffsetCommit) for the
        producer's I/O thread and blocks until both round trips are done; this queues them the same way (its
        transaction manager's ``send_offsets_to_transaction``, then a wake-up of the I/O thread) and returns, so
        the round trips overlap whatever the caller does next: call it right after :meth:`begin`, with the
        offsets of the batch just polled, then process the batch and :meth:`send` its outputs. The broker accepts
        the partitions of the sends being added after the offsets. :meth:`commit` waits for the offsets first and
        fails, leaving the transaction to abort, when they were refused (a member a rebalance replaced, a fenced
        producer); :meth:`abort` discards them with the rest of the transaction. Offsets added to a transaction
        are pending until it commits: neither this group's committed offsets nor (KIP-447: kafka-python's
        read_committed consumers fetch offsets with ``require_stable``) another member's see them before."""
        from kafka.errors import KafkaError

        producer = self._producer
        try:
            self._offsets = producer._transaction_manager.send_offsets_to_transaction(offsets, group_metadata)
        except KafkaError as exc:
            raise self._translate("adding the input offsets to the transaction", exc) from exc
        producer._sender.wakeup()

    def commit(self) -> None:
        """Commit the open transaction: its records and offsets become visible to read_committed readers."""
        from kafka.errors import KafkaError

        offsets, self._offsets = self._offsets, None
        try:
            if offsets is not None and not offsets.wait(timeout_ms=self._offsets_wait_ms):
                raise TransactionAbortedError(
                    f"the transaction coordinator took no answer on the input offsets within "
                    f"{self._offsets_wait_ms} ms; the transaction is not committed: abort it and process the batch "
                    "again"
                )
        except KafkaError as exc:
            raise self._translate("adding the input offsets to the transaction", exc) from exc
        try:
            self._producer.commit_transaction()
        except KafkaError as exc:
            raise self._translate("committing the transaction", exc) from exc
        with self._lock:
            failures, first = self._failures, self._first_failure
        if failures:  # a broker never lets a transaction with a failed record commit; say so if it ever did
            raise TransactionAbortedError(
                f"{failures} record(s) or record batch(es) of a committed transaction failed: {first!r}"
            )

    def abort(self) -> None:
        """Abort the open transaction: none of its records or offsets will ever be visible."""
        from kafka.errors import KafkaError

        self._offsets = None
        try:
            self._producer.abort_transaction()
        except KafkaError as exc:
            raise self._translate("aborting the transaction", exc) from exc

    def metrics(self) -> dict[str, Any]:
        metrics: dict[str, Any] = self._producer.metrics()
        return metrics

    def close(self, timeout_s: float = 10.0) -> None:
        """Close the producer; an open transaction is left for the coordinator to abort.

        Records still unacknowledged after ``timeout_s`` belong to that open transaction: they are dropped (the
        coordinator aborts them) and the producer's I/O thread is stopped, instead of kafka-python's flush timeout
        escaping halfway through its close."""
        from kafka.errors import KafkaTimeoutError

        try:
            self._producer.close(timeout=timeout_s)
        except KafkaTimeoutError:
            _log.warning(
                "closing the producer with records unacknowledged after %s s: its transaction aborts", timeout_s
            )
            sender = getattr(self._producer, "_sender", None)
            if sender is not None:
                sender.force_close()
            self._producer._closed = True  # what kafka-python's close sets once its flush returns

    def _on_failure(self, exc: BaseException) -> None:
        # Runs on the producer's I/O thread: record, never raise.
        with self._lock:
            self._failures += 1
            if self._first_failure is None:
                self._first_failure = exc

    def _translate(self, doing: str, exc: Exception) -> Exception:
        from kafka.errors import ProducerFencedError

        # A fence the I/O thread met (on the offsets sent ahead, on adding a partition) reaches the caller's next
        # call as a generic error "in an error state": the transaction manager, in its fatal state, keeps the cause.
        manager = getattr(self._producer, "_transaction_manager", None)
        cause = manager.last_error if manager is not None and manager.has_fatal_error() else None
        fenced = any(
            isinstance(error, ProducerFencedError)
            or type(error).__name__
            in {"ProducerFencedError", "InvalidProducerEpochError", "TransactionalIdAuthorizationFailedError"}
            for error in (exc, cause)
        )
        if fenced:
            return FencedError(
                f"another producer with transactional id {self.transactional_id!r} took over while {doing}; "
                "this instance must stop (a worker restarted in the same slot fences the old one)"
            )
        return TransactionAbortedError(
            f"{doing} failed ({exc!r}); the transaction is not committed: abort it and process the batch again"
        )

    def __enter__(self) -> TransactionalProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
