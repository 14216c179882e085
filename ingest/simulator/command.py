"""The ``fraud simulate`` command: write a reproducible simulated stream (transactions and labels) to Parquet."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import pandas as pd

    from ingest.simulator import SimulatorConfig


def simulate_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Parquet file for the transactions; labels go beside it.")
    ] = None,
    preset: Annotated[str, typer.Option(help="Settings preset: 'handbook' or 'realistic'.")] = "handbook",
    days: Annotated[int, typer.Option(min=1, help="Number of days to simulate.")] = 183,
    seed: Annotated[int, typer.Option(min=0, help="Random seed: the same seed gives the same bytes.")] = 0,
    customers: Annotated[int | None, typer.Option(min=1, help="Number of customers (preset default).")] = None,
    terminals: Annotated[int | None, typer.Option(min=1, help="Number of terminals (preset default).")] = None,
    kafka: Annotated[bool, typer.Option("--kafka", help="Produce the transactions to Kafka, in time order.")] = False,
    rate: Annotated[float, typer.Option(min=0, help="With --kafka: transactions per second; 0 = unthrottled.")] = 0,
    bootstrap: Annotated[str | None, typer.Option(help="With --kafka: bootstrap servers (from settings).")] = None,
    topic: Annotated[str | None, typer.Option(help="With --kafka: topic (settings' transactions topic).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the files at --out and its labels file.")] = False,
    labels_topic: Annotated[
        str | None, typer.Option(help="With --kafka: the labels' topic (settings' labels topic).")
    ] = None,
    labels: Annotated[
        bool, typer.Option("--labels/--no-labels", help="With --kafka: also produce the labels, as they arrive.")
    ] = True,
) -> None:
    """Simulate card transactions with fraud scenarios and late labels; write them to Parquet (--out), produce
    them to Kafka (--kafka), or both.

    The size and the output files are checked before simulating: a run too large for this machine's memory,
    or an --out that cannot be written (or that exists, without --force), stops at once. With --kafka the labels
    go to their own topic too, each before the first transaction at or after its report time, as a bank's back
    office would report them while the stream goes on.
    """
    from ingest.outputs import check_output
    from ingest.simulator import SimulatorConfig, labels_path, simulate

    if out is None and not kafka:
        typer.echo("say where the transactions go: --out FILE.parquet, --kafka, or both", err=True)
        raise typer.Exit(2)

    overrides: dict[str, int] = {"days": days, "seed": seed}
    if customers is not None:
        overrides["n_customers"] = customers
    if terminals is not None:
        overrides["n_terminals"] = terminals
    config = SimulatorConfig.preset(preset, **overrides)
    _refuse_too_large(config)
    if out is not None:
        check_output(out, force=force)
        check_output(labels_path(out), force=force)
    began = time.perf_counter()
    data = simulate(config)
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
    if out is not None:
        tx_path, label_path = data.write_parquet(out)
        typer.echo(f"transactions: {tx_path}")
        typer.echo(f"labels ({len(data.labels):,}): {label_path}")
    if kafka:
        label_frame = data.labels if labels else None
        _produce(data.transactions, label_frame, rate=rate or None, bootstrap=bootstrap, topics=(topic, labels_topic))


def _refuse_too_large(config: SimulatorConfig) -> None:
    from ingest.simulator import SimulatorError
    from ingest.simulator.simulation import estimated_memory, expected_transactions

    needed, available = estimated_memory(config), _available_memory()
    if available is not None and needed > available:
        raise SimulatorError(
            f"{config.days:,} days of {config.n_customers:,} customers and {config.n_terminals:,} terminals is about "
            f"{expected_transactions(config):,} transactions, needing about {needed / 1e9:,.1f} GB of memory where "
            f"{available / 1e9:,.1f} GB are available: simulate fewer days, customers or terminals"
        )


def _available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux's MemAvailable), None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _produce(
    frame: pd.DataFrame,
    labels: pd.DataFrame | None,
    *,
    rate: float | None,
    bootstrap: str | None,
    topics: tuple[str | None, str | None],
) -> None:
    from ingest.kafka import TransactionProducer, ensure_topics, system_topics
    from ingest.settings import IngestSettings
    from ingest.simulator.stream import send_at_rate

    settings = IngestSettings()
    servers = bootstrap or settings.kafka_bootstrap_servers
    target = topics[0] or settings.topic_transactions
    label_target = topics[1] or settings.topic_labels
    specs = system_topics(settings)
    known = {t.name for t in specs}
    # Topics named on the command line are made like the settings' ones (labels partitioned like transactions).
    specs += [replace(specs[0], name=name) for name in {target, label_target} - known]
    ensure_topics(servers, specs)
    with TransactionProducer(servers, target) as producer, TransactionProducer(servers, label_target) as feed:
        report = send_at_rate(
            frame,
            producer.send_frame,
            rate,
            labels=labels,
            send_labels=None if labels is None else feed.send_labels,
        )
        producer.flush()
        feed.flush()
    typer.echo(f"produced {report.sent:,} transactions to {target!r} at {servers} ({report.rate:,.0f} tx/s)")
    if labels is not None:
        typer.echo(f"produced {report.labels_sent:,} labels to {label_target!r}, each before the stream reached it")
