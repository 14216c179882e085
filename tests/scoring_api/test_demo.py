"""``fraud demo --quick --json FILE`` end to end in its own process, against the real broker: the summary it
prints and writes says the whole system ran, and the run folder it leaves holds what the summary claims."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DemoRun

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

STEPS = [
    "broker and topics",
    "simulate",
    "validate",
    "champion",
    "serve",
    "consumer group",
    "produce",
    "stream and score",
    "API (typed client)",
    "challenger",
    "shadow, canary, promote",
    "drift and alerts",
    "audit and evidence",
]


@pytest.fixture(scope="module")
def summary(demo_run: DemoRun) -> dict[str, Any]:
    assert demo_run.returncode == 0, demo_run.output[-6000:]
    assert demo_run.summary is not None
    return demo_run.summary


def test_every_step_ran_in_order_and_the_run_stopped_what_it_started(
    summary: dict[str, Any], demo_run: DemoRun
) -> None:
    assert summary["ok"] is True
    assert summary["error"] is None
    assert summary["quick"] is True
    assert [step["name"] for step in summary["steps"]] == STEPS
    assert summary["service"]["state"].startswith("stopped")
    assert summary["broker"] == "reused, left running", "the test's broker is reused and left to the test"
    # What the summary says is printed for a person too, with the commands to look at the run.
    assert "fraud demo: summary" in demo_run.output
    assert "source " in demo_run.output
    assert "fraud models list" in demo_run.output


def test_a_blessed_champion_then_a_gated_challenger_promoted_after_shadow_and_canary(summary: dict[str, Any]) -> None:
    champion, challenger, rollout = summary["champion"], summary["challenger"], summary["rollout"]
    assert champion["blessed"] is True
    assert champion["promoted"] is True
    assert champion["failed_checks"] == []
    assert challenger["blessed"] is True, "gated against the champion"
    assert challenger["content_id"] != champion["content_id"]
    assert challenger["days"] > champion["days"]
    assert rollout["shadow_scored"] > 0
    assert rollout["canary_answered"] > 0, "the canary answered for its share of cards"
    assert rollout["champion_answered_during_canary"] > 0, "the champion kept the other cards"
    assert rollout["promoted"] is True
    assert rollout["champion_after"] == challenger["content_id"] == summary["champion_now"]
    events = [e.split(":")[0] for e in rollout["deployment_events"]]
    for action in ("shadow_started", "shadow_stopped", "canary_started", "promoted"):
        assert action in events, events
    assert "(automatic)" not in " ".join(rollout["deployment_events"]), "no guardrail rolled the canary back"


def test_every_replayed_transaction_was_decided_once_by_the_stream_or_the_api(summary: dict[str, Any]) -> None:
    data, stream, api = summary["data"], summary["stream"], summary["api"]
    # The stream: every produced message consumed once; the day's transactions decided, the malformed ones
    # rejected to the dead-letter topic.
    assert stream["scored"] == data["stream_rows"] > 0
    assert stream["unaccounted"] == 0
    assert stream["duplicates"] == 0
    assert stream["rejected"] == stream["dead_lettered"] > 0
    assert stream["auc_roc"] > 0.7
    # The API: the online channel's cards, every transaction decided (none rejected), some read back by id.
    assert api["sent"] == api["decided"] == data["api_rows"] > 0
    assert api["rejected"] == 0
    assert api["read_back"] > 0
    assert sum(api["outcomes"].values()) == api["decided"]
    assert set(api["roles"]) == {"champion", "canary"}


def test_every_replayed_transaction_has_exactly_one_decision_in_the_audit_trail(summary: dict[str, Any]) -> None:
    data, audit = summary["data"], summary["audit"]
    assert audit["not_decided_once"] == []
    assert audit["decided_once"] == data["stream_rows"] + data["api_rows"]
    assert audit["decisions"]["stream"] == data["stream_rows"]
    assert audit["decisions"]["api"] == data["api_rows"]
    # A recorded decision replays identical: the score bit for bit, the outcome, rules and reasons.
    assert audit["replayed_decision"]
    assert audit["replay_identical"] is True


def test_the_injected_drift_raised_alerts_on_the_broken_feature(summary: dict[str, Any]) -> None:
    drift = summary["drift"]
    # The next day as it was differs from the reference by ordinary day-to-day variation only: no drift alert.
    assert drift["baseline_rows"] > 0
    assert [a for a in drift["baseline_alerts"] if a["kind"] == "drift"] == [], drift["baseline_alerts"]
    assert drift["drifted_rows"] > 0
    assert drift["injected_frauds"] > 0
    assert drift["alerts"], "the drift raised alerts"
    assert {a["kind"] for a in drift["alerts"]} >= {"drift"}
    assert "amount" in drift["drifted_columns"], drift["drifted_columns"]


def test_the_audit_trail_and_the_evidence_bundle_verify(summary: dict[str, Any]) -> None:
    audit = summary["audit"]
    assert audit["chain_ok"] is True
    assert audit["bundle_ok"] is True
    assert audit["evidence_ok"] is True
    assert audit["bundle_records"] > 0
    for kind in ("decision", "registration", "gate_verdict", "deployment", "alert_action", "access"):
        assert audit["kinds"].get(kind, 0) > 0, audit["kinds"]
    assert Path(audit["bundle"], "manifest.sig").is_file()
    assert Path(audit["evidence"], "manifest.sig").is_file()


def test_the_audit_trail_records_the_run_as_it_was_nothing_masked(summary: dict[str, Any]) -> None:
    # The demo's data carries card tokens only, so nothing in its trail is a card number: a masked value there is
    # an identifier or a path the card-number screen mistook for one (a run folder named "run-20261205-135515"
    # recorded its export as "run-<card number removed>").
    database = Path(summary["run_folder"], "audit", "audit.sqlite")
    with closing(sqlite3.connect(database)) as connection:
        masked = connection.execute(
            "SELECT kind, subject FROM audit_records WHERE payload || subject LIKE '%card number removed%' "
            "OR payload || subject LIKE '%******%'"  # masked by BIN and last four
        ).fetchall()
    assert masked == []


def test_the_commands_it_prints_find_what_the_run_made(summary: dict[str, Any], demo_run: DemoRun) -> None:
    """The registry, alerts and audit trail are found by ``fraud`` commands in a shell where env.sh is sourced
    (the run folder, not the current folder)."""
    folder = Path(summary["run_folder"])
    assert (folder.parent / "latest").resolve() == folder.resolve()
    fraud = str(Path(sys.executable).with_name("fraud"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}

    def run(command: str) -> str:
        finished = subprocess.run(
            ["bash", "-c", f"source {summary['env_file']} && {fraud} {command}"],
            env={**environment, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr
        return finished.stdout

    assert summary["challenger"]["content_id"][:12] in run("models list")
    listed = json.loads(run("alerts list --json"))
    assert {str(a["id"]) for a in listed} >= {a["id"] for a in summary["drift"]["alerts"]}


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_stops_the_service_it_started_and_says_so(
    stop: str, demo_run: DemoRun, tmp_path: Path
) -> None:
    """Interrupted once its service runs, the demo stops the service, writes its summary and exits 130."""
    import re
    import signal
    import time

    environment = {**demo_run.environment, "FRAUD_TOPIC_TRANSACTIONS": f"interrupted-{stop}"}
    summary_path = tmp_path / "summary.json"
    fraud = str(Path(sys.executable).with_name("fraud"))
    command = [fraud, "demo", "--quick", "--json", str(summary_path), "--run-dir", str(tmp_path / "runs")]
    process = subprocess.Popen(
        command, env=environment, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    service_pid = None
    try:
        assert process.stdout is not None
        for line in process.stdout:
            found = re.search(r"\(pid (\d+)\)", line)
            if found:
                service_pid = int(found.group(1))
                process.send_signal(getattr(signal, stop))
                break
        process.stdout.read()
        assert process.wait(timeout=300) == 130
    finally:
        if process.poll() is None:
            process.kill()
    assert service_pid is not None, "the demo reached its serve step"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(f"/proc/{service_pid}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{service_pid}").exists(), "the service the demo started was stopped"
    written = json.loads(summary_path.read_text())
    assert written["ok"] is False
    assert written["error"].startswith("interrupted")
    assert written["service"]["state"].startswith("stopped")
