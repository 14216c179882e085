"""The recording process: screens, chains and commits what one scoring process submits, on a core of its own.

Started by :class:`~monitoring.audit.process_writer.ProcessWriter`, which runs :func:`main` with ``FD``, its end
of a socket pair, as the one argument (``python -m monitoring.audit.recording_process FD``). The first frame names the
audit log to open (:func:`~monitoring.audit.wire.hello_frame`); every later one is a submission
(:mod:`~monitoring.audit.wire`). This process turns each into records (the card-number screen, the decision
batches' JSON), hands them to an :class:`~monitoring.audit.writer.AuditWriter`, whose thread appends whatever
gathered in one transaction, and replies to each submission once its records are committed, or with why they
are not.

It lives exactly as long as its scoring process wants it: it ignores SIGINT and SIGTERM (a terminal's Ctrl-C or a
service manager's stop reach the whole process group; the scoring process decides when recording ends), and
when the socket closes (the scoring process closed its writer, or died) it commits what it holds and exits.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
import threading
from concurrent.futures import Future
from functools import partial

from monitoring.audit.errors import AuditError
from monitoring.audit.log import AppendResult, AuditLog
from monitoring.audit.signing import Signer
from monitoring.audit.wire import (
    HELLO_ID,
    SUBMISSION,
    FrameReader,
    decode_submission,
    read_hello,
    reply_frame,
)
from monitoring.audit.writer import AuditWriter

logger = logging.getLogger("fraud.audit.recording")

#: Bytes read from the socket at once (a batch of 2,000 decisions is about 4 MB).
_RECEIVE_BYTES = 1 << 20


class _Replies:
    """Sends replies from the writer's thread as appends complete (one lock: frames never interleave)."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._broken = False

    def send(self, submission_id: int, outcome: AppendResult | BaseException) -> None:
        frame = reply_frame(submission_id, outcome)
        with self._lock:
            if self._broken:
                return
            try:
                self._connection.sendall(frame)
            except OSError as error:  # the scoring process is gone: what was committed stays committed
                self._broken = True
                logger.warning("the scoring process no longer reads replies: %s", error)

    def settled(self, submission_id: int, future: Future[AppendResult]) -> None:
        error = future.exception()
        self.send(submission_id, future.result() if error is None else error)


def serve(connection: socket.socket) -> int:
    """Record what arrives on ``connection`` until it closes; the exit status (1: the log could not be opened)."""
    frames = FrameReader(SUBMISSION)
    replies = _Replies(connection)
    log: AuditLog | None = None
    writer: AuditWriter | None = None
    try:
        while data := connection.recv(_RECEIVE_BYTES):
            for (submission_id,), body in frames.feed(data):
                if writer is None:
                    if submission_id != HELLO_ID:
                        replies.send(submission_id, AuditError("the recording process was not told its audit log"))
                        return 1
                    try:
                        url, archive_dir, key = read_hello(body)
                        log = AuditLog(url, Signer.from_hex(key), archive_dir=archive_dir)
                    except Exception as error:  # reported to the scoring process, which refuses to start
                        replies.send(HELLO_ID, error)
                        return 1
                    writer = AuditWriter(log)
                    replies.send(HELLO_ID, AppendResult(0, -1, ""))
                    continue
                try:
                    encoded = decode_submission(body)
                except AuditError as error:
                    replies.send(submission_id, error)
                    continue
                writer.submit_encoded(encoded).add_done_callback(partial(replies.settled, submission_id))
    finally:
        if writer is not None:
            writer.close(None)  # commits what is pending; its replies go out as each append completes
        if log is not None:
            log.close()
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
        connection.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1 or not arguments[0].isdigit():
        print("usage: python -m monitoring.audit.recording_process FD (the scoring process starts it)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return serve(socket.socket(fileno=int(arguments[0])))


if __name__ == "__main__":
    sys.exit(main())
