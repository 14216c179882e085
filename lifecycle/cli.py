"""``fraud train`` and the ``fraud models`` group: the model lifecycle on the command line."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``fraud train`` and the ``fraud models`` group to the root application."""
    from lifecycle.registry import cli as registry_cli
    from lifecycle.training import cli as training_cli

    training_cli.register(app)
    registry_cli.register(app)
