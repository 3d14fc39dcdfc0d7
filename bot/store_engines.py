"""The two engines under :mod:`bot.store`: a SQLite file and a PostgreSQL database.

The store builds every statement in one dialect (named parameters ``:name``, portable SQL:
``ON CONFLICT DO NOTHING``, ``IS NOT DISTINCT FROM``, ``RETURNING``) and hands it to an
engine, which runs it and returns plain rows (dicts) and a row count. What differs between
the two is kept here: how a connection is opened and what a failure to open means, how the
schema version is recorded (SQLite's ``user_version``; a one-row ``schema_version`` table on
PostgreSQL), the parameter style (psycopg's ``%(name)s``, converted in :func:`pg_sql`), and
the lock that makes a multi-statement claim atomic across processes (PostgreSQL's
transaction-scoped advisory locks; SQLite has a single writer already).
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import sqlite_utils

from bot.errors import StoreError, redact

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "Engine",
    "PostgresEngine",
    "Result",
    "SqliteEngine",
    "is_postgres_url",
    "open_engine",
    "pg_sql",
]

log = logging.getLogger("bot.store")

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_ANY_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# The oldest PostgreSQL the schema is written for (identity columns, EXECUTE FUNCTION in
# triggers, CREATE OR REPLACE TRIGGER is not used); older servers are refused at open.
MIN_POSTGRES = 120000
# pg_advisory_xact_lock keys: migrations take this one; claims take one per task.
_MIGRATION_LOCK = 7_400_117_011


def is_postgres_url(location: str) -> bool:
    return location.startswith(_POSTGRES_SCHEMES)


@dataclass
class Result:
    """What a statement gave: its rows (as dicts; none for most writes) and row count."""

    rowcount: int
    rows: list[dict[str, Any]] = field(default_factory=list)


class Engine(ABC):
    """The interface :class:`bot.store.Store` runs its SQL through."""

    name: str
    #: For messages: the file, or the URL without its password.
    where: str

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any]) -> Result: ...

    @abstractmethod
    def execute_many(self, sql: str, rows: list[dict[str, Any]]) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]: ...

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def set_schema_version(self, version: int) -> None: ...

    def lock_migrations(self) -> None:  # noqa: B027 (a single writer has nothing to lock)
        """Inside a transaction: wait until no other process is migrating."""

    def lock(self, key: str) -> None:  # noqa: B027 (a single writer has nothing to lock)
        """Inside a transaction: serialise with every other holder of ``key`` until commit."""

    @abstractmethod
    def close(self) -> None: ...


def _bad_location(message: str) -> StoreError:
    error = StoreError(message)
    # A location that can never hold a database is bad input, like a wrong config key.
    error.exit_code = 2
    return error


# -- SQLite -----------------------------------------------------------------------------------
_AUDIT_TRIGGERS = frozenset({"audit_no_update", "audit_no_delete", "audit_no_replace"})


def _guard_audit(
    action: int, arg1: str | None, arg2: str | None, _db: str | None, _inner: str | None
) -> int:
    """sqlite3 authorizer: the triggers refuse every row change to ``audit`` on any
    connection; this refuses, on the store's own connection, the schema changes that would
    remove them (dropping or altering the table, dropping its triggers, writable_schema).
    A raw connection from another program can still run DDL: SQLite has no privileges."""
    if action in (sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_ALTER_TABLE):
        # DROP TABLE passes the table name first; ALTER TABLE passes it second.
        if "audit" in (arg1, arg2):
            return sqlite3.SQLITE_DENY
    elif action == sqlite3.SQLITE_DROP_TRIGGER:
        if arg1 in _AUDIT_TRIGGERS or arg2 == "audit":
            return sqlite3.SQLITE_DENY
    elif action == sqlite3.SQLITE_DELETE:
        if arg1 == "audit":
            return sqlite3.SQLITE_DENY
    elif action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() == "writable_schema":
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _check_location(path: str) -> None:
    """Refuse, before SQLite creates anything, a path that cannot be a database file."""
    if path in ("", ":memory:"):
        return
    if _ANY_URL.match(path):
        raise _bad_location(
            f"MAINTBOT_DB {redact(path)} is a URL maintbot cannot use; set it to a SQLite "
            "file path (e.g. ./maintbot.db) or a postgresql://USER@HOST:PORT/DATABASE URL"
        )
    file = Path(path)
    if file.is_dir():
        raise _bad_location(
            f"the database path {path} is a directory; set MAINTBOT_DB to a file, e.g. "
            f"{file / 'maintbot.db'}"
        )
    parent = file.parent
    if not parent.is_dir():
        problem = "is not a directory" if parent.exists() else "does not exist"
        raise _bad_location(
            f"cannot create the database {path}: the directory {parent} {problem}; create "
            "it (mkdir -p) or set MAINTBOT_DB to a file in an existing directory"
        )


def _sqlite_open_error(path: str, exc: sqlite3.Error, busy_timeout: float) -> StoreError:
    """What a failed open means for the person running maintbot (SQLite's codes say)."""
    code = (exc.sqlite_errorcode or 0) & 0xFF  # the primary code of an extended one
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(
            f"the database {path} stayed locked by another program for more than "
            f"{busy_timeout:g} s; let it finish (a sqlite3 shell with an open transaction "
            "holds the lock) and try again, or raise MAINTBOT_DB_BUSY_TIMEOUT"
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM):
        return StoreError(
            f"the database {path} is read-only; make it, and its directory (SQLite writes "
            f"{Path(path).name}-wal and -shm beside it), writable by the user running maintbot"
        )
    if code == sqlite3.SQLITE_NOTADB:
        return _bad_location(
            f"{path} is not a SQLite database; set MAINTBOT_DB to maintbot's database, or to "
            "a new file to start an empty one"
        )
    if code == sqlite3.SQLITE_CORRUPT:
        return StoreError(
            f"the database {path} is damaged (SQLite: {exc}); move it aside and restore a "
            "backup, or recover what is readable with `sqlite3 FILE .recover`"
        )
    if code == sqlite3.SQLITE_CANTOPEN:
        return StoreError(
            f"cannot open or create the database {path}; check that it and its directory "
            "are readable and writable by the user running maintbot"
        )
    if code == sqlite3.SQLITE_FULL:
        return StoreError(f"the disk holding the database {path} is full; free some space")
    return StoreError(
        f"cannot open the database {path} (SQLite {exc.sqlite_errorname or 'error'}: {exc}); "
        "check the file and its disk"
    )


class SqliteEngine(Engine):
    """One SQLite file in WAL mode, one connection in autocommit mode (statements outside
    :meth:`transaction` commit on their own)."""

    name = "sqlite"

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.where = path
        self.busy_timeout = busy_timeout
        _check_location(path)
        try:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise _sqlite_open_error(path, exc, busy_timeout) from None
        self.conn = conn
        try:
            self.db = sqlite_utils.Database(conn)
            conn.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            if path != ":memory:":
                self.db.enable_wal()
                # With WAL, NORMAL still never corrupts the file; it only risks the last
                # transactions on power loss, and saves a disk sync on every audit row.
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise _sqlite_open_error(path, exc, busy_timeout) from None

    def opened(self) -> None:
        """After migrating: write once (the version it already has), so a read-only file is
        refused at open, not halfway through a window (SQLite opens a file it may not write
        read-only without a word, and an up-to-date schema needs no write); then guard the
        audit table's schema on this connection."""
        try:
            self.conn.execute(f"PRAGMA user_version = {self.schema_version()}")
        except sqlite3.Error as exc:
            raise _sqlite_open_error(self.where, exc, self.busy_timeout) from None
        self.conn.set_authorizer(_guard_audit)

    def open_error(self, exc: Exception) -> StoreError | None:
        if isinstance(exc, sqlite3.Error):
            return _sqlite_open_error(self.where, exc, self.busy_timeout)
        return None

    def execute(self, sql: str, params: Mapping[str, Any]) -> Result:
        cursor = self.conn.execute(sql, dict(params))
        if cursor.description is None:
            return Result(cursor.rowcount)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        # For a write with RETURNING, SQLite's rowcount is only known once it is read.
        return Result(cursor.rowcount if cursor.rowcount >= 0 else len(rows), rows)

    def execute_many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        self.conn.executemany(sql, rows)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.db.atomic():
            yield

    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self.conn.execute(f"PRAGMA user_version = {int(version)}")

    def close(self) -> None:
        self.db.close()


# -- PostgreSQL -------------------------------------------------------------------------------
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=1024)
def pg_sql(sql: str) -> str:
    """The store's ``:name`` parameters as psycopg's ``%(name)s`` (a literal ``%`` doubled).
    Statements come from the store's builders only, so a cache keyed on the text stays small."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


@dataclass(frozen=True)
class PostgresTarget:
    """A ``postgresql://`` URL, read without ever keeping its password in a message."""

    url: str
    host: str
    port: str
    dbname: str
    user: str
    password: str

    @property
    def where(self) -> str:
        """``postgresql://user@host:port/db``: what every message names, never the password."""
        user = f"{self.user}@" if self.user else ""
        return f"postgresql://{user}{self.host}:{self.port}/{self.dbname}"

    @property
    def described(self) -> str:
        return f'database "{self.dbname}" on {self.host}:{self.port}'


def _malformed(url: str, why: str) -> StoreError:
    return _bad_location(
        f"MAINTBOT_DB {redact(url)} is not a valid PostgreSQL URL ({why}); write it as "
        "postgresql://USER@HOST:PORT/DATABASE (the password in PGPASSWORD or ~/.pgpass)"
    )


def parse_postgres_url(url: str) -> PostgresTarget:
    """Read ``url`` (a StoreError, exit 2, when it is not a usable PostgreSQL URL). The
    libpq parser's own message quotes the whole URL, password included, so it is never
    shown; the checks here say what is wrong instead."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = urlsplit(url)
        port_number = parts.port  # ValueError for a port that is not a number
    except ValueError as exc:
        raise _malformed(url, str(exc).split(":")[0]) from None
    try:
        info = conninfo_to_dict(url)
    except Exception:  # psycopg.ProgrammingError: its text quotes the URL
        raise _malformed(url, "libpq cannot parse it") from None
    host = str(info.get("host") or parts.hostname or "localhost")
    port = str(info.get("port") or port_number or 5432)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise _malformed(url, f"port {port!r} is not a number from 1 to 65535")
    dbname = str(info.get("dbname") or unquote(parts.path.lstrip("/")))
    if not dbname:
        raise _malformed(url, "it names no database after the host")
    user = str(info.get("user") or parts.username or "")
    password = str(info.get("password") or parts.password or "")
    return PostgresTarget(url, host, port, dbname, user, password)


def _reason(exc: BaseException, target: PostgresTarget) -> str:
    """libpq's reason on one line, after "failed:", without the password."""
    text = " ".join(str(exc).split())
    text = text.rsplit(" failed: ", 1)[-1].removeprefix("FATAL: ").strip()
    return redact(text, target.password, target.url)


def _connect_error(exc: BaseException, target: PostgresTarget) -> StoreError:
    reason = _reason(exc, target)
    if "FATAL" in str(exc) or "authentication" in reason or "does not exist" in reason:
        # The server answered and refused: the URL (role, password, database) is wrong.
        return _bad_location(
            f"PostgreSQL refused the connection to the {target.described} as "
            f"{target.user or 'the default user'}: {reason}; fix MAINTBOT_DB (role, password "
            "or database name) or create the role and database"
        )
    return StoreError(
        f"cannot reach PostgreSQL for the {target.described}: {reason}; check that the "
        "server is running and reachable from here, then try again"
    )


class PostgresEngine(Engine):
    """One psycopg 3 connection in autocommit mode; :meth:`transaction` opens a real one
    (savepoints when nested). Timestamps stay ISO-8601 text with ``COLLATE "C"`` so they
    compare byte by byte as on SQLite, whatever the database's locale."""

    name = "postgresql"

    def __init__(self, url: str, busy_timeout: float) -> None:
        import psycopg

        self.target = parse_postgres_url(url)
        self.where = self.target.where
        self._psycopg = psycopg
        self._url = url
        self._busy_timeout = busy_timeout
        self._depth = 0  # open transactions: never reconnect inside one
        self.conn = self._connect()

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        from psycopg.rows import dict_row

        driver = self._psycopg
        try:
            conn: psycopg.Connection[dict[str, Any]] = driver.connect(
                self._url,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=max(2, round(self._busy_timeout)),
                application_name="maintbot",
                # No server-side prepared statements: a plan prepared for ``SELECT *`` fails
                # ("cached plan must not change result type") once a newer replica's
                # migration adds a column, which would stop the older replicas mid rolling
                # upgrade. Measured: see bench/bench_store_engines.py.
                prepare_threshold=None,
            )
        except driver.Error as exc:
            raise _connect_error(exc, self.target) from None
        try:
            version = conn.info.server_version
            if version < MIN_POSTGRES:
                shown = f"{version // 10000}.{version % 10000}"
                raise _bad_location(
                    f"the PostgreSQL server for the {self.target.described} is version "
                    f"{shown}; maintbot needs PostgreSQL 12 or newer"
                )
            # Lock waits (another replica mid-claim) end in an error, never a hang.
            conn.execute(f"SET lock_timeout = '{max(1, round(self._busy_timeout * 1000))}ms'")
        except BaseException:
            conn.close()
            raise
        return conn

    def _live(self) -> psycopg.Connection[dict[str, Any]]:
        """The connection, opened again if the server or the network ended it.

        Only between transactions: a statement that failed is never retried (its caller
        got the error and acted on nothing), and what a later call reads comes from the
        database as it is now, so no claim or lease is trusted from before the cut. A
        reconnection that fails raises the same clear error as a first connection."""
        if self.conn.closed and self._depth == 0:
            self.conn = self._connect()
            log.warning("reconnected to the PostgreSQL %s", self.target.described)
        return self.conn

    def opened(self) -> None:
        pass

    def open_error(self, exc: Exception) -> StoreError | None:
        if isinstance(exc, self._psycopg.Error):
            return self.failure(exc)
        return None

    def failure(self, exc: BaseException) -> StoreError:
        """A statement that failed for want of the server (lost connection, timeout)."""
        if isinstance(exc, self._psycopg.OperationalError):
            return StoreError(
                f"lost the PostgreSQL {self.target.described}: {_reason(exc, self.target)}; "
                "nothing more is done until it is back"
            )
        return StoreError(f"PostgreSQL {self.target.described}: {_reason(exc, self.target)}")

    def execute(self, sql: str, params: Mapping[str, Any]) -> Result:
        values = {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
        try:
            cursor = self._live().execute(pg_sql(sql), values)
        except self._psycopg.OperationalError as exc:
            raise self.failure(exc) from None
        rows = cursor.fetchall() if cursor.description is not None else []
        return Result(cursor.rowcount, rows)

    def execute_many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        values = [{k: int(v) if isinstance(v, bool) else v for k, v in r.items()} for r in rows]
        try:
            with self._live().cursor() as cursor:
                cursor.executemany(pg_sql(sql), values)
        except self._psycopg.OperationalError as exc:
            raise self.failure(exc) from None

    def reset_identity(self, table: str) -> None:
        """After rows went in with their own ids: new rows continue after the largest."""
        self.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)",
            {},
        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            conn = self._live()
        except self._psycopg.OperationalError as exc:
            raise self.failure(exc) from None
        self._depth += 1
        try:
            with conn.transaction():
                yield
        except self._psycopg.OperationalError as exc:
            raise self.failure(exc) from None
        finally:
            self._depth -= 1

    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    def schema_version(self) -> int:
        if self.execute("SELECT to_regclass('schema_version') AS t", {}).rows[0]["t"] is None:
            return 0
        rows = self.execute("SELECT max(version) AS v FROM schema_version", {}).rows
        return int(rows[0]["v"] or 0)

    def set_schema_version(self, version: int) -> None:
        self.execute("DELETE FROM schema_version", {})
        self.execute("INSERT INTO schema_version (version) VALUES (:v)", {"v": version})

    def lock_migrations(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _MIGRATION_LOCK})

    def lock(self, key: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))", {"key": key})

    def close(self) -> None:
        self.conn.close()


def open_engine(location: str, busy_timeout: float) -> SqliteEngine | PostgresEngine:
    """The engine ``MAINTBOT_DB`` names: a ``postgresql://`` URL or a SQLite path."""
    if is_postgres_url(location):
        return PostgresEngine(location, busy_timeout)
    return SqliteEngine(location, busy_timeout)
