"""Fixtures shared by the whole suite: where the shared handbook dataset is, and the rule that a missing
dataset skips a test on a developer's machine but fails it under CI; and a real Kafka broker (``kafka_broker``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

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
