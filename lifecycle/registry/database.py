"""A small DB-API layer so the registry runs on SQLite (one file, the default) and on PostgreSQL.

The registry writes portable SQL with ``?`` placeholders; for PostgreSQL they are rewritten to the
``%s`` style of its drivers. The connection, the placeholder style and how a transaction keeps what it read
from changing under it differ between the two: a SQLite transaction takes the database's write lock when it
begins (``BEGIN IMMEDIATE``: concurrent writers wait for each other, so a decision taken on rows read inside it
holds when it commits); on PostgreSQL, the rows a decision rests on are read with
:meth:`_Statements.query_for_update`, which locks them until the transaction ends (``SELECT ... FOR UPDATE``).

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
from typing import Any, Final, Protocol
from urllib.parse import urlparse, urlsplit, urlunsplit

from lifecycle.registry.errors import RegistryConfigError, RegistryError

#: How long a SQLite writer waits for another to finish its transaction before giving up.
SQLITE_BUSY_TIMEOUT_S: Final = 30.0


def display_url(url: str) -> str:
    """The URL with its password, if any, replaced by ``***``: what may be printed or logged.

    >>> display_url("postgresql://fraud:s3cret@db.example:5432/registry")
    'postgresql://fraud:***@db.example:5432/registry'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    # The host and port as written (``parts.port`` would raise on a malformed port, which must still print).
    where = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{where}"))


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
                raise RegistryConfigError(
                    f"a SQLite registry URL looks like sqlite:///path/registry.sqlite, got {url!r}"
                )
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are begun explicitly (BEGIN IMMEDIATE, see transaction()), and a
            # writer waits up to the timeout for another to finish instead of failing at once.
            try:
                connection = sqlite3.connect(
                    path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
                )
            except sqlite3.Error as error:  # a folder, or a file SQLite may not open
                raise RegistryConfigError(
                    f"cannot open {path} as a SQLite registry database ({error}); point FRAUD_REGISTRY_URL at a "
                    "registry file or at a new path"
                ) from None
            try:
                connection.execute("PRAGMA foreign_keys = ON")
                connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
            except sqlite3.DatabaseError as error:
                connection.close()
                raise RegistryConfigError(
                    f"{path} is not a SQLite registry database ({error}); point FRAUD_REGISTRY_URL at a registry "
                    "file or at a new path"
                ) from None
            self._connection: Connection = connection
        elif self.dialect in ("postgresql", "postgres"):
            self._connection = _connect_postgresql(url)
        else:
            raise RegistryConfigError(
                f"unsupported registry URL scheme {parsed.scheme!r}; use sqlite:/// or postgresql://"
            )
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
        """Statements that commit together, or not at all; on SQLite, holding the write lock from the start."""
        with self._lock:
            cursor = self._connection.cursor()
            try:
                if self.dialect == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")
                yield _Statements(cursor, self._sql, for_update=self.dialect != "sqlite")
                if self.dialect == "sqlite":
                    cursor.execute("COMMIT")
                else:
                    self._connection.commit()
            except BaseException:
                if self.dialect == "sqlite":
                    if getattr(self._connection, "in_transaction", False):
                        cursor.execute("ROLLBACK")
                else:
                    self._connection.rollback()
                raise
            finally:
                cursor.close()

    def close(self) -> None:
        self._connection.close()


class _Statements:
    """The statements of one transaction (portable ``?`` SQL, translated for the database)."""

    def __init__(self, cursor: Any, translate: Any, *, for_update: bool) -> None:
        self._cursor = cursor
        self._translate = translate
        self._for_update = for_update

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

    def query_for_update(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows read inside the transaction and locked against other writers until it ends (PostgreSQL's
        ``FOR UPDATE``; a SQLite transaction holds the whole database's write lock already)."""
        return self.query(f"{sql} FOR UPDATE" if self._for_update else sql, params)


def _connect_postgresql(url: str) -> Connection:
    # The driver is imported by name: it is an optional dependency, needed only for a PostgreSQL registry.
    try:
        psycopg = importlib.import_module("psycopg")
    except ImportError:
        raise RegistryConfigError(
            "a PostgreSQL registry needs its driver: pip install 'psycopg[binary]' (the postgres extra)"
        ) from None
    try:
        connection: Connection = psycopg.connect(url)
    except psycopg.ProgrammingError as error:  # a malformed URL
        raise RegistryConfigError(
            f"the PostgreSQL registry URL {display_url(url)} is malformed ({_hide_password(error, url)}); "
            "check FRAUD_REGISTRY_URL"
        ) from None
    except psycopg.OperationalError as error:  # the server cannot be reached or refuses the login
        raise RegistryError(
            f"cannot connect to the PostgreSQL registry {display_url(url)} ({_hide_password(error, url)}); "
            "check FRAUD_REGISTRY_URL and that the server runs"
        ) from None
    return connection


def _hide_password(error: Exception, url: str) -> str:
    """The driver's message on one line, with the URL's password (which it may quote) replaced by ``***``."""
    message = " ".join(str(error).split())
    password = urlsplit(url).password
    return message.replace(password, "***") if password else message
