"""Versioned decision configurations: each change is a new draft; activating a version retires the active one.

Versions are numbered from 1 in the service database; version 0 is the built-in default that serves while no
version is active (no rules, and every threshold the answering model's own). Every draft and activation is
reported to the sink (the audit trail, or the structured log until it exists). Each service process keeps the
active version in memory and follows the database (:meth:`DecisionConfigStore.refresh`), so an activation made
through one process reaches the others within the watch interval.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import ValidationError

from ingest.validation.masking import mask_card_numbers
from lifecycle.registry.database import Database
from scoring_api.decisions.config import DecisionConfig
from scoring_api.decisions.policy import DecisionPolicy
from scoring_api.errors import DecisionConfigError, UnknownDecisionConfigError
from scoring_api.sinks import DecisionConfigAction, DecisionConfigChanged, DecisionSink, LogSink, utc_now

DEFAULT_VERSION: Final = 0

_SCHEMA: Final = """CREATE TABLE IF NOT EXISTS decision_configs (
    version INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    activated_at TEXT,
    activated_by TEXT
)"""


class ConfigStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True)
class ConfigVersion:
    """One stored version of the decision configuration."""

    version: int
    status: ConfigStatus
    config: DecisionConfig
    created_at: datetime
    created_by: str
    activated_at: datetime | None = None
    activated_by: str | None = None


def _row(row: tuple[object, ...]) -> ConfigVersion:
    version, status, document, created_at, created_by, activated_at, activated_by = row
    return ConfigVersion(
        version=int(str(version)),
        status=ConfigStatus(str(status)),
        config=DecisionConfig.model_validate_json(str(document)),
        created_at=datetime.fromisoformat(str(created_at)),
        created_by=str(created_by),
        activated_at=None if activated_at is None else datetime.fromisoformat(str(activated_at)),
        activated_by=None if activated_by is None else str(activated_by),
    )


_COLUMNS: Final = "version, status, document, created_at, created_by, activated_at, activated_by"


class DecisionConfigStore:
    """The decision configuration versions in the service database, and the active one as a policy."""

    def __init__(self, database: Database, sink: DecisionSink | None = None) -> None:
        self._db = database
        self._sink: DecisionSink = sink if sink is not None else LogSink()
        self._db.execute(_SCHEMA)
        self._active = DecisionPolicy(DEFAULT_VERSION)
        self._lock = threading.Lock()
        self.refresh()

    @property
    def active(self) -> DecisionPolicy:
        """The active configuration, compiled (version 0, the default, while none is active)."""
        return self._active

    def refresh(self) -> bool:
        """Follow the database: load the active version if it changed; True when it did."""
        rows = self._db.query(f"SELECT {_COLUMNS} FROM decision_configs WHERE status = ?", [ConfigStatus.ACTIVE])
        version = _row(rows[0]) if rows else None
        number = DEFAULT_VERSION if version is None else version.version
        with self._lock:
            if number == self._active.version:
                return False
            self._active = DecisionPolicy(number, DecisionConfig() if version is None else version.config)
        return True

    def get(self, version: int) -> ConfigVersion:
        rows = self._db.query(f"SELECT {_COLUMNS} FROM decision_configs WHERE version = ?", [version])
        if not rows:
            raise UnknownDecisionConfigError(
                f"no decision configuration version {version}; list them with GET /v1/decision-configs"
            )
        return _row(rows[0])

    def document(self, version: int) -> DecisionConfig | None:
        """The configuration of ``version`` (the built-in default for version 0), or None when none is stored."""
        if version == DEFAULT_VERSION:
            return DecisionConfig()
        try:
            return self.get(version).config
        except UnknownDecisionConfigError:
            return None

    def versions(self) -> list[ConfigVersion]:
        """Every stored version, newest first."""
        rows = self._db.query(f"SELECT {_COLUMNS} FROM decision_configs ORDER BY version DESC")
        return [_row(row) for row in rows]

    def draft(
        self, config: DecisionConfig, actor: str, *, reason: str = "", ticket: str | None = None
    ) -> ConfigVersion:
        """Store a configuration as the next version, in draft (it decides nothing until activated)."""
        now = utc_now()
        document = config.model_dump_json()
        with self._db.transaction() as tx:
            latest = tx.query("SELECT MAX(version) FROM decision_configs")[0][0]
            number = 1 if latest is None else int(latest) + 1
            tx.execute(
                "INSERT INTO decision_configs (version, status, document, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?)",
                [number, ConfigStatus.DRAFT.value, document, now.isoformat(), actor],
            )
        self._sink.decision_config_changed(
            DecisionConfigChanged(
                now,
                DecisionConfigAction.DRAFTED,
                number,
                self._active.version,
                actor,
                json.loads(document),
                *_masked(reason, ticket),
            )
        )
        return self.get(number)

    def activate(self, version: int, actor: str, *, reason: str = "", ticket: str | None = None) -> ConfigVersion:
        """Make a stored version the active one (a draft, or a retired one to go back to it)."""
        now = utc_now()
        with self._db.transaction() as tx:
            rows = tx.query("SELECT status, document FROM decision_configs WHERE version = ?", [version])
            if not rows:
                raise UnknownDecisionConfigError(f"no decision configuration version {version} to activate")
            if rows[0][0] == ConfigStatus.ACTIVE:
                raise DecisionConfigError(f"decision configuration version {version} is already active")
            try:
                DecisionConfig.model_validate_json(str(rows[0][1]))
            except ValidationError as error:
                raise DecisionConfigError(f"version {version} no longer reads as a configuration: {error}") from error
            previous = tx.query("SELECT version FROM decision_configs WHERE status = ?", [ConfigStatus.ACTIVE])
            tx.execute(
                "UPDATE decision_configs SET status = ? WHERE status = ?", [ConfigStatus.RETIRED, ConfigStatus.ACTIVE]
            )
            tx.execute(
                "UPDATE decision_configs SET status = ?, activated_at = ?, activated_by = ? WHERE version = ?",
                [ConfigStatus.ACTIVE.value, now.isoformat(), actor, version],
            )
        self.refresh()
        activated = self.get(version)
        self._sink.decision_config_changed(
            DecisionConfigChanged(
                now,
                DecisionConfigAction.ACTIVATED,
                version,
                int(previous[0][0]) if previous else None,
                actor,
                activated.config.model_dump(mode="json"),
                *_masked(reason, ticket),
            )
        )
        return activated


def _masked(reason: str, ticket: str | None) -> tuple[str, str | None]:
    """What an admin typed, with any pasted card number masked."""
    return mask_card_numbers(reason), None if ticket is None else mask_card_numbers(ticket)
