"""The ``fraud simulate`` command: write a reproducible simulated stream (transactions and labels) to Parquet."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer


def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="Parquet file for the transactions; labels go beside it.")],
    preset: Annotated[str, typer.Option(help="Settings preset: 'handbook' or 'realistic'.")] = "handbook",
    days: Annotated[int, typer.Option(min=1, help="Number of days to simulate.")] = 183,
    seed: Annotated[int, typer.Option(min=0, help="Random seed: the same seed gives the same bytes.")] = 0,
    customers: Annotated[int | None, typer.Option(min=1, help="Number of customers (preset default).")] = None,
    terminals: Annotated[int | None, typer.Option(min=1, help="Number of terminals (preset default).")] = None,
) -> None:
    """Simulate card transactions with fraud scenarios and late labels, and write them to Parquet."""
    from ingest.simulator import SimulatorConfig, SimulatorError, simulate

    overrides: dict[str, int] = {"days": days, "seed": seed}
    if customers is not None:
        overrides["n_customers"] = customers
    if terminals is not None:
        overrides["n_terminals"] = terminals
    try:
        config = SimulatorConfig.preset(preset, **overrides)
    except SimulatorError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    began = time.perf_counter()
    data = simulate(config)
    tx_path, label_path = data.write_parquet(out)
    elapsed = time.perf_counter() - began
    frame = data.transactions
    scenarios = frame["fraud_scenario"].value_counts().sort_index()
    typer.echo(
        f"{len(frame):,} transactions over {days} days ({len(frame) / elapsed:,.0f} tx/s), "
        f"{int(frame['is_fraud'].sum()):,} frauds ({frame['is_fraud'].mean():.3%})"
    )
    typer.echo(
        "per scenario: "
        + ", ".join(f"{k}: {n:,}" for k, n in zip(scenarios.index.tolist(), scenarios.tolist(), strict=True))
    )
    typer.echo(f"transactions: {tx_path}")
    typer.echo(f"labels ({len(data.labels):,}): {label_path}")
