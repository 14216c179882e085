"""Commands of the ``features`` package for the ``fraud`` command line."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root ``fraud`` application."""
