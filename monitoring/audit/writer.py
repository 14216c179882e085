"""Group commit: events from many threads (request handlers, worker batches) gathered into few appends.

A scoring service records a decision and an access per request; appending each alone would pay a transaction,
a signature and a disk sync per request. :class:`AuditWriter` takes events from any thread, serialises and
screens them there, and a single background thread appends whatever has gathered (up to ``max_batch`` events,
waiting at most ``max_delay_s`` for more) in one transaction. Each submitter gets a future that resolves when
its events are committed (or fails with the append's error), so a request can answer only once its decision is
on record::

    writer = AuditWriter(log)
    future = writer.submit([decision, access])          # from any thread
    writer.record([decision, access])                   # the same, waiting until committed
    await writer.submit_async([decision, access])       # from an event loop (FastAPI): answer once recorded
    writer.close()                                      # at shutdown: flushes what is pending

An event loop's submitters get an :class:`asyncio.Future` of that loop instead of a thread's future: the
writer resolves all of one loop's futures of a batch with one hand-over to the loop, not one per submitter
(each hand-over wakes the loop through a pipe).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Final, Protocol

from monitoring.audit.encoding import AuditItem, EncodedEvent, encode_items
from monitoring.audit.errors import AuditError
from monitoring.audit.log import AppendResult, AuditLog

_STOP: Final = object()


#: Told of a failed append in the writer's thread, before the submitter sees it fail.
ErrorCallback = Callable[[BaseException], None]
#: A submitter's future: a thread's, or an event loop's.
AnyFuture = Future[AppendResult] | asyncio.Future[AppendResult]


class EventWriter(Protocol):
    """What records events for a scoring process: :class:`AuditWriter` (a thread of the process) or
    :class:`~monitoring.audit.process_writer.ProcessWriter` (a recording process of its own)."""

    def submit(self, events: Sequence[AuditItem]) -> Future[AppendResult]:
        """Queue events from any thread; the future resolves once they are committed."""
        ...

    def submit_async(
        self, events: Sequence[AuditItem], *, on_error: ErrorCallback | None = None
    ) -> asyncio.Future[AppendResult]:
        """:meth:`submit` from a running event loop, with a future of that loop."""
        ...

    def record(self, events: Sequence[AuditItem], timeout_s: float | None = 30.0) -> AppendResult:
        """Submit and wait until committed."""
        ...

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Commit what is pending, then stop."""
        ...


@dataclass(frozen=True, slots=True)
class _Pending:
    events: list[EncodedEvent]
    #: A thread's future, or an event loop's (resolved from that loop).
    future: AnyFuture
    on_error: ErrorCallback | None = None


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

    def submit(self, events: Sequence[AuditItem]) -> Future[AppendResult]:
        """Queue events for the next append; the future gives their sequence range once committed."""
        if self._closed:
            raise AuditError("the audit writer is closed; open a new one")
        try:
            encoded = encode_items(events)
        except AuditError as error:
            failed: Future[AppendResult] = Future()
            failed.set_exception(error)
            return failed
        return self.submit_encoded(encoded)

    def submit_encoded(self, encoded: Sequence[EncodedEvent]) -> Future[AppendResult]:
        """:meth:`submit` of events already encoded (:mod:`~monitoring.audit.encoding`)."""
        if self._closed:
            raise AuditError("the audit writer is closed; open a new one")
        future: Future[AppendResult] = Future()
        if not encoded:
            future.set_result(AppendResult(0, -1, ""))
            return future
        self._queue.put(_Pending(list(encoded), future))
        return future

    def submit_async(
        self, events: Sequence[AuditItem], *, on_error: ErrorCallback | None = None
    ) -> asyncio.Future[AppendResult]:
        """:meth:`submit` from a running event loop: the future is the loop's; ``on_error`` is called (in the
        writer's thread, or here when the events cannot be encoded) with the error of a failed append before
        the future fails with it."""
        if self._closed:
            raise AuditError("the audit writer is closed; open a new one")
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        try:
            encoded = encode_items(events)
        except AuditError as error:
            if on_error is not None:
                on_error(error)
            future.set_exception(error)
            return future
        if not encoded:
            future.set_result(AppendResult(0, -1, ""))
            return future
        self._queue.put(_Pending(encoded, future, on_error))
        return future

    def record(self, events: Sequence[AuditItem], timeout_s: float | None = 30.0) -> AppendResult:
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
                if pending.on_error is not None:
                    pending.on_error(error)
            settle([(pending.future, error) for pending in batch])
            return
        seq = result.first_seq
        settled: list[tuple[AnyFuture, AppendResult | BaseException]] = []
        for pending in batch:
            count = len(pending.events)
            masked = sum(event.masked for event in pending.events)
            settled.append((pending.future, AppendResult(seq, seq + count - 1, result.head_hash, masked)))
            seq += count
        settle(settled)


def settle(outcomes: list[tuple[AnyFuture, AppendResult | BaseException]]) -> None:
    """Settle each submitter's future: threads' directly, each event loop's in one call on that loop (each
    hand-over wakes the loop through a pipe)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[AppendResult], AppendResult | BaseException]]]
    by_loop = {}
    for future, outcome in outcomes:
        if isinstance(future, asyncio.Future):
            by_loop.setdefault(future.get_loop(), []).append((future, outcome))
        elif isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    for loop, waiting in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits for these any more
            loop.call_soon_threadsafe(_settle_on_loop, waiting)


def _settle_on_loop(waiting: list[tuple[asyncio.Future[AppendResult], AppendResult | BaseException]]) -> None:
    for future, outcome in waiting:
        if future.done():  # cancelled: its request went away (the events are recorded all the same)
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
