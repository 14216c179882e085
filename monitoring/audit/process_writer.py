"""An :class:`~monitoring.audit.writer.EventWriter` whose chain is written by a recording process of its own.

In the scoring process, recording costs whatever holds its interpreter: building the events, their JSON, the
card-number screen, hashing, inserting, the writer thread's wake-ups. :class:`ProcessWriter` keeps only the
first two there (each event's JSON, one ``orjson`` call) and sends the rest to a child process
(:mod:`monitoring.audit.recording_process`) over a socket pair, so that on a machine with a core to spare the
scoring path pays the hand-over and little else. Nothing changes for the submitter: a future per submission
that resolves once its records are committed (the same :class:`~monitoring.audit.log.AppendResult`), or fails
with the reason (:class:`~monitoring.audit.errors.AuditStoreError` when it may pass: the submitter keeps the
events for a second try). Submitting never blocks: what the socket does not take at once (a batch of decisions
is megabytes, a socket's buffer a few hundred kilobytes) is sent by the writer's sending thread, in order, so an
event loop goes on serving while the recording process reads.

The child is started with the writer and stopped by :meth:`ProcessWriter.close`, which lets it commit what it
holds first. If it dies, the submissions it had not confirmed fail with :class:`AuditStoreError` (they may have
been committed: a second try may record them twice, as a batch recorded and then not published is), and the
next submission starts a new one (at most one start a second).

    writer = ProcessWriter(AuditSettings())          # starts the recording process; raises if it cannot start
    writer.record([access_event])                    # waits until committed
    await writer.submit_async([access_event])        # from an event loop
    writer.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import monitoring
from monitoring.audit.encoding import AuditItem
from monitoring.audit.errors import AuditError, AuditStoreError
from monitoring.audit.log import AppendResult
from monitoring.audit.settings import AuditSettings
from monitoring.audit.wire import REPLY, FrameReader, hello_frame, read_reply, submission_frame
from monitoring.audit.writer import AnyFuture, ErrorCallback, settle

logger = logging.getLogger(__name__)

_RECEIVE_BYTES: Final = 1 << 16
#: The recording process's program: the project's root first on its import path (the scoring process may run
#: from any folder, from a checkout that is not installed), then :func:`monitoring.audit.recording_process.main`.
_CHILD: Final = (
    f"import sys; sys.path.insert(0, {str(Path(monitoring.__file__).resolve().parent.parent)!r}); "
    "from monitoring.audit.recording_process import main; sys.exit(main())"
)


@dataclass(eq=False)
class _Child:
    """One recording process: its socket, the submissions it has not answered yet, and the frames (or their
    rest) that wait for its sending thread."""

    process: subprocess.Popen[bytes]
    connection: socket.socket
    #: Signalled (under the writer's lock) when frames wait to be sent, a send ends, or the child is gone.
    ready: threading.Condition
    pending: dict[int, tuple[AnyFuture, ErrorCallback | None]] = field(default_factory=dict)
    outbox: deque[bytes | memoryview] = field(default_factory=deque)
    #: Whether the sending thread holds frames: later ones queue behind them, in order.
    sending: bool = False
    alive: bool = True
    reader: threading.Thread | None = None


class ProcessWriter:
    """Records events through a recording process of its own; see the module docstring."""

    def __init__(self, settings: AuditSettings, *, start_timeout_s: float = 60.0, restart_pause_s: float = 1.0) -> None:
        self._hello = hello_frame(
            settings.audit_url, settings.audit_archive_dir.resolve(), settings.audit_signing_key.get_secret_value()
        )
        self._start_timeout_s = start_timeout_s
        self._restart_pause_s = restart_pause_s
        self._lock = threading.Lock()  # the socket's writes and the pending table
        self._ids = itertools.count(1)
        self._closed = False
        self._last_start = time.monotonic()
        self._down = ""
        self._child: _Child | None = self._start()

    # -- the writer ------------------------------------------------------------------------------------------

    def submit(self, events: Sequence[AuditItem]) -> Future[AppendResult]:
        """Send events for the next append; the future gives their sequence range once committed."""
        future: Future[AppendResult] = Future()
        self._send(events, future, None)
        return future

    def submit_async(
        self, events: Sequence[AuditItem], *, on_error: ErrorCallback | None = None
    ) -> asyncio.Future[AppendResult]:
        """:meth:`submit` from a running event loop: the future is the loop's; ``on_error`` is called with the
        error of a failed submission before the future fails with it."""
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._send(events, future, on_error)
        return future

    def record(self, events: Sequence[AuditItem], timeout_s: float | None = 30.0) -> AppendResult:
        """Submit and wait until committed."""
        return self.submit(events).result(timeout=timeout_s)

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Let the recording process commit what it holds and answer, then stop it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            child = self._child
        if child is None:
            return
        with child.ready:
            child.ready.wait_for(lambda: not child.sending, timeout_s)
        with contextlib.suppress(OSError):
            child.connection.shutdown(socket.SHUT_WR)  # the child reads the end, commits, answers, exits
        if child.reader is not None:
            child.reader.join(timeout_s)
        try:
            child.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            logger.error("the audit recording process did not stop in %s s; killing it", timeout_s)
            child.process.kill()
            child.process.wait()
        self._stopped(child)

    @property
    def pid(self) -> int | None:
        """The recording process's id (None while none runs)."""
        child = self._child
        return child.process.pid if child is not None and child.alive else None

    # -- sending ---------------------------------------------------------------------------------------------

    def _send(self, events: Sequence[AuditItem], future: AnyFuture, on_error: ErrorCallback | None) -> None:
        if self._closed:
            raise AuditError("the audit writer is closed; open a new one")
        if not events:
            future.set_result(AppendResult(0, -1, ""))
            return
        try:
            frame_id = next(self._ids)
            frame = submission_frame(frame_id, events)
        except AuditError as error:
            self._fail(future, on_error, error)
            return
        with self._lock:
            child = self._running()
            if child is None:
                refused = AuditStoreError(f"the audit recording process is not running: {self._down}")
            else:
                child.pending[frame_id] = (future, on_error)
                try:
                    self._hand_over(child, frame)
                    return
                except OSError as exc:
                    del child.pending[frame_id]
                    refused = AuditStoreError(f"the audit recording process stopped reading: {exc}")
        self._fail(future, on_error, refused)

    @staticmethod
    def _hand_over(child: _Child, frame: bytes) -> None:
        """Send ``frame`` without ever blocking the submitter (an event loop, a worker between batches): what the
        socket does not take at once waits for the sending thread, behind what already waits; under the lock."""
        if not child.sending:
            try:
                sent = child.connection.send(frame, socket.MSG_DONTWAIT)
            except BlockingIOError:
                sent = 0
            if sent == len(frame):
                return
            child.outbox.append(memoryview(frame)[sent:])
        else:
            child.outbox.append(frame)
        child.sending = True
        child.ready.notify_all()

    def _send_waiting(self, child: _Child) -> None:
        """The sending thread: sends the frames that wait, in order, blocking as the recording process reads."""
        while True:
            with child.ready:
                while child.alive and not child.outbox:
                    child.ready.wait()
                if not child.outbox:  # the child is gone and nothing waits
                    return
                data = child.outbox.popleft()
            try:
                child.connection.sendall(data)
            except OSError as error:  # the reply thread sees the socket close and fails what was not answered
                logger.error("sending to the audit recording process failed: %s", error)
                with child.ready:
                    child.outbox.clear()
                    child.sending = False
                    child.ready.notify_all()
                return
            with child.ready:
                if not child.outbox:
                    child.sending = False
                    child.ready.notify_all()

    @staticmethod
    def _fail(future: AnyFuture, on_error: ErrorCallback | None, error: AuditError) -> None:
        if on_error is not None:
            on_error(error)
        future.set_exception(error)

    def _running(self) -> _Child | None:
        """The live child, started again if it died (at most once every ``restart_pause_s``); under the lock."""
        child = self._child
        if child is not None and child.alive:
            return child
        if time.monotonic() - self._last_start < self._restart_pause_s:
            return None
        self._last_start = time.monotonic()
        try:
            self._child = self._start()
        except AuditStoreError as error:
            self._down = str(error)
            self._child = None
        return self._child

    # -- the child -------------------------------------------------------------------------------------------

    def _start(self) -> _Child:
        """Start a recording process and wait until it has opened the log."""
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except OSError as error:
            ours.close()
            raise AuditStoreError(f"cannot start the audit recording process: {error}") from None
        finally:
            theirs.close()
        child = _Child(process, ours, threading.Condition(self._lock))
        try:
            self._await_hello(child)
        except BaseException:
            ours.close()
            process.kill()
            process.wait()
            raise
        child.reader = threading.Thread(target=self._read, args=(child,), name="audit-replies", daemon=True)
        child.reader.start()
        threading.Thread(target=self._send_waiting, args=(child,), name="audit-sends", daemon=True).start()
        return child

    def _await_hello(self, child: _Child) -> None:
        connection = child.connection
        connection.sendall(self._hello)
        connection.settimeout(self._start_timeout_s)
        frames = FrameReader(REPLY)
        try:
            while True:
                data = connection.recv(_RECEIVE_BYTES)
                if not data:
                    code = child.process.wait(self._start_timeout_s)
                    raise AuditStoreError(f"the audit recording process exited at start (exit code {code})")
                for (_, status), body in frames.feed(data):
                    outcome = read_reply(status, body)
                    if isinstance(outcome, AuditError):
                        raise AuditStoreError(f"the audit recording process could not open the log: {outcome}")
                    return
        except TimeoutError:
            raise AuditStoreError(
                f"the audit recording process did not start within {self._start_timeout_s} s"
            ) from None
        finally:
            connection.settimeout(None)

    def _read(self, child: _Child) -> None:
        """The reply thread: settles the submitters' futures as their commits are confirmed."""
        frames = FrameReader(REPLY)
        try:
            while data := child.connection.recv(_RECEIVE_BYTES):
                outcomes: list[tuple[AnyFuture, AppendResult | BaseException]] = []
                with self._lock:
                    answered = [
                        (child.pending.pop(frame_id, None), read_reply(status, body))
                        for (frame_id, status), body in frames.feed(data)
                    ]
                for waiting, outcome in answered:
                    if waiting is None:  # a submission already failed here (it cannot be: said, not hidden)
                        logger.error("the audit recording process answered a submission nobody waits for")
                        continue
                    future, on_error = waiting
                    if isinstance(outcome, AuditError) and on_error is not None:
                        on_error(outcome)
                    outcomes.append((future, outcome))
                settle(outcomes)
        except OSError as error:
            logger.error("reading the audit recording process's replies failed: %s", error)
        finally:
            self._stopped(child)

    def _stopped(self, child: _Child) -> None:
        """Fail what the child never answered (it may be committed: the submitter tries again)."""
        with self._lock:
            if not child.alive and not child.pending:
                return
            child.alive = False
            child.ready.notify_all()  # the sending thread stops
            unanswered, child.pending = list(child.pending.values()), {}
        code = child.process.poll()
        if code is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = child.process.wait(5)
        self._down = f"it exited with code {code}"
        if unanswered:
            logger.error("the audit recording process stopped (exit code %s) with %d submissions unanswered",
                         code, len(unanswered))  # fmt: skip
            error = AuditStoreError(
                f"the audit recording process stopped (exit code {code}) before confirming these events"
            )
            for _, on_error in unanswered:
                if on_error is not None:
                    on_error(error)
            settle([(future, error) for future, _ in unanswered])
        with contextlib.suppress(OSError):
            child.connection.close()
