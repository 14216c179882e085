"""The scoring service as the demo runs it: ``fraud serve`` in its own process on 127.0.0.1 and a free port,
pointed at the run's stores, with one API key per role; stopped at the end (or on Ctrl-C) by the demo.

The service runs in a session of its own, so that a Ctrl-C in the terminal reaches the demo alone, which then
stops the service in order (SIGTERM, then SIGKILL if it has not exited in time).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from scoring_api.errors import DemoError
from scoring_api.settings import child_environment

#: The roles the demo holds a key of, and what it does with each.
DEMO_ROLES = ("scorer", "analyst", "compliance", "admin")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fraud_command() -> list[str]:
    """The ``fraud`` entry point of the running interpreter's environment."""
    script = Path(sys.executable).with_name("fraud")
    if not script.exists():
        raise DemoError(f"the fraud command is not installed beside {sys.executable}; run infra/bootstrap.sh")
    return [str(script)]


def create_keys(database_url: str, actor: str) -> dict[str, str]:
    """One API key per role in the service database: role -> the key (shown once; only hashes are stored)."""
    from lifecycle.registry.database import Database
    from scoring_api.access.keys import KeyStore, Role

    database = Database(database_url)
    try:
        store = KeyStore(database)
        return {role: store.create(Role(role), f"demo {role}", actor)[1] for role in DEMO_ROLES}
    finally:
        database.close()


@dataclass
class ServiceProcess:
    """A running ``fraud serve``: its address, process and log file."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls, environment: dict[str, str], log_path: Path, *, backend: str, timeout_s: float = 180.0
    ) -> ServiceProcess:
        """Start ``fraud serve`` with ``environment`` added to this process's and wait until it is ready."""
        port = free_port()
        log = log_path.open("wb")
        command = [*fraud_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--backend", backend]
        process = subprocess.Popen(
            command,
            env=child_environment(environment),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        service = cls(f"http://127.0.0.1:{port}", port, process, log_path, log)
        try:
            service.wait_ready(timeout_s)
        except BaseException:
            service.stop()
            raise
        return service

    def wait_ready(self, timeout_s: float) -> None:
        """Poll ``/readyz`` until it answers 200; raise when the process exits or the time runs out."""
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        with httpx.Client(base_url=self.url, timeout=5.0) as http:
            while time.monotonic() < deadline:
                code = self.process.poll()
                if code is not None:
                    raise DemoError(f"fraud serve exited with status {code}; see {self.log_path}")
                try:
                    response = http.get("/readyz")
                except httpx.TransportError:
                    time.sleep(0.25)
                    continue
                if response.status_code == 200:
                    return
                last = response.text
                time.sleep(0.25)
        raise DemoError(f"fraud serve was not ready in {timeout_s:.0f} s ({last}); see {self.log_path}")

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """Stop the service (SIGTERM, then SIGKILL after ``timeout_s``); its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.process.returncode
