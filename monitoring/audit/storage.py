"""Where the chain is kept: SQLite (one file, the embedded default) or PostgreSQL (production).

Both run the same portable SQL (``?`` placeholders, rewritten for PostgreSQL) on connections in autocommit mode
with explicit transactions, and differ where each database has its own best tool:

* appending takes the chain's lock for one transaction: ``BEGIN IMMEDIATE`` on SQLite (one writer at a time,
  across processes), a lock on the head table that only appenders take on PostgreSQL; records are inserted
  with ``executemany`` on SQLite and ``COPY`` on PostgreSQL;
* reading a long range streams it: SQLite cursors fetch lazily, PostgreSQL reads through a server-side cursor,
  each in a snapshot (a read transaction; ``REPEATABLE READ`` on PostgreSQL), so that a verification or an
  export sees one consistent state of the log while appends go on.
"""

from __future__ import annotations

import importlib
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlparse

from monitoring.audit.errors import AuditStoreError
from monitoring.audit.records import COLUMNS

_RECORD_COLUMNS: Final = ", ".join(COLUMNS)
_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS audit_records (
        seq {seq_type} PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT,
        subject TEXT NOT NULL,
        card_token TEXT,
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_records_recorded_at ON audit_records (recorded_at)",
    "CREATE INDEX IF NOT EXISTS audit_records_subject ON audit_records (subject)",
    """CREATE TABLE IF NOT EXISTS audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        public_key TEXT NOT NULL,
        signature TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS audit_segments (
        month TEXT PRIMARY KEY,
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        records BIGINT NOT NULL,
        first_prev_hash TEXT NOT NULL,
        last_hash TEXT NOT NULL,
        file TEXT,
        sha256 TEXT,
        archived_at TEXT NOT NULL,
        deleted_at TEXT
    )""",
)
#: The records' key: on SQLite ``INTEGER PRIMARY KEY`` makes ``seq`` the table's rowid, so an insert writes one
#: B-tree where ``BIGINT PRIMARY KEY`` wrote two (the rows, and a unique index on ``seq``): the chained append of
#: encoded records measured about 1.2 times as fast. Databases created with the earlier declaration keep it and
#: work as before (PostgreSQL has no rowid: ``BIGINT``).
_SEQ_TYPE: Final = {"sqlite": "INTEGER", "postgresql": "BIGINT"}
#: Rows fetched per round trip when streaming.
FETCH_ROWS: Final = 5_000
#: SQLite's page size for a new audit database: records are around a kilobyte, and 16 KiB pages write them
#: about twice as fast as the default 4 KiB (measured by bench/audit.py).
_SQLITE_PAGE_SIZE: Final = 16_384


class Storage:
    """One audit database, ``sqlite:///path/audit.sqlite`` or ``postgresql://user@host/db``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = urlparse(url).scheme.split("+")[0]
        if self.dialect == "sqlite":
            path = url.split("sqlite:///", 1)[1] if url.startswith("sqlite:///") else ""
            if not path or path == ":memory:":
                raise AuditStoreError(
                    f"an audit SQLite URL names a file, like sqlite:///fraud-audit/audit.sqlite; got {url!r}"
                )
            self._path = Path(path)
            self._path.parent.mkdir(parents=True, exist_ok=True)
        elif self.dialect in ("postgresql", "postgres"):
            self.dialect = "postgresql"
        else:
            raise AuditStoreError(f"unsupported audit URL scheme {self.dialect!r}; use sqlite:/// or postgresql://")
        self._connection = self.connect()
        with self.write(lock=False) as cursor:
            for statement in _SCHEMA:
                cursor.execute(statement.format(seq_type=_SEQ_TYPE[self.dialect]))

    # -- connections -----------------------------------------------------------------------------------------

    def connect(self) -> Any:
        """A new connection in autocommit mode (transactions are begun and ended explicitly)."""
        if self.dialect == "sqlite":
            try:
                connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=60)
                if not self._path.stat().st_size:
                    connection.execute(f"PRAGMA page_size = {_SQLITE_PAGE_SIZE}")
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = FULL")
            except sqlite3.DatabaseError as error:
                raise AuditStoreError(f"{self._path} is not a usable audit database: {error}") from None
            return connection
        try:
            psycopg = importlib.import_module("psycopg")
        except ImportError:
            raise AuditStoreError("a PostgreSQL audit trail needs its driver: pip install 'psycopg[binary]'") from None
        try:
            return psycopg.connect(self.url, autocommit=True)
        except psycopg.Error as error:
            raise AuditStoreError(f"cannot connect to the audit database: {error}") from None

    def sql(self, statement: str) -> str:
        return statement if self.dialect == "sqlite" else statement.replace("?", "%s")

    def close(self) -> None:
        self._connection.close()

    # -- transactions ----------------------------------------------------------------------------------------

    @contextmanager
    def write(self, *, lock: bool = True) -> Iterator[Any]:
        """A write transaction on the main connection, holding the chain's lock from its first statement
        (unless ``lock`` is False: creating the tables): commits at the end, rolls back on any error. Callers
        serialise their use of the main connection."""
        cursor = self._connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
            if self.dialect == "postgresql" and lock:
                # Appenders take the head table's lock in a mode that excludes only each other (readers go on).
                cursor.execute("LOCK TABLE audit_head IN SHARE ROW EXCLUSIVE MODE")
            yield cursor
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    def insert_records(self, cursor: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        if self.dialect == "sqlite":
            cursor.executemany(f"INSERT INTO audit_records ({_RECORD_COLUMNS}) VALUES ({', '.join('?' * 9)})", rows)
            return
        with cursor.copy(f"COPY audit_records ({_RECORD_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one query on the main connection (its own statement: autocommit)."""
        cursor = self._connection.cursor()
        try:
            cursor.execute(self.sql(statement), tuple(params))
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """A read-only view of one consistent state of the log, on its own connection (so that a long read
        never blocks appends, nor sees half of one)."""
        connection = self.connect()
        try:
            connection.execute("BEGIN" if self.dialect == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ")
            yield Snapshot(self, connection)
        finally:
            try:
                connection.execute("ROLLBACK")
            finally:
                connection.close()


class Snapshot:
    """Queries inside one read transaction."""

    def __init__(self, storage: Storage, connection: Any) -> None:
        self._storage = storage
        self._connection = connection

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(self._storage.sql(statement), tuple(params))
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def stream(self, statement: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows one batch at a time, never all of them in memory."""
        if self._storage.dialect == "postgresql":
            cursor = self._connection.cursor(name=f"audit_{uuid.uuid4().hex}")
        else:
            cursor = self._connection.cursor()
        try:
            cursor.execute(self._storage.sql(statement), tuple(params))
            while rows := cursor.fetchmany(FETCH_ROWS):
                yield from rows
        finally:
            cursor.close()
