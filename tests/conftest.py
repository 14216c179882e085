"""Fixtures shared by the whole suite: where the shared handbook dataset is, and the rule that a missing
dataset skips a test on a developer's machine but fails it under CI; real services started by the tests: a
Kafka broker (``kafka_broker``), Redis (``redis_url``) and PostgreSQL (``postgres_server``, with a fresh
database per test from ``postgres_url``); one quick run of the whole system (``demo_run``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ingest.kafka import BrokerState

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HANDBOOK_DIR = ROOT.parent / "shared" / "data" / "ulb-handbook"


def _handbook_dir() -> Path:
    return Path(os.environ.get("FRAUD_HANDBOOK_DIR", str(DEFAULT_HANDBOOK_DIR)))


@pytest.fixture(scope="session")
def handbook_dir() -> Path:
    """The folder holding the ULB/Worldline handbook Parquet files (``transactions-2018-MM.parquet``)."""
    path = _handbook_dir()
    if not (path / "transactions-2018-04.parquet").exists():
        message = (
            f"the ULB handbook dataset is not at {path}; set FRAUD_HANDBOOK_DIR to the folder holding "
            "transactions-2018-MM.parquet"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_tcp_ports(count: int) -> list[int]:
    """Ports the kernel reports free on 127.0.0.1 (held open together so that they differ)."""
    import socket

    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerState]:
    """A real Kafka broker: the one ``fraud kafka start`` runs (as infra/test.sh does) when it is up, otherwise
    one started here on free ports in a temporary folder and stopped at the end of the session."""
    from dataclasses import replace

    from ingest.kafka import BrokerConfig, LocalKafkaBroker
    from ingest.settings import IngestSettings

    configured = BrokerConfig.from_settings(IngestSettings())
    running = LocalKafkaBroker(configured).status()
    if running is not None:
        yield running
        return
    port, controller_port = free_tcp_ports(2)
    run_dir = tmp_path_factory.mktemp("kafka-broker")
    broker = LocalKafkaBroker(replace(configured, run_dir=run_dir, port=port, controller_port=controller_port))
    state = broker.start()
    try:
        yield state
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server (Debian's ``redis-server``) on a free 127.0.0.1 port, without persistence, in a
    temporary folder; stopped at the end of the session. Skips locally / fails under CI when not installed."""
    import shutil
    import subprocess
    import time

    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed; run infra/bootstrap.sh (apt-get install redis-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("redis")
    (port,) = free_tcp_ports(1)
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    command += ["--dir", str(folder), "--daemonize", "no", "--logfile", str(folder / "redis.log")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()  # reap it: a failed start must not leave a zombie behind
                client.close()
                log = (folder / "redis.log").read_text() if (folder / "redis.log").exists() else ""
                pytest.fail(f"redis-server did not start on port {port}: {log[-2000:]}")
            time.sleep(0.05)
    try:
        yield url
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _postgres_binaries() -> Path | None:
    """The newest Debian PostgreSQL server's bin folder (``initdb``, ``pg_ctl``), or None when not installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server (Debian's ``postgresql`` binaries) in a temporary folder, on a free 127.0.0.1
    port, run as a non-root user (the ``postgres`` account when the tests run as root: PostgreSQL refuses root);
    stopped and removed at the end of the session. Yields the URL of its ``postgres`` maintenance database.
    Skips locally / fails under CI when the binaries are not installed."""
    import shutil
    import subprocess
    import tempfile

    binaries = _postgres_binaries()
    if binaries is None:
        message = "PostgreSQL is not installed; run infra/bootstrap.sh (apt-get install postgresql)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Not under pytest's own temporary root: that one is private to the user running the tests, and the server
    # may run as another user.
    folder = Path(tempfile.mkdtemp(prefix="fraud-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"
    (port,) = free_tcp_ports(1)
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "fraud", "--auth=trust", "-E", "UTF8", "--no-sync"]
    subprocess.run([*as_user, *initdb], check=True, capture_output=True, timeout=120)
    # Durability is the server's own business; the tests need correctness only, so the server skips fsync.
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options]
    try:
        started = subprocess.run([*as_user, *pg_ctl, "-w", "-t", "60", "start"], capture_output=True, timeout=90)
        if started.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start on port {port}: {started.stderr.decode()} {server_log[-2000:]}")
        yield f"postgresql://fraud@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, *pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server (``postgresql://...``), dropped afterwards."""
    import uuid

    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def demo_run(kafka_broker: BrokerState, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One ``fraud demo --quick --json FILE`` in its own process against the test broker (fresh topics), run once
    per session: its test asserts the summary, and the documentation's commands run on copies of its run folder."""
    import json
    import subprocess
    import sys
    import uuid

    folder = tmp_path_factory.mktemp("demo")
    suffix = uuid.uuid4().hex[:8]
    environment = {
        **os.environ,
        "COLUMNS": "160",
        "FRAUD_KAFKA_RUN_DIR": str(kafka_broker.run_dir),
        "FRAUD_KAFKA_PORT": str(kafka_broker.port),
        "FRAUD_KAFKA_CONTROLLER_PORT": str(kafka_broker.controller_port),
        "FRAUD_TOPIC_TRANSACTIONS": f"transactions-{suffix}",
        "FRAUD_TOPIC_LABELS": f"labels-{suffix}",
        "FRAUD_TOPIC_SCORES": f"scores-{suffix}",
        "FRAUD_TOPIC_DEAD_LETTERS": f"transactions-{suffix}.dlq",
    }
    summary_path = folder / "summary.json"
    fraud = str(Path(sys.executable).with_name("fraud"))
    finished = subprocess.run(
        [fraud, "demo", "--quick", "--json", str(summary_path), "--run-dir", str(folder / "var" / "demo")],
        env=environment,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=1_500,
        check=False,
    )
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    return DemoRun(finished.returncode, finished.stdout + finished.stderr, summary, environment)


@dataclass(frozen=True)
class DemoRun:
    """What ``fraud demo --quick`` did: its exit status, what it printed, its JSON summary, its environment."""

    returncode: int
    output: str
    summary: dict[str, Any] | None
    environment: dict[str, str]

    @property
    def run_folder(self) -> Path:
        assert self.summary is not None, self.output[-4000:]
        return Path(self.summary["run_folder"])
