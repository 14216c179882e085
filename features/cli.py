"""Commands of the ``features`` package for the ``fraud`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

features_app = typer.Typer(help="Feature definitions and the offline feature engine.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root ``fraud`` application."""
    app.add_typer(features_app, name="features")


@features_app.command("build")
def build_command(
    data: Annotated[
        Path,
        typer.Argument(help="a Parquet file, or a folder of them (name order; features-* and *label* files skipped)"),
    ],
    out: Annotated[Path, typer.Option("--out", help="where to write the Parquet file of inputs + features")],
    mapping: Annotated[
        str | None, typer.Option("--mapping", help="column mapping of the source onto the contract, e.g. handbook")
    ] = None,
    feature_set: Annotated[str, typer.Option("--feature-set", help="default or baseline")] = "default",
    force: Annotated[bool, typer.Option("--force", help="replace the file at --out")] = False,
) -> None:
    """Compute the offline (point-in-time) features of DATA and write them beside its columns.

    DATA must pass the transaction contract (as ``fraud validate`` checks it); the output is written aside and
    renamed into place, never over DATA, and over an existing file only with --force.
    """
    import time
    from datetime import timedelta

    from features.build import build_features, feature_set_named
    from features.settings import FeaturesSettings
    from ingest.outputs import atomic_output, check_output
    from ingest.sources import read_parquet_files

    settings = FeaturesSettings()
    started = time.perf_counter()
    chosen = feature_set_named(feature_set)
    check_output(out, inputs=[data], force=force)
    frame = build_features(read_parquet_files([data]), chosen, mapping, timedelta(days=settings.label_delay_days))
    with atomic_output(out) as partial:
        frame.to_parquet(partial, index=False)
    typer.echo(
        f"{len(frame):,} transactions, {len(chosen)} features (version {chosen.version}) -> {out} "
        f"in {time.perf_counter() - started:.1f}s"
    )
