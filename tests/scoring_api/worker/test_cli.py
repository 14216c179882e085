"""``fraud worker --workers 2``: two processes share the stream, serve Prometheus metrics on 127.0.0.1, and stop
cleanly on SIGTERM (their batch committed, the group left)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import free_tcp_ports
from tests.scoring_api.support import World
from tests.scoring_api.worker import support
from tests.scoring_api.worker.conftest import ROOT, Setup

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]


def _metrics(port: int, wait_s: float = 120.0) -> str:
    """The worker's metrics page, once its process serves it: one worker may decide the whole stream before the
    other has loaded its model, on a busy machine."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                return str(response.read().decode())
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_two_worker_processes_share_the_stream_report_metrics_and_stop_on_sigterm(
    setup: Setup, world: World, tmp_path: Path
) -> None:
    transactions = world.day
    support.produce(setup.bootstrap, setup.topics.transactions, transactions)
    (base,) = free_tcp_ports(1)
    ports = [base, base + 1]
    log = (tmp_path / "workers.log").open("wb")
    env = setup.environment(metrics_port=base, max_batch=200)
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("fraud")), "worker", "--workers", "2"], cwd=ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        decisions = support.decisions_of(
            support.read_committed(setup.bootstrap, setup.topics.scores, len(transactions), timeout_s=300)
        )
        counts = Counter(d.transaction_id for d in decisions)
        assert set(counts) == set(transactions["transaction_id"])
        assert max(counts.values()) == 1
        pages = [_metrics(port) for port in ports]
        for slot, page in enumerate(pages):
            assert f'worker="{setup.prefix}-{slot}"' in page
            assert "fraud_worker_transactions_consumed_total" in page
            assert "fraud_worker_lag{" in page or "fraud_worker_assigned_partitions" in page
        decided = sum(
            float(line.rsplit(" ", 1)[1])
            for page in pages
            for line in page.splitlines()
            if line.startswith("fraud_worker_decisions_total{")
        )
        assert decided == len(transactions)
        process.send_signal(signal.SIGTERM)
        assert process.wait(120) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()
    text = (tmp_path / "workers.log").read_text(errors="replace")
    assert text.count('"worker stopped"') == 2
    assert text.count('"stop requested"') == 2
