"""``fraud serve`` in its own process on 127.0.0.1: a requested stop (SIGTERM, SIGINT) drains the request in flight,
closes the application (the monitors save their state) and ends with status 0; a service that cannot start ends
with a non-zero status."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lifecycle.registry.database import Database
from scoring_api.access.keys import KeyStore, Role
from tests.conftest import free_tcp_ports
from tests.scoring_api.support import World, blessed_registry, serve_environment

pytestmark = pytest.mark.slow

FRAUD = str(Path(sys.executable).with_name("fraud"))
#: Seconds ``fraud serve`` may take to answer /readyz, and to stop once asked.
READY_S = 240
STOP_S = 60


@pytest.fixture
def served(tmp_path: Path, world: World) -> Iterator[tuple[subprocess.Popen[bytes], str, str, Path]]:
    """``fraud serve`` ready on a free port: the process, its URL, a scorer's key, its log."""
    root = tmp_path / "run"
    (root / "service").mkdir(parents=True)
    blessed_registry(root / "registry", world)[0].close()
    (port,) = free_tcp_ports(1)
    env = serve_environment(root, world, port)
    database = Database(env["FRAUD_SCORING_DATABASE_URL"])
    try:
        key = KeyStore(database).create(Role.SCORER, "scorer", "tester")[1]
    finally:
        database.close()
    log = root / "serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen([FRAUD, "serve"], env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_S
        while not _ready(url):
            assert process.poll() is None, f"fraud serve stopped before it was ready:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"fraud serve was not ready in {READY_S} s"
            time.sleep(0.5)
        yield process, url, key, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_requested_stop_drains_the_request_in_flight_and_exits_0(
    served: tuple[subprocess.Popen[bytes], str, str, Path], world: World, stop: signal.Signals
) -> None:
    process, url, key, log = served
    bodies = [tx.model_dump(mode="json") for tx in world.transactions(world.day.iloc[:50])]
    payload = json.dumps({"transactions": bodies}).encode()
    head_sent, signalled = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        # The request's head and a first part of its body reach the service before the stop; the rest after.
        yield payload[:100]
        head_sent.set()
        signalled.wait(STOP_S)
        yield payload[100:]

    answer: list[httpx.Response] = []

    def post() -> None:
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        answer.append(httpx.post(f"{url}/v1/score/batch", content=body(), headers=headers, timeout=STOP_S))

    sender = threading.Thread(target=post)
    sender.start()
    assert head_sent.wait(STOP_S)
    time.sleep(1.0)  # the service reads the request's head (no timing is asserted)
    process.send_signal(stop)
    time.sleep(0.5)
    signalled.set()
    sender.join(STOP_S)
    returncode = process.wait(STOP_S)
    output = log.read_text()
    assert answer, "the request in flight got no answer"
    assert answer[0].status_code == 200, answer[0].text
    assert answer[0].json()["scored"] == len(bodies)
    assert returncode == 0, f"fraud serve ended with {returncode} after {stop.name}:\n{output[-4000:]}"
    assert "Traceback" not in output, output[-4000:]
    # The monitor of the champion that scored the batch saved its state as the service closed.
    assert list((log.parent / "monitoring" / "state").glob("*.npz")), output[-4000:]


def test_a_service_that_cannot_start_exits_non_zero(tmp_path: Path, world: World) -> None:
    root = tmp_path / "run"
    blessed_registry(root / "registry", world)[0].close()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = serve_environment(root, world, taken.getsockname()[1])
        finished = subprocess.run(
            [FRAUD, "serve"], env=env, cwd=root, capture_output=True, text=True, timeout=READY_S, check=False
        )
    assert finished.returncode not in (0, -signal.SIGTERM), finished.stdout + finished.stderr
    assert "address already in use" in (finished.stdout + finished.stderr).lower()
