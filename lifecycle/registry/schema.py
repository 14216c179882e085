"""The registry's tables, created when missing, with the columns added since a table's first release."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from lifecycle.registry.database import Database

SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS model_versions (
        content_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        artifact_path TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        registered_by TEXT NOT NULL,
        lineage TEXT NOT NULL,
        verdict TEXT,
        verdict_signature TEXT,
        blessed INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS aliases (
        alias TEXT PRIMARY KEY,
        content_id TEXT NOT NULL REFERENCES model_versions (content_id),
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS alias_history (
        alias TEXT NOT NULL,
        content_id TEXT NOT NULL,
        previous_content_id TEXT,
        changed_at TEXT NOT NULL,
        changed_by TEXT NOT NULL,
        action TEXT NOT NULL DEFAULT 'deploy',
        reason TEXT,
        ticket TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS model_evidence (
        content_id TEXT NOT NULL REFERENCES model_versions (content_id),
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (content_id, name)
    )""",
    # One row per alias, always there, that a move of the alias locks (PostgreSQL's row lock needs a row even
    # before the alias first points anywhere; see ModelRegistry._move_alias).
    "CREATE TABLE IF NOT EXISTS alias_locks (alias TEXT PRIMARY KEY)",
    "INSERT INTO alias_locks (alias) VALUES ('champion') ON CONFLICT DO NOTHING",
    "INSERT INTO alias_locks (alias) VALUES ('challenger') ON CONFLICT DO NOTHING",
)
#: Columns added to a table after its first release, created in registries made before them.
ADDED_COLUMNS: Final = {
    "alias_history": (("action", "TEXT NOT NULL DEFAULT 'deploy'"), ("reason", "TEXT"), ("ticket", "TEXT")),
}


def create_schema(db: Database) -> None:
    """Create the tables a registry needs, and add the columns that registries made before them lack."""
    for statement in SCHEMA:
        db.execute(statement)
    for table, columns in ADDED_COLUMNS.items():
        add_missing_columns(db, table, columns)


def add_missing_columns(db: Database, table: str, columns: Sequence[tuple[str, str]]) -> None:
    """Add the ``(name, declaration)`` columns that ``table`` lacks (a table made before they existed)."""
    if db.dialect == "sqlite":
        present = {str(row[1]) for row in db.query(f"PRAGMA table_info({table})")}
    else:
        rows = db.query("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])
        present = {str(row[0]) for row in rows}
    for name, declaration in columns:
        if name not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")
