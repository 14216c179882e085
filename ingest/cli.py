"""Commands of the ``ingest`` package for the ``fraud`` command line."""

from __future__ import annotations

import typer

from ingest.simulator.command import simulate_command


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root ``fraud`` application."""
    app.command("simulate")(simulate_command)
