"""Data validation: the compiled checker against great-expectations on the same suite and the same batches.

Both run the full suite (the contract's expectations plus those learned from the handbook's April) on
10,000-row batches of the handbook's May, mapped onto the contract, with a share of rows spoiled (negative
amounts, lower-case currencies, duplicated ids) so that both have rows to report. great-expectations runs
with result format COMPLETE (every unexpected row listed: the per-row verdicts the checker gives) and, for
reference, SUMMARY (counts and a sample only). The compiled checker's time includes building the per-row
failure tuples. The verdicts of the two are compared on every batch. Single-record checks are timed too.

    python bench/validation.py --batches 5 --json validation.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ingest.mappings import apply_mapping
from ingest.validation import CompiledChecker, build_suite, learn_statistics
from ingest.validation.batches import contract_view
from ingest.validation.runner import GreatExpectationsRunner

DEFAULT_HANDBOOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "ulb-handbook"


def spoiled_batches(frame: pd.DataFrame, size: int, count: int, bad_share: float, seed: int) -> list[pd.DataFrame]:
    """``count`` consecutive batches of ``size`` rows with ``bad_share`` of their rows spoiled."""
    rng = np.random.default_rng(seed)
    batches = []
    for index in range(count):
        batch = frame.iloc[index * size : (index + 1) * size].reset_index(drop=True).copy()
        rows = rng.choice(size, size=int(size * bad_share), replace=False)
        thirds = np.array_split(rows, 3)
        batch.loc[thirds[0], "amount"] = -batch.loc[thirds[0], "amount"] - 1.0
        batch.loc[thirds[1], "currency"] = "eur"
        batch.loc[thirds[2], "transaction_id"] = str(batch["transaction_id"].iloc[0])
        batches.append(batch)
    return batches


def timed(run: Any) -> tuple[float, float, Any]:
    """Wall and CPU seconds of ``run()`` (CPU time is steadier on a shared machine), and its result."""
    began, began_cpu = time.perf_counter(), time.process_time()
    out = run()
    return time.perf_counter() - began, time.process_time() - began_cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--handbook", type=Path, default=DEFAULT_HANDBOOK, help="folder of the handbook Parquet files")
    parser.add_argument("--rows", type=int, default=10_000, help="rows per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches timed (the median is reported)")
    parser.add_argument("--bad-share", type=float, default=0.01, help="share of spoiled rows in each batch")
    parser.add_argument("--records", type=int, default=20_000, help="single records checked one by one")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    april = apply_mapping(pd.read_parquet(args.handbook / "transactions-2018-04.parquet"), "handbook")
    may = apply_mapping(pd.read_parquet(args.handbook / "transactions-2018-05.parquet"), "handbook")
    suite = build_suite(learn_statistics(contract_view(april)))
    batches = spoiled_batches(contract_view(may), args.rows, args.batches + 1, args.bad_share, seed=0)
    runner = GreatExpectationsRunner()
    checker = CompiledChecker.from_suite(suite)

    def compiled(batch: pd.DataFrame) -> Any:
        verdict = checker.check(batch)
        _ = verdict.failures  # materialise the per-row verdicts, as great-expectations' COMPLETE result does
        return verdict

    # The first batch warms both up (imports, caches) and is not timed.
    runner.validate(batches[0], suite)
    compiled(batches[0])
    names = ("great-expectations COMPLETE", "great-expectations SUMMARY", "compiled")
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    identical = True
    for batch in batches[1:]:
        runs = {
            names[0]: lambda b=batch: runner.validate(b, suite, complete=True),
            names[1]: lambda b=batch: runner.validate(b, suite, complete=False),
            names[2]: lambda b=batch: compiled(b),
        }
        outputs = {}
        for name, run in runs.items():
            wall, used, outputs[name] = timed(run)
            times[name].append(wall)
            cpu[name].append(used)
        by_gx, verdict = outputs[names[0]], outputs[names[2]]
        rows_gx = [frozenset(f) for f in by_gx.row_failures(len(batch))]
        identical &= rows_gx == [frozenset(f) for f in verdict.failures]
        identical &= {r.name: r.success for r in by_gx.results} == {o.name: o.success for o in verdict.outcomes}

    records = [{str(k): v for k, v in r.items()} for r in contract_view(may).iloc[: args.records].to_dict("records")]
    seconds, _, verdicts = timed(lambda: [checker.check_record(record) for record in records])
    record_us = seconds / len(records) * 1e6

    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    base, cpu_base = medians["compiled"], cpu_medians["compiled"]
    print(f"suite: {len(suite.expectations)} expectations; batches of {args.rows:,} rows, {args.bad_share:.1%} spoiled")
    print(
        f"{'implementation':<30} {'wall ms/batch':>14} {'CPU ms/batch':>13} {'rows/s':>10} {'x wall':>7} {'x CPU':>7}"
    )
    results: dict[str, dict[str, float]] = {}
    for name, value in medians.items():
        results[name] = {
            "median_seconds": value,
            "median_cpu_seconds": cpu_medians[name],
            "rows_per_s": args.rows / value,
            "ratio_to_compiled": value / base,
            "cpu_ratio_to_compiled": cpu_medians[name] / cpu_base,
        }
        print(
            f"{name:<30} {value * 1e3:>14.1f} {cpu_medians[name] * 1e3:>13.1f} {args.rows / value:>10,.0f} "
            f"{value / base:>7.1f} {cpu_medians[name] / cpu_base:>7.1f}"
        )
    speedup = medians[names[0]] / base
    cpu_speedup = cpu_medians[names[0]] / cpu_base
    print(
        f"compiled checker over great-expectations (COMPLETE): {speedup:.1f}x wall, {cpu_speedup:.1f}x CPU (target 20x)"
    )
    print(f"single record (check_record): {record_us:.1f} us per record over {len(verdicts):,} records")
    print(f"per-row and batch verdicts identical on every batch: {identical}")
    if args.json:
        payload = {
            "machine": platform.platform(),
            "python": platform.python_version(),
            "rows_per_batch": args.rows,
            "batches": args.batches,
            "bad_share": args.bad_share,
            "expectations": len(suite.expectations),
            "results": results,
            "speedup_vs_complete": speedup,
            "cpu_speedup_vs_complete": cpu_speedup,
            "single_record_us": record_us,
            "verdicts_identical": identical,
        }
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
