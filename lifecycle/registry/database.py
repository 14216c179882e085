"""A small DB-API layer so the registry runs on SQLite (one file, the default) and on PostgreSQL.

The registry writes portable SQL with ``?`` placeholders; for PostgreSQL they are rewritten to the
``%s`` style of its drivers. Only the connection and the placeholder style differ between the two.

One connection serves every thread of the process (a web server's worker threads, a consumer group's members):
statements and transactions take a lock, so each runs whole before the next starts.
"""

from __future__ import annotations

import importlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse, urlsplit, urlunsplit

from lifecycle.registry.errors import RegistryError


def display_url(url: str) -> str:
    """The URL with its password, if any, replaced by ``***``: what may be printed or logged.

    >>> display_url("postgresql://fraud:s3cret@db.example:5432/registry")
    'postgresql://fraud:***@db.example:5432/registry'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Connection(Protocol):
    def cursor(self) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class Database:
    """One registry database: ``sqlite:///path/to/file.sqlite`` or ``postgresql://user@host/db``.

    >>> db = Database("sqlite:///:memory:")
    >>> db.execute("CREATE TABLE t (x TEXT)"); db.execute("INSERT INTO t VALUES (?)", ["a"])
    >>> db.query("SELECT x FROM t")
    [('a',)]
    """

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = urlparse(url)
        self.dialect = parsed.scheme.split("+")[0]
        if self.dialect == "sqlite":
            path = url.split("sqlite:///", 1)[1] if url.startswith("sqlite:///") else ""
            if not path:
                raise RegistryError(f"a SQLite registry URL looks like sqlite:///path/registry.sqlite, got {url!r}")
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, check_same_thread=False)
            connection.execute("PRAGMA foreign_keys = ON")
            self._connection: Connection = connection
        elif self.dialect in ("postgresql", "postgres"):
            self._connection = _connect_postgresql(url)
        else:
            raise RegistryError(f"unsupported registry URL scheme {parsed.scheme!r}; use sqlite:/// or postgresql://")
        self._lock = threading.RLock()

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement in its own transaction."""
        with self.transaction() as statements:
            statements.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                cursor.execute(self._sql(sql), tuple(params))
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()
                self._connection.commit()

    @contextmanager
    def transaction(self) -> Iterator[_Statements]:
        """Statements that commit together, or not at all."""
        with self._lock:
            cursor = self._connection.cursor()
            try:
                yield _Statements(cursor, self._sql)
                self._connection.commit()
            except BaseException:
                self._connection.rollback()
                raise
            finally:
                cursor.close()

    def close(self) -> None:
        self._connection.close()


class _Statements:
    """The statements of one transaction (portable ``?`` SQL, translated for the database)."""

    def __init__(self, cursor: Any, translate: Any) -> None:
        self._cursor = cursor
        self._translate = translate

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._translate(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for each row of parameters (the drivers' ``executemany``)."""
        if rows:
            self._cursor.executemany(self._translate(sql), [tuple(row) for row in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows read inside the transaction, so a decision taken on them commits with what it writes."""
        self.execute(sql, params)
        return [tuple(row) for row in self._cursor.fetchall()]


def _connect_postgresql(url: str) -> Connection:
    # The driver is imported by name: it is an optional dependency, needed only for a PostgreSQL registry.
    try:
        psycopg = importlib.import_module("psycopg")
    except ImportError:
        raise RegistryError("a PostgreSQL registry needs its driver: pip install 'psycopg[binary]'") from None
    connection: Connection = psycopg.connect(url)
    return connection
