"""``fraud worker --workers N``: N worker processes, one per slot, restarted when they fail, stopped together.

Each child runs ``python -m scoring_api.worker --slot K`` with the same environment and options: slot K has its
own transactional id (a restarted child fences its dead predecessor), its own state snapshot and its own metrics
port. SIGTERM or SIGINT is passed on to every child, which finishes its batch, commits and leaves the group;
a child still running after the shutdown timeout is killed (its open transaction is aborted when the slot
starts again, so nothing half-done is ever visible). A child that exits with an error is started again after a
pause that doubles up to 30 s.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger("fraud.worker.supervisor")

MAX_BACKOFF_S = 30.0


@dataclass
class _Child:
    slot: int
    process: subprocess.Popen[bytes]
    backoff_s: float = 1.0
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts, watches and stops the worker processes of slots ``0..workers-1``."""

    workers: int
    arguments: Sequence[str] = ()
    shutdown_timeout_s: float = 60.0
    children: list[_Child] = field(default_factory=list)
    _stopping: bool = False

    def command(self, slot: int) -> list[str]:
        return [sys.executable, "-m", "scoring_api.worker", "--slot", str(slot), *self.arguments]

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns 0 when every child stopped cleanly."""

        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("stopping the workers", extra={"signal": signal.Signals(signum).name})
            self._stopping = True

        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.children = [_Child(slot, self._start(slot)) for slot in range(self.workers)]
            while not self._stopping:
                self._watch()
                time.sleep(0.2)
            return self._stop_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _start(self, slot: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(self.command(slot))
        log.info("worker process started", extra={"slot": slot, "pid": process.pid})
        return process

    def _watch(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.process = self._start(child.slot)
                    child.restart_at = None
                    child.restarts += 1
                continue
            code = child.process.poll()
            if code is None:
                continue
            log.warning("worker process exited", extra={"slot": child.slot, "code": code, "backoff_s": child.backoff_s})
            child.restart_at = now + child.backoff_s
            child.backoff_s = min(MAX_BACKOFF_S, child.backoff_s * 2)

    def _stop_all(self) -> int:
        running = [c for c in self.children if c.restart_at is None and c.process.poll() is None]
        for child in running:
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.shutdown_timeout_s
        worst = 0
        for child in running:
            try:
                code = child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker process did not stop in time; killed", extra={"slot": child.slot})
                child.process.kill()
                code = child.process.wait()
            worst = worst or code
        return worst
