"""The recording scope of one request: the audit records its answer waits for, and the display form of the cards
it presented.

A request handler runs on the event loop: waiting there for each audit record to commit would serialise every
request behind one disk write. Inside a scope, the audit recorder only stages its events here; when the answer
is about to go out, :meth:`RecordingScope.committed` submits everything the request staged as one submission
(its access and its decisions together) and awaits it, while the writer commits what many requests submitted in
one transaction. Nothing is answered before it is on record, and a record that fails turns the answer into a
503. Events staged but never awaited (a request cancelled on the way) are submitted when the scope closes, so
they are recorded all the same. Outside a scope (the stream worker, the command line, tests calling the scorer),
the recorder waits for the commit itself.

>>> import asyncio
>>> from concurrent.futures import Future
>>> with recording_scope() as scope:
...     done: Future[int] = Future()
...     current_scope().defer(done)
...     done.set_result(1)
...     asyncio.run(scope.committed(timeout_s=1.0))
>>> current_scope() is None
True
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

_CURRENT: ContextVar[RecordingScope | None] = ContextVar("fraud_recording_scope", default=None)


class Submitter(Protocol):
    """Where a scope submits what it staged (the audit recorder)."""

    def submit(self, events: Sequence[Any]) -> Future[Any]:
        """Submit from any thread; the future resolves once the events are committed."""
        ...

    def submit_async(self, events: Sequence[Any]) -> asyncio.Future[Any]:
        """Submit from the running event loop; its future resolves once the events are committed."""
        ...


class RecordingScope:
    """What one request recorded and has yet to see committed, and the cards it presented by number."""

    __slots__ = ("_deferred", "_lock", "_staged", "card_displays")

    def __init__(self) -> None:
        self._deferred: list[Future[Any]] = []
        self._staged: dict[Submitter, list[Any]] = {}
        #: Staging may happen on the framework's worker threads while the loop takes what was staged.
        self._lock = threading.Lock()
        #: Card token -> the card as it may be shown (BIN and last four), for cards sent as ``pan``.
        self.card_displays: dict[str, str] = {}

    @property
    def pending(self) -> bool:
        """Whether anything recorded in this scope has yet to be seen committed."""
        return bool(self._deferred or self._staged)

    def defer(self, future: Future[Any]) -> None:
        """Wait for ``future`` before the answer goes out."""
        self._deferred.append(future)

    def stage(self, submitter: Submitter, events: Sequence[Any]) -> None:
        """Keep ``events`` to submit to ``submitter`` together with the request's others, before the answer."""
        with self._lock:
            self._staged.setdefault(submitter, []).extend(events)

    async def committed(self, timeout_s: float) -> None:
        """Submit what was staged and wait until everything recorded so far is committed; the first failure is
        raised (a timeout as :class:`TimeoutError`)."""
        async with asyncio.timeout(timeout_s):
            while self._deferred or self._staged:
                staged = self._take_staged()
                waiting = [submitter.submit_async(events) for submitter, events in staged.items()]
                deferred, self._deferred = self._deferred, []
                for future in waiting:
                    await future
                for done in deferred:
                    await asyncio.wrap_future(done)

    def submit_staged(self) -> None:
        """Submit what was staged without waiting (a scope closing on a request that never awaited it)."""
        for submitter, events in self._take_staged().items():
            submitter.submit(events)

    def _take_staged(self) -> dict[Submitter, list[Any]]:
        with self._lock:
            staged, self._staged = self._staged, {}
        return staged


def current_scope() -> RecordingScope | None:
    """The scope of the request being handled, or None outside one."""
    return _CURRENT.get()


@contextmanager
def recording_scope() -> Iterator[RecordingScope]:
    """Open a scope for the code run inside (and the threads it starts through the framework's thread pool)."""
    scope = RecordingScope()
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)
        scope.submit_staged()
