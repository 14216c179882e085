"""Errors of the simulator."""

from __future__ import annotations

from ingest.errors import IngestError


class SimulatorError(IngestError, ValueError):
    """The simulator cannot run with the settings it was given."""


class UnknownPresetError(SimulatorError):
    """A preset name that the simulator does not know."""
