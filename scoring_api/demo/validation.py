"""The validate step: the history written to the run folder, and its newer part - the batch that arrived since
the champion's training data, on which the challenger will train - checked by ``fraud validate``, the command a
data engineer runs on a new batch (great-expectations report, statistics, rejected rows, verdict). Training
validates whatever it trains on as well."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import timedelta

from scoring_api.demo.context import DemoContext, StepResult
from scoring_api.demo.service import fraud_command
from scoring_api.errors import DemoError
from scoring_api.settings import child_environment


def step_validate(context: DemoContext) -> StepResult:
    assert context.history is not None, "the simulate step runs first"
    assert context.history_labels is not None, "the simulate step runs first"
    workspace = context.workspace
    context.history.to_parquet(workspace.path("data", "history.parquet"))
    context.history_labels.to_parquet(workspace.path("data", "history.labels.parquet"))
    cut = context.history["timestamp"].min().normalize() + timedelta(days=context.options.champion_days)
    data = workspace.path("data", "newer.parquet")
    context.history.loc[context.history["timestamp"] >= cut].to_parquet(data)
    out = workspace.path("validation", "newer")
    log = workspace.path("logs", "validate.log")
    start = time.perf_counter()
    with log.open("wb") as sink:
        finished = subprocess.run(
            [*fraud_command(), "validate", str(data), "--out", str(out)],
            env=child_environment({"COLUMNS": "160"}),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    elapsed = time.perf_counter() - start
    verdict_path = out / "verdict.json"
    if finished.returncode not in (0, 1) or not verdict_path.exists():
        raise DemoError(f"fraud validate failed (status {finished.returncode}); see {log}")
    verdict = json.loads(verdict_path.read_text())
    failed = [e["name"] for e in verdict["expectations"] if not e["success"]]
    context.validation = {
        "rows": verdict["rows"],
        "rejected_rows": verdict["rejected_rows"],
        "success": verdict["success"],
        "expectations": len(verdict["expectations"]),
        "failed": failed,
        "report": str(out / "data_docs" / "index.html"),
    }
    if not verdict["success"]:
        raise DemoError(f"the history failed validation ({', '.join(failed)}); see {out / 'data_docs'} and {log}")
    note = (
        f"fraud validate: {len(verdict['expectations'])} expectations passed on {verdict['rows']:,} rows, "
        f"{verdict['rejected_rows']} rejected; report in {out / 'data_docs'}"
    )
    return StepResult("validate", int(verdict["rows"]), elapsed, note, "transactions")
