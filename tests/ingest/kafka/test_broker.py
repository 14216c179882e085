"""The local broker's life cycle: start, idempotent start, status, refusal of busy ports, stop; and the CLI."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.kafka import BrokerConfig, BrokerError, BrokerStartError, LocalKafkaBroker
from ingest.settings import IngestSettings
from scoring_api.cli import app
from tests.conftest import free_tcp_ports

pytestmark = pytest.mark.kafka


@pytest.fixture
def broker_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BrokerConfig]:
    """Settings pointing `fraud kafka` at a private run folder and free ports; the broker is stopped after."""
    port, controller_port = free_tcp_ports(2)
    monkeypatch.setenv("FRAUD_KAFKA_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("FRAUD_KAFKA_PORT", str(port))
    monkeypatch.setenv("FRAUD_KAFKA_CONTROLLER_PORT", str(controller_port))
    config = BrokerConfig.from_settings(IngestSettings())
    yield config
    LocalKafkaBroker(config).stop()


def test_start_is_idempotent_status_reports_and_stop_stops(broker_env: BrokerConfig) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["kafka", "status"]).exit_code == 1

    started = runner.invoke(app, ["kafka", "start"])
    assert started.exit_code == 0, started.output
    assert f"bootstrap {broker_env.bootstrap_servers}" in started.output
    state = LocalKafkaBroker(broker_env).status()
    assert state is not None
    assert state.bootstrap_servers == broker_env.bootstrap_servers

    again = runner.invoke(app, ["kafka", "start"])
    assert again.exit_code == 0
    assert f"already running: pid {state.pid}" in again.output
    assert LocalKafkaBroker(broker_env).start() == state

    status = runner.invoke(app, ["kafka", "status"])
    assert status.exit_code == 0
    assert status.stdout.strip() == broker_env.bootstrap_servers

    # Another run folder on the same ports is refused with a clear message, not a second broker.
    other = LocalKafkaBroker(replace(broker_env, run_dir=broker_env.run_dir.parent / "other"))
    with pytest.raises(BrokerStartError, match=f"port {broker_env.port} .* already in use"):
        other.start()

    stopped = runner.invoke(app, ["kafka", "stop"])
    assert stopped.exit_code == 0
    assert "stopped" in stopped.output
    assert LocalKafkaBroker(broker_env).status() is None
    assert not broker_env.pid_file.exists()
    assert runner.invoke(app, ["kafka", "status"]).exit_code == 1
    assert "no Kafka broker was running" in runner.invoke(app, ["kafka", "stop"]).output


def test_missing_jars_name_the_fetch_script(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(IngestSettings().kafka_home / "server.properties.template", home)
    port, controller_port = free_tcp_ports(2)
    config = BrokerConfig(home=home, run_dir=tmp_path / "run", port=port, controller_port=controller_port)
    with pytest.raises(BrokerError, match=r"fetch-jars\.sh"):
        LocalKafkaBroker(config).start()


def test_a_broken_configuration_fails_with_the_tool_output(tmp_path: Path) -> None:
    real_home = IngestSettings().kafka_home
    home = tmp_path / "home"
    home.mkdir()
    (home / "lib").symlink_to(real_home / "lib")
    shutil.copy(real_home / "log4j2.properties", home)
    template = (real_home / "server.properties.template").read_text()
    (home / "server.properties.template").write_text(template.replace("node.id=1", "node.id=not-a-number"))
    port, controller_port = free_tcp_ports(2)
    config = BrokerConfig(home=home, run_dir=tmp_path / "run", port=port, controller_port=controller_port)
    with pytest.raises(BrokerStartError, match="Invalid value not-a-number"):
        LocalKafkaBroker(config).start()
    assert LocalKafkaBroker(config).status() is None
