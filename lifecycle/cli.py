"""``fraud train`` and the ``fraud models`` group: the model lifecycle on the command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from lifecycle.registry.events import RegistryEventSink


def register(app: typer.Typer, registry_events: Callable[[], RegistryEventSink] | None = None) -> None:
    """Add ``fraud train`` and the ``fraud models`` group to the root application; ``registry_events`` opens the
    sink their registry reports changes to (the audit trail), when the application has one."""
    from lifecycle.registry import cli as registry_cli
    from lifecycle.training import cli as training_cli

    training_cli.register(app)
    registry_cli.register(app, registry_events)
