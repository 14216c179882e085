"""Start, stop and inspect the local single-node Kafka broker.

The broker runs detached (its own session, standard output to ``run_dir/broker.log``) so that it outlives the
command that started it. ``run_dir`` holds its pid file, a JSON state file (bootstrap address, ports, cluster
id), its server.properties and its data. Starting is idempotent: when a live broker already owns ``run_dir``,
:meth:`LocalKafkaBroker.start` reports it instead of starting another. A file lock serialises concurrent
starts and stops of one ``run_dir``.

>>> from ingest.settings import IngestSettings
>>> broker = LocalKafkaBroker(BrokerConfig.from_settings(IngestSettings()))
>>> state = broker.start()  # doctest: +SKIP
>>> state.bootstrap_servers  # doctest: +SKIP
'127.0.0.1:9092'
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.kafka.broker_config import (
    HOST,
    READY_LINE,
    BrokerConfig,
    broker_command,
    format_storage_command,
    new_cluster_id,
    render_server_properties,
)
from ingest.kafka.errors import BrokerError, BrokerStartError

_POLL_S = 0.25
_LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class BrokerState:
    """A running broker, as recorded in its state file."""

    pid: int
    bootstrap_servers: str
    port: int
    controller_port: int
    cluster_id: str
    run_dir: str
    log_file: str
    started_at: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> BrokerState:
        return cls(**json.loads(text))


class LocalKafkaBroker:
    """One local broker, identified by its run folder."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # -- queries -------------------------------------------------------------------------------------------------
    def status(self) -> BrokerState | None:
        """The running broker's state, or None when no live broker owns the run folder."""
        state = self._read_state()
        if state is None or not _is_broker_process(state.pid):
            return None
        return state

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        return _tail(self.config.log_file, lines)

    # -- start ---------------------------------------------------------------------------------------------------
    def start(self) -> BrokerState:
        """Start the broker and wait until it serves requests; return the running broker if there is one."""
        with self._locked():
            running = self.status()
            if running is not None:
                return running
            self._refuse_busy_ports()
            self.config.run_dir.mkdir(parents=True, exist_ok=True)
            self.config.properties_file.write_text(render_server_properties(self.config), encoding="utf-8")
            cluster_id = self._format_storage()
            process = self._launch()
            # The pid goes down at once, so that a broker whose starter dies while waiting can still be found.
            self.config.pid_file.write_text(f"{process.pid}\n", encoding="utf-8")
            state = BrokerState(
                pid=process.pid,
                bootstrap_servers=self.config.bootstrap_servers,
                port=self.config.port,
                controller_port=self.config.controller_port,
                cluster_id=cluster_id,
                run_dir=str(self.config.run_dir),
                log_file=str(self.config.log_file),
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            try:
                self._wait_until_ready(process)
            except BaseException:
                self._terminate(process.pid)
                self.config.pid_file.unlink(missing_ok=True)
                raise
            self.config.state_file.write_text(state.to_json(), encoding="utf-8")
            return state

    def _refuse_busy_ports(self) -> None:
        for port in (self.config.port, self.config.controller_port):
            if _port_accepts(port):
                raise BrokerStartError(
                    f"port {port} on {HOST} is already in use by another process; stop it or choose other ports "
                    "(FRAUD_KAFKA_PORT, FRAUD_KAFKA_CONTROLLER_PORT)"
                )

    def _format_storage(self) -> str:
        """Format the data folder unless it was formatted for the same controller endpoint; return the cluster id.

        The quorum's voter endpoint is written into the storage at format time, so data formatted for other ports
        is wiped rather than reused.
        """
        marker = self.config.data_dir / "fraud-format.json"
        endpoint = f"{HOST}:{self.config.controller_port}"
        if marker.is_file():
            recorded = json.loads(marker.read_text(encoding="utf-8"))
            if recorded.get("controller") == endpoint and (self.config.data_dir / "meta.properties").is_file():
                return str(recorded["cluster_id"])
        shutil.rmtree(self.config.data_dir, ignore_errors=True)
        cluster_id = new_cluster_id()
        result = subprocess.run(
            format_storage_command(self.config, cluster_id),
            capture_output=True,
            text=True,
            check=False,
            timeout=self.config.start_timeout_s,
        )
        if result.returncode != 0:
            raise BrokerStartError(
                f"formatting the broker's storage in {self.config.data_dir} failed (exit {result.returncode}):\n"
                f"{(result.stdout + result.stderr).strip()[-4000:]}"
            )
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"controller": endpoint, "cluster_id": cluster_id}), encoding="utf-8")
        return cluster_id

    def _launch(self) -> subprocess.Popen[bytes]:
        # Detached: a new session, no stdin, output to a file (never an undrained pipe), so the broker outlives
        # the command that starts it. The log is appended to: readiness is read only from this launch's lines.
        self._log_offset = self.config.log_file.stat().st_size if self.config.log_file.exists() else 0
        with self.config.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                broker_command(self.config),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.config.run_dir,
                start_new_session=True,
                close_fds=True,
            )
        return self._process

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        """Wait for the ready log line, a TCP connection and one admin call, or raise with the log's tail."""
        deadline = time.monotonic() + self.config.start_timeout_s
        logged_ready = False
        while time.monotonic() < deadline:
            exit_code = process.poll()
            if exit_code is not None:
                raise BrokerStartError(
                    f"the Kafka broker exited with status {exit_code} while starting; "
                    f"the end of {self.config.log_file}:\n{self.log_tail()}"
                )
            logged_ready = logged_ready or READY_LINE in _read_from(self.config.log_file, self._log_offset)
            if logged_ready and _port_accepts(self.config.port) and _admin_answers(self.config.bootstrap_servers):
                return
            time.sleep(_POLL_S)
        stage = "an admin request" if logged_ready else f"the log line {READY_LINE!r}"
        raise BrokerStartError(
            f"the Kafka broker did not become ready within {self.config.start_timeout_s:.0f} s (waiting for "
            f"{stage}); the end of {self.config.log_file}:\n{self.log_tail()}"
        )

    # -- stop ----------------------------------------------------------------------------------------------------
    def stop(self) -> bool:
        """Stop the broker (SIGTERM for a controlled shutdown, SIGKILL after the timeout); False if none ran."""
        with self._locked():
            state = self._read_state()
            pid = state.pid if state is not None else self._read_pid()
            stopped = False
            if pid is not None and _is_broker_process(pid):
                self._terminate(pid)
                stopped = True
            for path in (self.config.pid_file, self.config.state_file):
                path.unlink(missing_ok=True)
            return stopped

    def _terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if self._wait_gone(pid, self.config.stop_timeout_s):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not self._wait_gone(pid, 10.0):
            raise BrokerError(f"the Kafka broker (pid {pid}) survived SIGKILL; check it with `ps -p {pid}`")

    def _wait_gone(self, pid: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.pid == pid:
                if self._process.poll() is not None:
                    return True
            elif not _is_alive(pid):
                return True
            time.sleep(_POLL_S)
        return False

    # -- files ---------------------------------------------------------------------------------------------------
    def _read_state(self) -> BrokerState | None:
        try:
            return BrokerState.from_json(self.config.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise BrokerError(
                f"the broker state file {self.config.state_file} is unreadable ({exc}); stop any broker by hand "
                "and delete the file"
            ) from exc

    def _read_pid(self) -> int | None:
        """The pid file's pid: a broker still starting, or one whose starter died before it was ready."""
        try:
            return int(self.config.pid_file.read_text(encoding="utf-8").strip())
        except (FileNotFoundError, ValueError):
            return None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        with (self.config.run_dir / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _is_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process; reaps it when it is a finished child of ours."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def _is_broker_process(pid: int) -> bool:
    """Whether ``pid`` is alive and is a Kafka broker (a recycled pid of another program is not)."""
    if not _is_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"kafka.Kafka" in cmdline


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def _admin_answers(bootstrap_servers: str) -> bool:
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers, bootstrap_timeout_ms=5000, request_timeout_ms=5000
        )
    except KafkaError:
        return False
    try:
        admin.describe_cluster()
    except KafkaError:
        return False
    finally:
        admin.close()
    return True


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])
