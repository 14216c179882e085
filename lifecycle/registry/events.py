"""What happens in the registry, as typed events for whoever must keep a record of it (the audit trail).

The registry hands each event to an :class:`RegistryEventSink` after the change it describes is committed (a
refused deployment changes nothing and is handed over before the refusal is raised). A sink that raises makes
the registry call raise: an event that could not be recorded is never dropped quietly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from lifecycle.records import RECORD_CONFIG


class RegistryEventKind(StrEnum):
    REGISTERED = "registered"  # a new version entered the registry
    VERDICT = "verdict"  # the gate's verdict on a version was recorded
    DEPLOYED = "deployed"  # an alias (champion, challenger) moved to a version: a promotion
    REFUSED = "refused"  # a deployment was refused; ``reason`` says why
    ROLLED_BACK = "rolled_back"  # an alias went back to the version it pointed at before
    EVIDENCE = "evidence"  # evidence files (report, plots, data validation) were kept with a version


@dataclass(frozen=True)
class RegistryEvent:
    """One registry event: what happened to which version, who did it, when (UTC, ISO), and why."""

    __pydantic_config__ = RECORD_CONFIG

    kind: RegistryEventKind
    content_id: str
    actor: str
    at: str
    alias: str | None = None
    previous_content_id: str | None = None
    blessed: bool | None = None
    reason: str = ""
    ticket: str | None = None
    #: For ``evidence``: each file kept, as (relative name, SHA-256).
    evidence: tuple[tuple[str, str], ...] = ()


class RegistryEventSink(Protocol):
    """Receives every registry event (the audit log implements it)."""

    def record(self, event: RegistryEvent) -> None: ...
