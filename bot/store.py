"""The store: the SQLite schema, its migrations and every SQL statement maintbot runs.

One file (``MAINTBOT_DB``) in WAL mode so the Slack app, the window clock and the CLI can
read while one of them writes. Every state change is a compare-and-set
(``UPDATE … WHERE id = ? AND state = ?``) whose row count says whether *this* caller won;
callers act only when it did, which is what makes double clicks, duplicate deliveries and
concurrent workers act once. The audit log is append-only, enforced by triggers.

Times are stored as ISO-8601 UTC strings with an explicit ``+00:00`` offset, which sort
lexicographically in time order.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.clock import Clock, system_clock
from bot.errors import StoreError, redact
from bot.model import (
    OPEN_WINDOW_STATES,
    ApprovalRecord,
    ApprovalState,
    AuditRow,
    PlannedTask,
    PlannedTaskState,
    ResumeRequestRecord,
    ResumeRequestState,
    TaskRef,
    Window,
    WindowRecord,
    WindowState,
)

__all__ = [
    "OPEN_WINDOW_STATES",  # re-exported until the application layer imports from bot.model
    "SCHEMA_VERSION",
    "ApprovalRecord",  # re-exported until the application layer imports from bot.model
    "ApprovalState",  # re-exported until the application layer imports from bot.model
    "AuditRow",  # re-exported until the application layer imports from bot.model
    "PlannedTask",  # re-exported until the application layer imports from bot.model
    "PlannedTaskState",  # re-exported until the application layer imports from bot.model
    "ResumeRequestRecord",  # re-exported until the application layer imports from bot.model
    "ResumeRequestState",  # re-exported until the application layer imports from bot.model
    "Store",
    "WindowRecord",  # re-exported until the application layer imports from bot.model
    "WindowState",  # re-exported until the application layer imports from bot.model
]

SCHEMA_VERSION = 5


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return moment.astimezone(UTC).isoformat()


def _iso_or_none(moment: datetime | None) -> str | None:
    return _iso(moment) if moment is not None else None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def new_id(prefix: str) -> str:
    """Opaque, unguessable ids: button values carry only these, never what to act on."""
    return f"{prefix}_{secrets.token_urlsafe(9)}"


# Each migration takes the schema from version N-1 to N. Version 1 is the first release's
# schema; later ones only add, so an old database upgrades in place without losing rows.
_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE windows (
        id TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        tz TEXT NOT NULL,
        start_at TEXT NOT NULL,
        end_at TEXT NOT NULL,
        state TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        approved_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX windows_state_start ON windows(state, start_at);
    CREATE TABLE window_tasks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        window_id TEXT NOT NULL REFERENCES windows(id),
        system TEXT NOT NULL,
        kind TEXT NOT NULL,
        task_id TEXT NOT NULL,
        task_name TEXT NOT NULL,
        state TEXT NOT NULL,
        prior_paused INTEGER,
        prior_vendor_state TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        claimed_at TEXT,
        paused_at TEXT,
        resumed_at TEXT,
        UNIQUE (window_id, system, kind, task_id)
    );
    CREATE INDEX window_tasks_task ON window_tasks(system, kind, task_id, state);
    CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        window_id TEXT NOT NULL REFERENCES windows(id),
        requested_by TEXT NOT NULL,
        state TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        system TEXT,
        task_id TEXT,
        window_id TEXT,
        reason TEXT,
        outcome TEXT NOT NULL,
        error TEXT,
        request_id TEXT
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    """,
    2: """
    ALTER TABLE windows ADD COLUMN drain_lead_seconds INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE windows ADD COLUMN channel TEXT;
    ALTER TABLE windows ADD COLUMN thread_ts TEXT;
    ALTER TABLE windows ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE approvals ADD COLUMN channel TEXT;
    ALTER TABLE approvals ADD COLUMN message_ts TEXT;
    ALTER TABLE audit ADD COLUMN detail TEXT;
    CREATE TABLE alerts (
        window_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (window_id, kind)
    );
    CREATE TABLE checks (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        user_id TEXT,
        report TEXT NOT NULL
    );
    CREATE TABLE processed_events (
        event_id TEXT PRIMARY KEY,
        at TEXT NOT NULL
    );
    CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    3: """
    ALTER TABLE windows ADD COLUMN started_at TEXT;
    ALTER TABLE windows ADD COLUMN finished_at TEXT;
    ALTER TABLE window_tasks ADD COLUMN next_attempt_at TEXT;
    ALTER TABLE window_tasks ADD COLUMN give_up_at TEXT;
    ALTER TABLE window_tasks ADD COLUMN pause_marker TEXT;
    ALTER TABLE window_tasks ADD COLUMN prior_task TEXT;
    ALTER TABLE window_tasks ADD COLUMN taken_over_by TEXT;
    ALTER TABLE window_tasks ADD COLUMN note TEXT;
    CREATE INDEX windows_state_end ON windows(state, end_at);
    """,
    # 4: REPLACE and INSERT OR REPLACE delete the old row without firing DELETE triggers
    # (recursive_triggers is off by default), so an insert that reuses an id is refused
    # before conflict resolution runs. Claims gain an owner and a lease: a claim is taken
    # over only once its lease has run out, never while a live owner still holds it.
    4: """
    CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
        WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    ALTER TABLE window_tasks ADD COLUMN claimed_by TEXT;
    ALTER TABLE window_tasks ADD COLUMN lease_until TEXT;
    CREATE INDEX processed_events_at ON processed_events(at);
    """,
    # 5: requests to resume a task someone else paused (bot/actions.py). The pause they
    # saw (who, why, when) is kept so the approval can refuse if it changed meanwhile; at
    # most one request per task is pending at a time.
    5: """
    CREATE TABLE resume_requests (
        id TEXT PRIMARY KEY,
        system TEXT NOT NULL,
        kind TEXT NOT NULL,
        task_id TEXT NOT NULL,
        task_name TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        paused_by TEXT,
        pause_reason TEXT,
        paused_at TEXT,
        state TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT,
        outcome TEXT,
        outcome_text TEXT,
        expires_at TEXT NOT NULL,
        channel TEXT,
        message_ts TEXT,
        check_id TEXT,
        created_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX resume_requests_one_pending ON resume_requests(system, kind, task_id)
        WHERE state = 'pending';
    """,
}

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


def _bad_path(message: str) -> StoreError:
    error = StoreError(message)
    # A path that can never hold a database is bad input, like a wrong config key.
    error.exit_code = 2
    return error


def _check_location(path: str) -> None:
    """Refuse, before SQLite creates anything, a path that cannot be a database file."""
    if path in ("", ":memory:"):
        return
    file = Path(path)
    if file.is_dir():
        raise _bad_path(
            f"the database path {path} is a directory; set MAINTBOT_DB to a file, e.g. "
            f"{file / 'maintbot.db'}"
        )
    parent = file.parent
    if not parent.is_dir():
        problem = "is not a directory" if parent.exists() else "does not exist"
        raise _bad_path(
            f"cannot create the database {path}: the directory {parent} {problem}; create "
            "it (mkdir -p) or set MAINTBOT_DB to a file in an existing directory"
        )


def _open_error(path: str, exc: sqlite3.Error, busy_timeout: float) -> StoreError:
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
        return _bad_path(
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


class Store:
    """Owns the SQLite file. Safe to share between threads (one connection, one lock)."""

    def __init__(
        self, path: str | Path, *, clock: Clock = system_clock, busy_timeout: float = 5.0
    ) -> None:
        """Open (creating it if need be) and migrate the database at ``path``. Whatever
        stops that (no such directory, read-only, locked for more than ``busy_timeout``
        seconds, not a database, damaged) is a StoreError naming the path and what to do."""
        self.path = str(path)
        self.clock = clock
        self._lock = threading.RLock()
        _check_location(self.path)
        try:
            # One connection shared across threads, serialised by ``_lock``; autocommit
            # mode so every statement outside ``transaction()`` commits on its own.
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise _open_error(self.path, exc, busy_timeout) from None
        try:
            self.db = sqlite_utils.Database(conn)
            self.db.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
            self.db.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self.db.enable_wal()
                # With WAL, NORMAL still never corrupts the file; it only risks the last
                # transactions on power loss, and saves a disk sync on every audit row.
                self.db.execute("PRAGMA synchronous = NORMAL")
            self.migrate()
            # SQLite opens a file it may not write read-only without a word, and an
            # up-to-date schema needs no write, so write once now (the version it already
            # has): a read-only file is refused here, not halfway through a window.
            self.db.execute(f"PRAGMA user_version = {self.schema_version()}")
        except sqlite3.Error as exc:
            conn.close()
            raise _open_error(self.path, exc, busy_timeout) from None
        except BaseException:
            conn.close()
            raise
        conn.set_authorizer(_guard_audit)

    def close(self) -> None:
        self.db.close()

    # -- schema ------------------------------------------------------------------------------
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        with self._lock:
            current = self.schema_version()
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {current}, newer than this maintbot "
                    f"understands ({SCHEMA_VERSION}); upgrade maintbot"
                )
            for version in range(current + 1, target + 1):
                with self.db.atomic():
                    for statement in _split(_MIGRATIONS[version]):
                        self.db.execute(statement)
                    self.db.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock, self.db.atomic():
            yield

    def _now(self) -> str:
        return _iso(self.clock())

    def _exec(self, sql: str, values: Mapping[str, Any] | None = None) -> int:
        """Run one statement; how many rows it changed (1 = this caller won a compare-and-set)."""
        with self._lock:
            return self.db.execute(sql, dict(values or {})).rowcount

    def _rows(self, sql: str, values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db.query(sql, dict(values or {})))

    def _ids(self, sql: str, values: Mapping[str, Any]) -> list[Any]:
        """Run an ``UPDATE … RETURNING id``; the ids it changed."""
        with self._lock:
            return [row[0] for row in self.db.execute(sql, dict(values)).fetchall()]

    # -- audit -------------------------------------------------------------------------------
    def audit(
        self,
        actor: str,
        action: str,
        outcome: str,
        *,
        system: str | None = None,
        task_id: str | None = None,
        window_id: str | None = None,
        reason: str | None = None,
        error: str | None = None,
        request_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one audit row. Error text is redacted on the way in as a last line of
        defence: connectors already keep credentials out of their messages."""
        with self._lock:
            cursor = self.db.execute(
                "INSERT INTO audit (at, actor, action, system, task_id, window_id, reason, "
                "outcome, error, request_id, detail) VALUES (:at, :actor, :action, :system, "
                ":task_id, :window_id, :reason, :outcome, :error, :request_id, :detail)",
                {
                    "at": self._now(),
                    "actor": actor,
                    "action": action,
                    "system": system,
                    "task_id": task_id,
                    "window_id": window_id,
                    "reason": reason,
                    "outcome": outcome,
                    "error": redact(error) if error else None,
                    "request_id": request_id,
                    "detail": json.dumps(detail) if detail else None,
                },
            )
            return int(cursor.lastrowid or 0)

    @staticmethod
    def _audit_row(row: dict[str, Any]) -> AuditRow:
        return AuditRow(**{**row, "detail": _from_json(row["detail"])})

    def audit_rows(self, limit: int = 50, *, window_id: str | None = None) -> list[AuditRow]:
        """Newest first."""
        rows = self._rows(
            "SELECT * FROM audit WHERE (:window_id IS NULL OR window_id = :window_id) "
            "ORDER BY id DESC LIMIT :limit",
            {"window_id": window_id or None, "limit": int(limit)},
        )
        return [self._audit_row(r) for r in rows]

    def last_task_audit(
        self, system: str, task_id: str, *, actions: Sequence[str], outcomes: Sequence[str]
    ) -> AuditRow | None:
        """The newest audit row for one task among ``actions`` with one of ``outcomes``."""
        actions_in, action_values = _in("action", actions)
        outcomes_in, outcome_values = _in("outcome", outcomes)
        rows = self._rows(
            f"SELECT * FROM audit WHERE system = :system AND task_id = :task_id "
            f"AND action IN ({actions_in}) AND outcome IN ({outcomes_in}) "
            f"ORDER BY id DESC LIMIT 1",
            {"system": system, "task_id": task_id, **action_values, **outcome_values},
        )
        return self._audit_row(rows[0]) if rows else None

    def latest_task_audits(
        self, *, actions: Sequence[str], outcomes: Sequence[str]
    ) -> list[AuditRow]:
        """Per task, its newest audit row among ``actions`` with one of ``outcomes``; oldest
        first. Used to tell what an immediate pause left paused."""
        actions_in, action_values = _in("action", actions)
        outcomes_in, outcome_values = _in("outcome", outcomes)
        rows = self._rows(
            f"SELECT * FROM audit WHERE id IN (SELECT MAX(id) FROM audit "
            f"WHERE action IN ({actions_in}) AND outcome IN ({outcomes_in}) "
            f"AND system IS NOT NULL AND task_id IS NOT NULL GROUP BY system, task_id) "
            f"ORDER BY id",
            {**action_values, **outcome_values},
        )
        return [self._audit_row(r) for r in rows]

    # -- windows -----------------------------------------------------------------------------
    def create_window(
        self,
        window: Window,
        *,
        requested_by: str,
        tasks: Iterable[tuple[TaskRef, str]],
        drain_lead_seconds: int = 0,
        channel: str | None = None,
        state: WindowState = WindowState.PLANNED,
        approved_by: str | None = None,
    ) -> WindowRecord:
        """Record a window and the tasks (ref, name) to pause in it, in one transaction."""
        window_id = new_id("w")
        now = self._now()
        with self.transaction():
            self.db.execute(
                "INSERT INTO windows (id, text, tz, start_at, end_at, state, requested_by, "
                "approved_by, created_at, updated_at, drain_lead_seconds, channel, notes) "
                "VALUES (:id, :text, :tz, :start_at, :end_at, :state, :requested_by, "
                ":approved_by, :now, :now, :drain_lead_seconds, :channel, :notes)",
                {
                    "id": window_id,
                    "text": window.text,
                    "tz": window.tz,
                    "start_at": _iso(window.start),
                    "end_at": _iso(window.end),
                    "state": state.value,
                    "requested_by": requested_by,
                    "approved_by": approved_by,
                    "now": now,
                    "drain_lead_seconds": drain_lead_seconds,
                    "channel": channel,
                    "notes": json.dumps(list(window.notes)),
                },
            )
            for ref, name in tasks:
                # OR IGNORE: a task named twice is planned once (the UNIQUE constraint).
                self.db.execute(
                    "INSERT OR IGNORE INTO window_tasks (window_id, system, kind, task_id, "
                    "task_name, state) VALUES (:window_id, :system, :kind, :task_id, :name, "
                    ":state)",
                    {
                        "window_id": window_id,
                        **_ref_values(ref),
                        "name": name,
                        "state": PlannedTaskState.PLANNED.value,
                    },
                )
        return self.get_window(window_id)

    @staticmethod
    def _window(row: dict[str, Any]) -> WindowRecord:
        return WindowRecord(
            id=row["id"],
            text=row["text"],
            tz=row["tz"],
            start=datetime.fromisoformat(row["start_at"]),
            end=datetime.fromisoformat(row["end_at"]),
            state=row["state"],
            requested_by=row["requested_by"],
            approved_by=row["approved_by"],
            created_at=datetime.fromisoformat(row["created_at"]),
            updated_at=datetime.fromisoformat(row["updated_at"]),
            drain_lead_seconds=row["drain_lead_seconds"],
            channel=row["channel"],
            thread_ts=row["thread_ts"],
            notes=tuple(json.loads(row["notes"] or "[]")),
            version=row["version"],
            started_at=_when(row["started_at"]),
            finished_at=_when(row["finished_at"]),
        )

    def find_window(self, window_id: str) -> WindowRecord | None:
        rows = self._rows("SELECT * FROM windows WHERE id = :id", {"id": window_id})
        return self._window(rows[0]) if rows else None

    def get_window(self, window_id: str) -> WindowRecord:
        found = self.find_window(window_id)
        if found is None:
            raise StoreError(f"no maintenance window with id {window_id!r}")
        return found

    def list_windows(
        self, states: Sequence[WindowState] | None = None, *, limit: int = 100
    ) -> list[WindowRecord]:
        """Windows in the given states, soonest start first; every window, newest start
        first, when ``states`` is ``None`` (the audit view: what happened lately)."""
        if states:
            states_in, state_values = _in("state", [s.value for s in states])
            rows = self._rows(
                f"SELECT * FROM windows WHERE state IN ({states_in}) "
                f"ORDER BY start_at, id LIMIT :limit",
                {**state_values, "limit": limit},
            )
        else:
            rows = self._rows(
                "SELECT * FROM windows ORDER BY start_at DESC, id LIMIT :limit", {"limit": limit}
            )
        return [self._window(r) for r in rows]

    def open_windows(self) -> list[WindowRecord]:
        """Every planned, approved or active window, soonest start first, without a limit:
        the window clock must see all of them to know what is due."""
        states_in, state_values = _in("state", [s.value for s in OPEN_WINDOW_STATES])
        rows = self._rows(
            f"SELECT * FROM windows WHERE state IN ({states_in}) ORDER BY start_at, id",
            state_values,
        )
        return [self._window(r) for r in rows]

    def transition_window(
        self,
        window_id: str,
        expected: WindowState | Sequence[WindowState],
        new: WindowState,
        **fields: Any,
    ) -> bool:
        """Compare-and-set the window's state; ``True`` only for the caller that moved it.

        ``fields`` may set ``approved_by``, ``start_at``/``end_at``, ``started_at``/
        ``finished_at`` (datetimes), ``channel`` or ``thread_ts`` in the same statement.
        """
        sets, values = _assignments(fields, _WINDOW_TRANSITION_COLUMNS, "a window")
        expected_in, expected_values = _in("expected", _states(expected))
        return (
            self._exec(
                f"UPDATE windows SET state = :new, updated_at = :now, version = version + 1"
                f"{sets} WHERE id = :id AND state IN ({expected_in})",
                {
                    **values,
                    **expected_values,
                    "new": new.value,
                    "now": self._now(),
                    "id": window_id,
                },
            )
            == 1
        )

    def update_window_fields(self, window_id: str, version: int, **fields: Any) -> bool:
        """Set fields if the window is still at ``version`` (optimistic concurrency)."""
        if not fields:
            raise ValueError("cannot set [] on a window")
        sets, values = _assignments(fields, _WINDOW_EDIT_COLUMNS, "a window")
        return (
            self._exec(
                f"UPDATE windows SET updated_at = :now, version = version + 1{sets} "
                f"WHERE id = :id AND version = :version",
                {**values, "now": self._now(), "id": window_id, "version": version},
            )
            == 1
        )

    # -- tasks planned for a window ----------------------------------------------------------
    @staticmethod
    def _planned(row: dict[str, Any]) -> PlannedTask:
        return PlannedTask(
            id=row["id"],
            window_id=row["window_id"],
            system=row["system"],
            kind=row["kind"],
            task_id=row["task_id"],
            task_name=row["task_name"],
            state=row["state"],
            prior_paused=None if row["prior_paused"] is None else bool(row["prior_paused"]),
            prior_vendor_state=row["prior_vendor_state"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            claimed_at=_when(row["claimed_at"]),
            paused_at=_when(row["paused_at"]),
            resumed_at=_when(row["resumed_at"]),
            next_attempt_at=_when(row["next_attempt_at"]),
            give_up_at=_when(row["give_up_at"]),
            pause_marker=_from_json(row["pause_marker"]),
            prior_task=_from_json(row["prior_task"]),
            taken_over_by=row["taken_over_by"],
            note=row["note"],
            claimed_by=row["claimed_by"],
            lease_until=_when(row["lease_until"]),
        )

    def window_tasks(self, window_id: str) -> list[PlannedTask]:
        rows = self._rows(
            "SELECT * FROM window_tasks WHERE window_id = :window_id "
            "ORDER BY system, task_name, id",
            {"window_id": window_id},
        )
        return [self._planned(r) for r in rows]

    def get_planned_task(self, planned_id: int) -> PlannedTask:
        rows = self._rows("SELECT * FROM window_tasks WHERE id = :id", {"id": planned_id})
        if not rows:
            raise StoreError(f"no planned task {planned_id}")
        return self._planned(rows[0])

    def task_rows(self, ref: TaskRef) -> list[PlannedTask]:
        """Every window's row for ``ref``, oldest first."""
        return self.holders(ref, None)

    def holders(self, ref: TaskRef, states: Sequence[PlannedTaskState] | None) -> list[PlannedTask]:
        """Planned-task rows of any window that hold ``ref`` in one of ``states`` (in any
        state for ``None``), oldest first; used so a task paused for two overlapping windows
        is resumed only when the last one ends."""
        states_in, state_values = _in("state", [s.value for s in states or ()])
        rows = self._rows(
            f"SELECT * FROM window_tasks WHERE system = :system AND kind = :kind "
            f"AND task_id = :task_id AND (:any_state OR state IN ({states_in})) ORDER BY id",
            {**_ref_values(ref), **state_values, "any_state": states is None},
        )
        return [self._planned(r) for r in rows]

    def held_tasks(self, states: Sequence[PlannedTaskState]) -> list[PlannedTask]:
        """Planned tasks of every window in ``states``, oldest pause first."""
        states_in, state_values = _in("state", [s.value for s in states])
        rows = self._rows(
            f"SELECT * FROM window_tasks WHERE state IN ({states_in}) ORDER BY paused_at, id",
            state_values,
        )
        return [self._planned(r) for r in rows]

    def transition_task(
        self,
        planned_id: int,
        expected: PlannedTaskState | Sequence[PlannedTaskState],
        new: PlannedTaskState,
        *,
        claimed_at_was: datetime | None = None,
        owner: str | None = None,
        count_attempt: bool = False,
        **fields: Any,
    ) -> bool:
        """Compare-and-set one planned task's state (see :meth:`transition_window`), setting
        any of its lifecycle columns in the same statement; ``count_attempt=True`` increments
        ``attempts``.

        ``claimed_at_was`` makes the compare-and-set also require the claim it saw.
        ``owner`` requires the row to be claimed by that clock still: every outcome a clock
        writes after a vendor call passes it, so a clock whose lease ran out (and whose
        claim another clock took over) writes nothing. ``pause_marker`` and ``prior_task``
        are dicts (stored as JSON).
        """
        sets, values = _task_assignments(fields, count_attempt)
        expected_in, expected_values = _in("expected", _states(expected))
        return (
            self._exec(
                f"UPDATE window_tasks SET state = :new{sets} "
                f"WHERE id = :id AND state IN ({expected_in}) "
                f"AND (:claimed_at_was IS NULL OR claimed_at = :claimed_at_was) "
                f"AND (:owner IS NULL OR claimed_by = :owner)",
                {
                    **values,
                    **expected_values,
                    "new": new.value,
                    "id": planned_id,
                    "claimed_at_was": _iso_or_none(claimed_at_was),
                    "owner": owner,
                },
            )
            == 1
        )

    def claim_task(
        self,
        seen: PlannedTask,
        new: PlannedTaskState,
        *,
        owner: str | None,
        now: datetime,
        lease_until: datetime | None,
        exclusive: bool = True,
        count_attempt: bool = False,
        **fields: Any,
    ) -> bool:
        """Take ``seen`` (a row as the caller read it) into ``new`` for ``owner`` until
        ``lease_until``; ``True`` only for the one caller that took it.

        The row must still be exactly as seen (state, owner, lease), and its claim free: never
        claimed (NULL owner, as every row of a schema-3 database), released, or with a lease
        that ended by ``now``. A live clock's claim is never taken. With ``exclusive`` the
        row of no other window for the same task may be mid-transition (pausing or
        resuming): checked in the same statement, so two processes can never pause and
        resume one task at once. ``owner=None`` settles the row directly (no claim kept).
        """
        sets, values = _task_assignments(fields, count_attempt)
        return (
            self._exec(
                f"UPDATE window_tasks SET state = :new, claimed_by = :owner, "
                f"claimed_at = :now, lease_until = :lease{sets} "
                f"WHERE id = :id AND state = :seen_state AND claimed_by IS :seen_owner "
                f"AND lease_until IS :seen_lease "
                f"AND (claimed_by IS NULL OR lease_until IS NULL OR lease_until <= :now) "
                f"AND NOT (:exclusive AND EXISTS (SELECT 1 FROM window_tasks AS other "
                f"WHERE other.system = window_tasks.system AND other.kind = window_tasks.kind "
                f"AND other.task_id = window_tasks.task_id AND other.id != window_tasks.id "
                f"AND other.state IN (:pausing, :resuming)))",
                {
                    **values,
                    "new": new.value,
                    "owner": owner,
                    "now": _iso(now),
                    "lease": _iso_or_none(lease_until),
                    "id": seen.id,
                    "seen_state": seen.state.value,
                    "seen_owner": seen.claimed_by,
                    "seen_lease": _iso_or_none(seen.lease_until),
                    "exclusive": exclusive,
                    **_MID_TRANSITION,
                },
            )
            == 1
        )

    def renew_leases(self, owner: str, ids: Iterable[int], until: datetime) -> set[int]:
        """Extend ``owner``'s leases on the rows ``ids`` it still holds; returns those ids.
        A row missing from the answer was taken over (its lease had run out) or settled."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        ids_in, id_values = _in("id", wanted)
        renewed = self._ids(
            f"UPDATE window_tasks SET lease_until = :until WHERE claimed_by = :owner "
            f"AND state IN (:pausing, :resuming) AND id IN ({ids_in}) RETURNING id",
            {**id_values, "until": _iso(until), "owner": owner, **_MID_TRANSITION},
        )
        return {int(planned_id) for planned_id in renewed}

    # -- approvals ---------------------------------------------------------------------------
    @staticmethod
    def _approval(row: dict[str, Any]) -> ApprovalRecord:
        return ApprovalRecord(
            id=row["id"],
            window_id=row["window_id"],
            requested_by=row["requested_by"],
            state=row["state"],
            decided_by=row["decided_by"],
            decided_at=_when(row["decided_at"]),
            expires_at=datetime.fromisoformat(row["expires_at"]),
            channel=row["channel"],
            message_ts=row["message_ts"],
            created_at=datetime.fromisoformat(row["created_at"]),
        )

    def create_approval(
        self,
        window_id: str,
        *,
        requested_by: str,
        expires_at: datetime,
        channel: str | None = None,
    ) -> ApprovalRecord:
        approval_id = new_id("a")
        self._exec(
            "INSERT INTO approvals (id, window_id, requested_by, state, expires_at, created_at, "
            "channel) VALUES (:id, :window_id, :requested_by, :state, :expires_at, :now, "
            ":channel)",
            {
                "id": approval_id,
                "window_id": window_id,
                "requested_by": requested_by,
                "state": ApprovalState.PENDING.value,
                "expires_at": _iso(expires_at),
                "now": self._now(),
                "channel": channel,
            },
        )
        return self.get_approval(approval_id)

    def get_approval(self, approval_id: str) -> ApprovalRecord:
        rows = self._rows("SELECT * FROM approvals WHERE id = :id", {"id": approval_id})
        if not rows:
            raise StoreError(f"no approval request with id {approval_id!r}")
        return self._approval(rows[0])

    def approvals_for(self, window_id: str) -> list[ApprovalRecord]:
        rows = self._rows(
            "SELECT * FROM approvals WHERE window_id = :window_id ORDER BY created_at",
            {"window_id": window_id},
        )
        return [self._approval(r) for r in rows]

    def set_approval_message(self, approval_id: str, channel: str, message_ts: str) -> None:
        self._exec(
            "UPDATE approvals SET channel = :channel, message_ts = :message_ts WHERE id = :id",
            {"channel": channel, "message_ts": message_ts, "id": approval_id},
        )

    def decide_approval(self, approval_id: str, new: ApprovalState, decided_by: str) -> bool:
        """Single use: only a pending, unexpired approval can be decided, by one caller."""
        return self.decide_approval_at(approval_id, new, decided_by, self.clock())

    def decide_approval_at(
        self, approval_id: str, new: ApprovalState, decided_by: str, now: datetime
    ) -> bool:
        """:meth:`decide_approval` judged at ``now`` (the caller's injected clock)."""
        return (
            self._exec(
                "UPDATE approvals SET state = :new, decided_by = :decided_by, decided_at = :now "
                "WHERE id = :id AND state = 'pending' AND expires_at > :now",
                {"new": new.value, "decided_by": decided_by, "now": _iso(now), "id": approval_id},
            )
            == 1
        )

    # One statement expires pending approvals, chosen by ``:id``, ``:window_id`` and/or
    # whether their time is up at ``:now`` (a NULL parameter leaves that filter out).
    _EXPIRE_APPROVALS = (
        "UPDATE approvals SET state = 'expired', decided_at = :now WHERE state = 'pending' "
        "AND (:id IS NULL OR id = :id) AND (:window_id IS NULL OR window_id = :window_id) "
        "AND (NOT :due_only OR expires_at <= :now) RETURNING id"
    )

    def _expire(
        self,
        now: datetime,
        *,
        approval_id: str | None = None,
        window_id: str | None = None,
        due_only: bool,
    ) -> list[str]:
        values = {"now": _iso(now), "id": approval_id, "window_id": window_id, "due_only": due_only}
        return [str(expired) for expired in self._ids(self._EXPIRE_APPROVALS, values)]

    def expire_approvals(self) -> list[str]:
        """Mark pending approvals past their expiry as expired; returns their ids."""
        return self._expire(self.clock(), due_only=True)

    def expire_approval(self, approval_id: str, now: datetime) -> bool:
        """Mark one pending approval expired if its time is up at ``now``."""
        return bool(self._expire(now, approval_id=approval_id, due_only=True))

    def close_approvals(self, window_id: str, now: datetime) -> list[str]:
        """Expire every pending approval of a window (it was cancelled or rejected), so a
        late click on an old request cannot act; returns their ids."""
        return self._expire(now, window_id=window_id, due_only=False)

    # -- exactly-once helpers ----------------------------------------------------------------
    def claim_alert(self, window_id: str, kind: str) -> bool:
        """``True`` for the first caller to claim this alert of this window, ever."""
        return (
            self._exec(
                "INSERT OR IGNORE INTO alerts (window_id, kind, sent_at) "
                "VALUES (:window_id, :kind, :now)",
                {"window_id": window_id, "kind": kind, "now": self._now()},
            )
            == 1
        )

    def release_alert(self, window_id: str, kind: str) -> None:
        """Undo :meth:`claim_alert` when the notification could not be delivered, so the
        next tick tries again instead of the alert being lost."""
        self._exec(
            "DELETE FROM alerts WHERE window_id = :window_id AND kind = :kind",
            {"window_id": window_id, "kind": kind},
        )

    def alerts_sent(self, window_id: str) -> set[str]:
        rows = self._rows(
            "SELECT kind FROM alerts WHERE window_id = :window_id", {"window_id": window_id}
        )
        return {r["kind"] for r in rows}

    def mark_event_processed(self, event_id: str) -> bool:
        """``True`` the first time ``event_id`` is seen (Slack retries deliveries)."""
        return (
            self._exec(
                "INSERT OR IGNORE INTO processed_events (event_id, at) VALUES (:event_id, :now)",
                {"event_id": event_id, "now": self._now()},
            )
            == 1
        )

    def prune_processed_events(self, before: datetime) -> int:
        """Forget deliveries seen before ``before`` (how many rows went). Callers keep far
        more than Slack's 5-minute signature window, past which a replay is refused anyway."""
        return self._exec(
            "DELETE FROM processed_events WHERE at < :before", {"before": _iso(before)}
        )

    # -- stored check results (for paging a Slack report) ------------------------------------
    def save_check(self, report_json: dict[str, Any], user_id: str | None = None) -> str:
        check_id = new_id("c")
        self._exec(
            "INSERT INTO checks (id, created_at, user_id, report) "
            "VALUES (:id, :now, :user_id, :report)",
            {
                "id": check_id,
                "now": self._now(),
                "user_id": user_id,
                "report": json.dumps(report_json),
            },
        )
        return check_id

    def get_check(self, check_id: str) -> dict[str, Any]:
        rows = self._rows("SELECT report FROM checks WHERE id = :id", {"id": check_id})
        if not rows:
            raise StoreError(f"no stored check {check_id!r}; run the check again")
        result: dict[str, Any] = json.loads(rows[0]["report"])
        return result

    # -- small key/value state (e.g. the clock's last tick) ----------------------------------
    def get_kv(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM kv WHERE key = :key", {"key": key})
        return str(rows[0]["value"]) if rows else None

    def claim_kv(self, key: str, value: str) -> bool:
        """Set ``key`` only if it is unset; ``True`` for the one caller that set it."""
        return (
            self._exec(
                "INSERT OR IGNORE INTO kv (key, value) VALUES (:key, :value)",
                {"key": key, "value": value},
            )
            == 1
        )

    def release_kv(self, key: str, value: str) -> None:
        """Unset ``key`` if it still holds ``value`` (undo a :meth:`claim_kv`)."""
        self._exec(
            "DELETE FROM kv WHERE key = :key AND value = :value", {"key": key, "value": value}
        )

    def set_kv(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO kv (key, value) VALUES (:key, :value) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            {"key": key, "value": value},
        )

    # -- resume requests (bot/service/pauses.py) ----------------------------------------------
    @staticmethod
    def _resume_request(row: dict[str, Any]) -> ResumeRequestRecord:
        return ResumeRequestRecord(
            **{
                **row,
                "paused_at": _when(row["paused_at"]),
                "decided_at": _when(row["decided_at"]),
                "expires_at": datetime.fromisoformat(row["expires_at"]),
                "created_at": datetime.fromisoformat(row["created_at"]),
            }
        )

    def create_resume_request(
        self,
        ref: TaskRef,
        *,
        task_name: str,
        requested_by: str,
        paused_by: str | None,
        pause_reason: str | None,
        paused_at: datetime | None,
        now: datetime,
        expires_at: datetime,
        check_id: str | None = None,
    ) -> ResumeRequestRecord | None:
        """A new pending request, or ``None`` when one is already pending for this task
        (see :meth:`pending_resume_request`). Pending requests past their expiry are
        expired first, so a stale one never blocks a new one."""
        request_id = new_id("r")
        task = _ref_values(ref)
        moment = _iso(now)
        with self.transaction():
            self.db.execute(
                "UPDATE resume_requests SET state = 'expired', decided_at = :now "
                "WHERE system = :system AND kind = :kind AND task_id = :task_id "
                "AND state = 'pending' AND expires_at <= :now",
                {**task, "now": moment},
            )
            try:
                self.db.execute(
                    "INSERT INTO resume_requests (id, system, kind, task_id, task_name, "
                    "requested_by, paused_by, pause_reason, paused_at, state, expires_at, "
                    "check_id, created_at) VALUES (:id, :system, :kind, :task_id, "
                    ":task_name, :requested_by, :paused_by, :pause_reason, :paused_at, "
                    ":state, :expires_at, :check_id, :now)",
                    {
                        **task,
                        "id": request_id,
                        "task_name": task_name,
                        "requested_by": requested_by,
                        "paused_by": paused_by,
                        "pause_reason": pause_reason,
                        "paused_at": _iso_or_none(paused_at),
                        "state": ResumeRequestState.PENDING.value,
                        "expires_at": _iso(expires_at),
                        "check_id": check_id,
                        "now": moment,
                    },
                )
            except sqlite3.IntegrityError:
                return None  # the partial unique index: one pending request per task
        return self.get_resume_request(request_id)

    def get_resume_request(self, request_id: str) -> ResumeRequestRecord:
        rows = self._rows("SELECT * FROM resume_requests WHERE id = :id", {"id": request_id})
        if not rows:
            raise StoreError(f"no resume request with id {request_id!r}")
        return self._resume_request(rows[0])

    def pending_resume_request(self, ref: TaskRef) -> ResumeRequestRecord | None:
        rows = self._rows(
            "SELECT * FROM resume_requests WHERE system = :system AND kind = :kind "
            "AND task_id = :task_id AND state = 'pending'",
            _ref_values(ref),
        )
        return self._resume_request(rows[0]) if rows else None

    def transition_resume_request(
        self,
        request_id: str,
        expected: ResumeRequestState,
        new: ResumeRequestState,
        *,
        unexpired_at: datetime | None = None,
        expired_at: datetime | None = None,
        outcome_unset: bool = False,
        **fields: Any,
    ) -> bool:
        """Compare-and-set a resume request's state (``True`` only for the caller that
        moved it), setting columns in the same statement. ``unexpired_at``/``expired_at``
        also require the request to be (or no longer be) valid at that moment;
        ``outcome_unset`` requires no outcome written yet, so it is written once."""
        if fields.get("outcome_text"):
            fields["outcome_text"] = redact(str(fields["outcome_text"]))
        sets, values = _assignments(fields, _RESUME_REQUEST_COLUMNS, "a resume request")
        return (
            self._exec(
                f"UPDATE resume_requests SET state = :new{sets} "
                f"WHERE id = :id AND state = :expected "
                f"AND (:unexpired_at IS NULL OR expires_at > :unexpired_at) "
                f"AND (:expired_at IS NULL OR expires_at <= :expired_at) "
                f"AND (NOT :outcome_unset OR outcome IS NULL)",
                {
                    **values,
                    "new": new.value,
                    "id": request_id,
                    "expected": expected.value,
                    "unexpired_at": _iso_or_none(unexpired_at),
                    "expired_at": _iso_or_none(expired_at),
                    "outcome_unset": outcome_unset,
                },
            )
            == 1
        )


# The columns each compare-and-set may write besides the state (what the callers pass as
# keyword arguments); anything else is a programming error, refused before SQL is built.
_WINDOW_TRANSITION_COLUMNS = frozenset(
    {"approved_by", "start_at", "end_at", "channel", "thread_ts", "started_at", "finished_at"}
)
_WINDOW_EDIT_COLUMNS = frozenset({"start_at", "end_at", "channel", "thread_ts"})
_TASK_COLUMNS = frozenset(
    {
        "prior_paused",
        "prior_vendor_state",
        "last_error",
        "claimed_at",
        "paused_at",
        "resumed_at",
        "next_attempt_at",
        "give_up_at",
        "pause_marker",
        "prior_task",
        "taken_over_by",
        "note",
        "attempts",
        "claimed_by",
        "lease_until",
    }
)
_RESUME_REQUEST_COLUMNS = frozenset(
    {"decided_by", "decided_at", "outcome", "outcome_text", "channel", "message_ts"}
)
# The states in which a planned task has a vendor call in flight, as parameters.
_MID_TRANSITION = {
    "pausing": PlannedTaskState.PAUSING.value,
    "resuming": PlannedTaskState.RESUMING.value,
}


def _assignments(
    fields: Mapping[str, Any], columns: frozenset[str], what: str
) -> tuple[str, dict[str, Any]]:
    """``, col = :set_col, …`` for the ``fields`` to write (datetimes as ISO strings), and
    their parameters; the prefix keeps them apart from the statement's own parameters."""
    unknown = set(fields) - columns
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} on {what}")
    sets = "".join(f", {name} = :set_{name}" for name in fields)
    values = {
        f"set_{name}": _iso(value) if isinstance(value, datetime) else value
        for name, value in fields.items()
    }
    return sets, values


def _task_assignments(fields: Mapping[str, Any], count_attempt: bool) -> tuple[str, dict[str, Any]]:
    """:func:`_assignments` for a planned task: dicts as JSON, errors redacted, and
    ``attempts = attempts + 1`` when the call counts as an attempt."""
    stored = {name: _task_value(name, value) for name, value in fields.items()}
    sets, values = _assignments(stored, _TASK_COLUMNS, "a planned task")
    return (", attempts = attempts + 1" if count_attempt else "") + sets, values


def _task_value(name: str, value: Any) -> Any:
    if name in ("pause_marker", "prior_task") and value is not None:
        return json.dumps(value, default=str)
    if name == "last_error" and value:
        return redact(str(value))
    return value


def _in(name: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """Named parameters for an ``IN (…)`` list: ``(":name0, :name1", {...})``. An empty list
    gives ``NULL``, which matches nothing rather than being a syntax error."""
    items = {f"{name}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{key}" for key in items) or "NULL", items


def _states(expected: StrEnum | Sequence[StrEnum]) -> list[str]:
    return [expected.value] if isinstance(expected, StrEnum) else [s.value for s in expected]


def _ref_values(ref: TaskRef) -> dict[str, str]:
    return {"system": ref.system, "kind": ref.kind.value, "task_id": ref.id}


def _from_json(value: str | None) -> Any:
    return json.loads(value) if value else None


def _split(script: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer: list[str] = []
    in_trigger = False
    for line in script.strip().splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        buffer.append(line)
        upper = stripped.upper()
        if upper.startswith("CREATE TRIGGER"):
            in_trigger = True
        if (in_trigger and upper.endswith("END;")) or (not in_trigger and stripped.endswith(";")):
            statements.append("\n".join(buffer))
            buffer = []
            in_trigger = False
    if buffer:
        statements.append("\n".join(buffer))
    return statements
