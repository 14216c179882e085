"""``fraud validate``: validate a batch with great-expectations, or learn the reference statistics.

    fraud validate DATA [--mapping handbook] [--reference STATS.json] --out DIR
    fraud validate --learn TRAIN.parquet [--mapping handbook] --out STATS.json

Validating writes into DIR: ``data_docs/index.html`` (the great-expectations HTML report),
``statistics.json`` (the batch's statistics, same format as a reference), ``suite.json`` (the suite that was
run), ``verdict.json`` (success and every expectation's result) and ``rejected.parquet`` (rows the compiled
checker rejects, with their reason). It prints a summary and exits with status 1 when any expectation fails.
Outputs appear whole or not at all (written aside, then renamed into place), never over an input, and never
over an existing file or non-empty folder without ``--force``.

Card numbers never appear in clear in any of these files nor in the summary: rejected rows keep only the
contract's columns and show card numbers masked (BIN and last four), as do the report's samples of unexpected
values and the statistics' most frequent values and vocabularies.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ingest.validation.runner import ExpectationResult, SuiteResult


def validate_command(
    out: Annotated[Path, typer.Option("--out", help="Output folder; with --learn, the statistics file.")],
    data: Annotated[Path | None, typer.Argument(help="Batch to validate (.parquet or .csv).")] = None,
    mapping: Annotated[str | None, typer.Option(help="Column mapping of the source, e.g. handbook.")] = None,
    reference: Annotated[
        Path | None, typer.Option(help="Reference statistics (from --learn) to add the learned expectations.")
    ] = None,
    learn: Annotated[
        Path | None, typer.Option("--learn", help="Learn reference statistics from this training set instead.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace what is already at --out.")] = False,
) -> None:
    """Validate a batch of transactions against the contract (and a learned reference), or learn one."""
    if (data is None) == (learn is None):
        raise typer.BadParameter("give either a DATA file to validate or --learn TRAIN to learn statistics")
    if learn is not None:
        _learn(learn, mapping, out, force)
        return
    assert data is not None
    if not _validate(data, mapping, reference, out, force):
        raise typer.Exit(1)


def _learn(path: Path, mapping: str | None, out: Path, force: bool) -> None:
    from ingest.outputs import check_output
    from ingest.validation.batches import contract_view, read_batch
    from ingest.validation.statistics import learn_statistics

    check_output(out, inputs=[path], force=force)
    frame = contract_view(read_batch(path, mapping))
    statistics = learn_statistics(frame, source=str(path))
    statistics.save(out)
    volume = statistics.daily_volume
    days = f"{volume.days} complete days, {volume.mean:.0f} a day" if volume and volume.mean else "no complete day"
    typer.echo(f"learned statistics of {statistics.row_count} rows ({days}) -> {out}")


def _validate(path: Path, mapping: str | None, reference_path: Path | None, out: Path, force: bool) -> bool:
    from rich.console import Console
    from rich.table import Table

    from ingest.outputs import atomic_folder, check_output
    from ingest.validation.batches import contract_view, read_batch
    from ingest.validation.checker import CompiledChecker
    from ingest.validation.runner import GreatExpectationsRunner
    from ingest.validation.statistics import DatasetStatistics, learn_statistics
    from ingest.validation.suite import (
        build_suite,
        daily_volume_frame,
        daily_volume_suite,
        extra_columns,
        save_suite,
    )

    inputs = [path] if reference_path is None else [path, reference_path]
    check_output(out, inputs=inputs, force=force, folder=True)
    frame = read_batch(path, mapping)
    reference = DatasetStatistics.load(reference_path) if reference_path is not None else None
    suite = build_suite(reference, extra_columns=extra_columns(frame))
    with atomic_folder(out) as partial:
        runner = GreatExpectationsRunner(partial / "data_docs")
        results: list[SuiteResult] = [runner.validate(frame, suite, complete=False)]
        daily_suite = daily_volume_suite(reference) if reference is not None else None
        if daily_suite is not None and "timestamp" in frame.columns:
            daily = daily_volume_frame(frame)
            results.append(runner.validate(daily, daily_suite, asset="daily_volume", complete=False))
        runner.write_data_docs(*results)
        learn_statistics(contract_view(frame), source=str(path)).save(partial / "statistics.json")
        save_suite(suite, partial / "suite.json")
        verdict = CompiledChecker.from_suite(suite).check(frame)
        rejected = verdict.bad_rows()
        rejected.to_parquet(partial / "rejected.parquet")
        _write_verdict(partial, path, len(frame), len(rejected), results)
    report = out / "data_docs" / "index.html"

    table = Table(title=f"{path.name}: {len(frame)} rows")
    for heading in ("expectation", "severity", "result", "detail"):
        table.add_column(heading)
    for result in results:
        for item in result.results:
            table.add_row(item.name, item.severity, "pass" if item.success else "FAIL", _detail(item))
    console = Console()
    console.print(table)
    success = all(result.success for result in results)
    failed = sum(not item.success for result in results for item in result.results)
    console.print(
        f"{'all expectations passed' if success else f'{failed} expectation(s) failed'}; "
        f"{len(rejected)} row(s) rejected -> {out / 'rejected.parquet'}; report: {report}"
    )
    return success


def _detail(item: ExpectationResult) -> str:
    from ingest.validation.masking import mask_value

    # Card numbers are masked where they can be one, in text (and integers), before anything is formatted:
    # the digits of a float's repr (10.368000000000002) are no card number.
    if item.unexpected_count:
        return f"{item.unexpected_count} unexpected, e.g. {mask_value(list(item.sample[:3]))}"
    return "" if item.observed is None else str(mask_value(item.observed))[:80]


def _write_verdict(out: Path, path: Path, rows: int, rejected: int, results: list[SuiteResult]) -> Path:
    """The run's verdict as JSON (``verdict.json``): success, counts and every expectation's result."""
    import json

    from ingest.validation.masking import mask_value

    doc = {
        "data": path.name,
        "rows": rows,
        "rejected_rows": rejected,
        "success": all(result.success for result in results),
        "expectations": [
            {
                "asset": result.asset,
                "name": item.name,
                "severity": item.severity,
                "success": item.success,
                "unexpected_count": item.unexpected_count,
                "observed": mask_value(item.observed),
                "sample": mask_value(list(item.sample)),
            }
            for result in results
            for item in result.results
        ],
    }
    target = out / "verdict.json"
    target.write_text(json.dumps(doc, indent=2, default=str))
    return target
