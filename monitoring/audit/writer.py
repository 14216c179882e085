"""Group commit: events from many threads (request handlers, worker batches) gathered into few appends.

A scoring service records a decision and an access per request; appending each alone would pay a transaction,
a signature and a disk sync per request. :class:`AuditWriter` takes events from any thread, serialises and
screens them there, and a single background thread appends whatever has gathered (up to ``max_batch`` events,
waiting at most ``max_delay_s`` for more) in one transaction. Each submitter gets a future that resolves when
its events are committed (or fails with the append's error), so a request can answer only once its decision is
on record::

    writer = AuditWriter(log)
    future = writer.submit([decision, access])          # from a request handler
    await asyncio.wrap_future(future)                   # FastAPI: answer once recorded
    writer.close()                                      # at shutdown: flushes what is pending
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Final

from monitoring.audit.errors import AuditError
from monitoring.audit.events import AuditEvent
from monitoring.audit.log import AppendResult, AuditLog, EncodedEvent, encode

_STOP: Final = object()


@dataclass(frozen=True)
class _Pending:
    events: list[EncodedEvent]
    future: Future[AppendResult]


class AuditWriter:
    """Appends submitted events in batches from one background thread; see the module docstring."""

    def __init__(self, log: AuditLog, *, max_batch: int = 2_000, max_delay_s: float = 0.002) -> None:
        if max_batch < 1 or max_delay_s < 0:
            raise AuditError("max_batch must be at least 1 and max_delay_s at least 0")
        self._log = log
        self._max_batch = max_batch
        self._max_delay_s = max_delay_s
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def submit(self, events: Sequence[AuditEvent]) -> Future[AppendResult]:
        """Queue events for the next append; the future gives their sequence range once committed."""
        if self._closed:
            raise AuditError("the audit writer is closed; open a new one")
        future: Future[AppendResult] = Future()
        try:
            encoded = [encode(event) for event in events]
        except AuditError as error:
            future.set_exception(error)
            return future
        if not encoded:
            future.set_result(AppendResult(0, -1, ""))
            return future
        self._queue.put(_Pending(encoded, future))
        return future

    def record(self, events: Sequence[AuditEvent], timeout_s: float | None = 30.0) -> AppendResult:
        """Submit and wait until committed."""
        return self.submit(events).result(timeout=timeout_s)

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Append what is pending, then stop the background thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout_s)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if not isinstance(first, _Pending):
                return
            batch, size = [first], len(first.events)
            deadline = time.monotonic() + self._max_delay_s
            while size < self._max_batch:
                try:
                    item = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
                except queue.Empty:
                    break
                if not isinstance(item, _Pending):
                    stopping = True
                    break
                batch.append(item)
                size += len(item.events)
            self._append(batch)

    def _append(self, batch: list[_Pending]) -> None:
        try:
            result = self._log.append_encoded([event for pending in batch for event in pending.events])
        except BaseException as error:
            for pending in batch:
                pending.future.set_exception(error)
            return
        seq = result.first_seq
        for pending in batch:
            count = len(pending.events)
            masked = sum(event.masked for event in pending.events)
            pending.future.set_result(AppendResult(seq, seq + count - 1, result.head_hash, masked))
            seq += count
