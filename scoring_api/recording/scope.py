"""The recording scope of one request: the audit commits its answer waits for, and the display form of the cards
it presented.

A request handler runs on the event loop: waiting there for each audit record to commit would serialise every
request behind one disk write. Inside a scope, the audit sink only queues its events (the writer commits what
many requests queued in one transaction) and leaves their futures here; the service's middleware awaits them
before it sends the response, so nothing is answered before it is on record, and a record that fails turns the
answer into a 503. Outside a scope (the stream worker, the command line, tests calling the scorer), the sink
waits for the commit itself.

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
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_CURRENT: ContextVar[RecordingScope | None] = ContextVar("fraud_recording_scope", default=None)


class RecordingScope:
    """What one request recorded and has yet to see committed, and the cards it presented by number."""

    __slots__ = ("card_displays", "pending")

    def __init__(self) -> None:
        self.pending: list[Future[Any]] = []
        #: Card token -> the card as it may be shown (BIN and last four), for cards sent as ``pan``.
        self.card_displays: dict[str, str] = {}

    def defer(self, future: Future[Any]) -> None:
        """Wait for ``future`` before the answer goes out."""
        self.pending.append(future)

    async def committed(self, timeout_s: float) -> None:
        """Wait until everything deferred so far is committed; the first failure is raised (a timeout as
        :class:`TimeoutError`)."""
        while self.pending:
            waiting, self.pending = self.pending, []
            for future in waiting:
                await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)


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
