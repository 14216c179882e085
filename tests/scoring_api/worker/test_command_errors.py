"""A worker process that cannot start says why in one line, as every ``fraud`` command does, with the exit
status of the one error path (2: the settings or the registry are not usable as they are) and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def _worker(tmp_path: Path, *arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}
    env.update(
        FRAUD_ENVIRONMENT="test",
        FRAUD_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9",
        FRAUD_REGISTRY_URL=f"sqlite:///{tmp_path}/registry.sqlite",
        FRAUD_MODEL_STORE=str(tmp_path / "models"),
        FRAUD_WORKER_STATE_DIR=str(tmp_path / "state"),
        FRAUD_WORKER_MONITOR="false",
        **environment,
    )
    return subprocess.run([sys.executable, "-m", "scoring_api.worker", *arguments], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=100, check=False)  # fmt: skip


def test_a_registry_without_a_champion_is_one_line_and_status_2(tmp_path: Path) -> None:
    done = _worker(tmp_path, "--slot", "0")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert "champion" in lines[0]
    assert "Traceback" not in done.stderr


def test_invalid_settings_are_named_without_their_value(tmp_path: Path) -> None:
    done = _worker(tmp_path, FRAUD_WORKER_MAX_BATCH="many")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: invalid WorkerSettings"), done.stderr
    assert "max_batch" in done.stderr
    assert "many" not in done.stderr
    assert "Traceback" not in done.stderr
