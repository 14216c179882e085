"""The audit step: what a compliance officer does, with the same commands - verify the hash-chained audit trail,
export it to a signed bundle and check the bundle on its own (every replayed transaction, streamed or sent to the
API, must be decided exactly once in it), replay a recorded decision, export the champion's evidence bundle and
check it.

Each command runs as ``fraud ...`` against the run's stores (the environment in ``env.sh``), so that each
export and verification is itself recorded in the trail, as it is when a person runs them.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

from scoring_api.demo.context import DemoContext, StepResult
from scoring_api.demo.service import fraud_command
from scoring_api.errors import DemoError
from scoring_api.settings import child_environment


def run_fraud(context: DemoContext, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``fraud ARGUMENTS`` on the run's stores; its output is appended to ``logs/commands.log``."""
    environment = child_environment({**context.workspace.environment(), "COLUMNS": "160"})
    finished = subprocess.run(
        [*fraud_command(), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    with context.workspace.path("logs", "commands.log").open("a") as log:
        log.write(f"$ fraud {' '.join(arguments)}\n{finished.stdout}{finished.stderr}[exit {finished.returncode}]\n")
    return finished


def step_audit(context: DemoContext) -> StepResult:
    workspace, figures = context.workspace, context.audit
    start = time.perf_counter()
    verified = run_fraud(context, "audit", "verify", "--json")
    if verified.returncode not in (0, 1):
        raise DemoError(f"fraud audit verify failed: {verified.stderr.strip()}")
    report = json.loads(verified.stdout)
    figures.chain_ok = verified.returncode == 0
    figures.records = int(report["records"])
    figures.chain_summary = "intact" if figures.chain_ok else f"ALTERED: {report.get('findings')}"

    bundle = workspace.root / "exports" / "audit-bundle"
    exported = run_fraud(context, "audit", "export", "--out", str(bundle))
    if exported.returncode != 0:
        raise DemoError(f"fraud audit export failed: {exported.stderr.strip()}")
    manifest = json.loads((bundle / "manifest.json").read_text())
    figures.bundle = str(bundle)
    figures.bundle_records = int(manifest["records"])
    figures.kinds = dict(manifest["kinds"])
    figures.bundle_ok = run_fraud(context, "audit", "verify-bundle", str(bundle)).returncode == 0
    answered = count_decisions(context, bundle / "records.jsonl")
    if answered:
        replayed = run_fraud(context, "audit", "replay", answered[0], "--json")
        figures.replayed_decision = answered[0]
        figures.replay_identical = replayed.returncode == 0

    evidence = workspace.root / "exports" / "champion-evidence"
    exported = run_fraud(context, "models", "evidence", "champion", "--out", str(evidence))
    if exported.returncode != 0:
        raise DemoError(f"fraud models evidence failed: {exported.stderr.strip()}")
    figures.evidence = str(evidence)
    figures.evidence_ok = run_fraud(context, "audit", "verify-bundle", str(evidence)).returncode == 0
    if not (figures.chain_ok and figures.bundle_ok and figures.evidence_ok and figures.replay_identical):
        raise DemoError(f"an audit check failed; see {workspace.root / 'logs' / 'commands.log'}")
    if figures.not_decided_once:
        raise DemoError(
            f"{len(figures.not_decided_once)} replayed transactions have no or several decisions in the audit "
            f"trail, e.g. {figures.not_decided_once[:5]}"
        )
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(figures.kinds.items()))
    sources = ", ".join(f"{count:,} from the {source}" for source, count in sorted(figures.decisions.items()))
    note = (
        f"chain intact over {figures.records:,} records ({kinds}); every replayed transaction decided once in it "
        f"({sources}); decision {figures.replayed_decision} replayed identical by fraud audit replay; bundle "
        f"{bundle} verified on its own; the champion's evidence {evidence} verified"
    )
    return StepResult("audit and evidence", figures.records, time.perf_counter() - start, note, "records")


def count_decisions(context: DemoContext, records: Path) -> list[str]:
    """Count the answering decisions of the exported trail by source, and check that every replayed transaction
    (streamed or sent to the API) has exactly one; the ids of the API's answering decisions."""
    figures = context.audit
    decided: Counter[str] = Counter()
    api_decisions: list[str] = []
    with records.open() as lines:
        for line in lines:
            record = json.loads(line)
            if record["kind"] != "decision":
                continue
            payload = json.loads(record["payload"])
            if payload.get("deployment") == "shadow":
                continue
            decided[payload["transaction_id"]] += 1
            source = str(payload.get("source", "api"))
            figures.decisions[source] = figures.decisions.get(source, 0) + 1
            if source == "api":
                api_decisions.append(str(payload["decision_id"]))
    assert context.stream_day is not None
    replayed = [*context.stream_day["transaction_id"].astype(str), *context.api.transaction_ids]
    once = [tid for tid in replayed if decided[tid] == 1]
    figures.decided_once = len(once)
    figures.not_decided_once = [tid for tid in replayed if decided[tid] != 1][:100]
    return api_decisions
