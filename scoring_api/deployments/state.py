"""What the deployments should be, beside the registry's champion: the canary (with its share of cards) and the
shadow, and the history of every change, in the service database.

Every service process follows this state (:meth:`DeploymentManager.refresh
<scoring_api.deployments.manager.DeploymentManager.refresh>`), so a canary started, promoted or rolled back
through one process reaches the others within the watch interval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from lifecycle.registry.database import Database
from lifecycle.registry.schema import add_missing_columns
from scoring_api.sinks import DeploymentAction, DeploymentChanged

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS deployment_slots (
        slot TEXT PRIMARY KEY,
        content_id TEXT NOT NULL,
        share REAL NOT NULL,
        started_at TEXT NOT NULL,
        started_by TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS deployment_events (
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        content_id TEXT,
        previous_content_id TEXT,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        automatic INTEGER NOT NULL,
        details TEXT NOT NULL
    )""",
)


class Slot(StrEnum):
    CANARY = "canary"
    SHADOW = "shadow"


@dataclass(frozen=True)
class SlotState:
    """A model deployed in a slot: which, for what share of cards (the canary), since when, by whom."""

    slot: Slot
    content_id: str
    share: float
    started_at: datetime
    started_by: str


class DeploymentStore:
    """The canary and shadow slots and the deployment history."""

    def __init__(self, database: Database) -> None:
        self._db = database
        for statement in _SCHEMA:
            self._db.execute(statement)
        add_missing_columns(self._db, "deployment_events", [("ticket", "TEXT")])

    def slots(self) -> dict[Slot, SlotState]:
        rows = self._db.query("SELECT slot, content_id, share, started_at, started_by FROM deployment_slots")
        return {
            Slot(str(slot)): SlotState(
                Slot(str(slot)), str(cid), float(share), datetime.fromisoformat(str(at)), str(by)
            )
            for slot, cid, share, at, by in rows
        }

    def fill(self, slot: Slot, content_id: str, share: float, at: datetime, actor: str) -> None:
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM deployment_slots WHERE slot = ?", [slot.value])
            tx.execute(
                "INSERT INTO deployment_slots (slot, content_id, share, started_at, started_by) VALUES (?, ?, ?, ?, ?)",
                [slot.value, content_id, share, at.isoformat(), actor],
            )

    def empty(self, slot: Slot, content_id: str | None = None) -> bool:
        """Empty a slot (only if it still holds ``content_id``, when given); True when it held something."""
        with self._db.transaction() as tx:
            rows = tx.query("SELECT content_id FROM deployment_slots WHERE slot = ?", [slot.value])
            if not rows or (content_id is not None and rows[0][0] != content_id):
                return False
            tx.execute("DELETE FROM deployment_slots WHERE slot = ?", [slot.value])
        return True

    def record(self, event: DeploymentChanged) -> None:
        self._db.execute(
            "INSERT INTO deployment_events (at, action, content_id, previous_content_id, actor, reason, automatic, "
            "details, ticket) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                event.at.isoformat(),
                event.action.value,
                event.content_id,
                event.previous_content_id,
                event.actor,
                event.reason,
                int(event.automatic),
                json.dumps(event.details),
                event.ticket,
            ],
        )

    def history(self, limit: int = 100) -> list[DeploymentChanged]:
        """The latest changes, newest first."""
        rows = self._db.query(
            "SELECT at, action, content_id, previous_content_id, actor, reason, automatic, details, ticket "
            "FROM deployment_events ORDER BY at DESC LIMIT ?",
            [limit],
        )
        out = []
        for at, action, cid, previous, actor, reason, automatic, details, ticket in rows:
            parsed: dict[str, Any] = json.loads(str(details))
            out.append(
                DeploymentChanged(
                    at=datetime.fromisoformat(str(at)),
                    action=DeploymentAction(str(action)),
                    content_id=None if cid is None else str(cid),
                    previous_content_id=None if previous is None else str(previous),
                    actor=str(actor),
                    reason=str(reason),
                    automatic=bool(automatic),
                    details=parsed,
                    ticket=None if ticket is None else str(ticket),
                )
            )
        return out
