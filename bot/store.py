"""The store: the schema, its migrations and every SQL statement maintbot runs.

``MAINTBOT_DB`` is a SQLite file (in WAL mode so the Slack app, the window clock and the CLI
can read while one of them writes) or a PostgreSQL database (a ``postgresql://`` URL, shared
by any number of replicas); :mod:`bot.store_engines` runs the statements built here on
either. Every state change is a compare-and-set (``UPDATE … WHERE id = :id AND state =
:expected``) whose row count says whether *this* caller won; callers act only when it did,
which is what makes double clicks, duplicate deliveries and concurrent workers act once. The
audit log is append-only, enforced by the database (triggers on both engines, privileges too
on PostgreSQL).

Times are stored as ISO-8601 UTC strings with an explicit ``+00:00`` offset, which sort
lexicographically in time order.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.clock import Clock, system_clock
from bot.errors import StoreError, redact
from bot.model import (
    OPEN_SERIES_STATES,
    OPEN_WINDOW_STATES,
    ApprovalRecord,
    ApprovalState,
    AuditRow,
    PlannedTask,
    PlannedTaskState,
    PredictedStart,
    ResumeRequestRecord,
    ResumeRequestState,
    SeriesRecord,
    SeriesState,
    TaskRef,
    Window,
    WindowRecord,
    WindowState,
)
from bot.store_engines import PostgresEngine, Result, SqliteEngine, open_engine

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "Store",
    "peek",
]

SCHEMA_VERSION = 12
# How much run history the store keeps for a task (see Store.record_run_starts): enough for a
# weekly pattern's three runs with room for missed weeks, and a 5-minute one's latest hours.
RUN_HISTORY_KEPT = timedelta(days=35)
RUN_HISTORY_PER_TASK = 200
# How long a task's longest run length is remembered unseen (see Store.record_run_lengths):
# a task that stopped running long is forgotten after this, one that still does is not.
RUN_LENGTHS_KEPT = timedelta(days=30)
# Longer lengths are kept as this: beyond the longest configurable look-back they change
# nothing, and the column stays an ordinary integer on both engines.
RUN_LENGTH_CAP = timedelta(days=7)


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
    # 6: where a window's end stood when an approver last agreed to it (a requester may
    # extend only so far past it), the window's one thread in the alert channel, and why a
    # request was rejected.
    6: """
    ALTER TABLE windows ADD COLUMN approved_end TEXT;
    ALTER TABLE windows ADD COLUMN alert_channel TEXT;
    ALTER TABLE windows ADD COLUMN alert_ts TEXT;
    ALTER TABLE approvals ADD COLUMN reason TEXT;
    """,
    # The plan dialog's title and reason (or change number) for a window.
    7: """
    ALTER TABLE windows ADD COLUMN title TEXT;
    ALTER TABLE windows ADD COLUMN reason TEXT;
    """,
    # One window clock among the replicas: who leads, until when (renewed on every tick).
    8: """
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        since TEXT NOT NULL
    );
    """,
    # 9: recurring maintenance. A series holds its RFC 5545 rule and what each occurrence
    # pauses; each occurrence, once planned, is an ordinary window that names its series and
    # its nominal start. The unique index makes planning an occurrence idempotent: two clocks
    # planning the same one at once (a leadership change) record it once.
    9: """
    CREATE TABLE series (
        id TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        title TEXT,
        tz TEXT NOT NULL,
        rrule TEXT NOT NULL,
        dtstart TEXT NOT NULL,
        until_at TEXT,
        count INTEGER,
        duration_seconds INTEGER NOT NULL,
        occurrence_text TEXT NOT NULL,
        state TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        approved_by TEXT,
        tasks TEXT NOT NULL,
        plan_ahead_seconds INTEGER NOT NULL,
        skipped TEXT NOT NULL DEFAULT '[]',
        channel TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX series_state ON series(state);
    ALTER TABLE windows ADD COLUMN series_id TEXT;
    ALTER TABLE windows ADD COLUMN occurrence TEXT;
    CREATE UNIQUE INDEX windows_series_occurrence ON windows(series_id, occurrence);
    """,
    # 10: run starts seen on schedulers that keep no run history of their own (BMC gives
    # one last_exec_ts per ETL), so predicted run times improve with every check. Keyed by
    # the start itself: seeing the same last_exec_ts at every check adds nothing.
    10: """
    CREATE TABLE run_starts (
        system TEXT NOT NULL,
        kind TEXT NOT NULL,
        task_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (system, kind, task_id, started_at)
    );
    CREATE INDEX run_starts_started ON run_starts(started_at);
    """,
    # 11: the longest run length seen per task, so the check looks back before a window only
    # as far as a run that may still be running when it opens can have started.
    11: """
    CREATE TABLE run_lengths (
        system TEXT NOT NULL,
        kind TEXT NOT NULL,
        task_id TEXT NOT NULL,
        length_seconds INTEGER NOT NULL,
        observed_at TEXT NOT NULL,
        PRIMARY KEY (system, kind, task_id)
    );
    CREATE INDEX run_lengths_observed ON run_lengths(observed_at);
    """,
    # 12: the run times a window's check predicted for each planned task (JSON: at, basis),
    # so the end of the window can say whether they held, and what it found.
    12: """
    ALTER TABLE window_tasks ADD COLUMN predicted TEXT;
    ALTER TABLE window_tasks ADD COLUMN prediction_outcome TEXT;
    """,
}

# PostgreSQL runs the same scripts, read by :func:`_postgres_statements`: SQLite's
# AUTOINCREMENT keys become identity columns, text is compared byte by byte (COLLATE "C", as
# SQLite's BINARY) so ISO times sort in time order whatever the database's locale, and
# SQLite's triggers are replaced by these (a trigger that raises, and privileges).
_POSTGRES_ONLY: dict[int, list[str]] = {
    1: [
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        """CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit log is append-only';
        END $$""",
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
        " FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
        " FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
        "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
        # The owner (maintbot's role) keeps INSERT and SELECT only; a superuser bypasses
        # privileges but not the triggers.
        "REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM PUBLIC",
        "REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM CURRENT_USER",
    ],
}


def _postgres_statements(version: int) -> list[str]:
    """Migration ``version`` for PostgreSQL: the shared script in PostgreSQL's types, then
    what PostgreSQL does its own way."""
    shared = [
        re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', statement).replace(
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        )
        for statement in _split(_MIGRATIONS[version])
        # SQLite's INSERT OR REPLACE guard has no PostgreSQL counterpart to write: there a
        # duplicate id is a primary-key violation and ON CONFLICT DO UPDATE fires the
        # UPDATE trigger.
        if not statement.lstrip().upper().startswith("CREATE TRIGGER")
    ]
    return [*shared, *_POSTGRES_ONLY.get(version, [])]


class Store:
    """Owns the database: a SQLite file or a PostgreSQL database (see
    :mod:`bot.store_engines`). Safe to share between threads (one connection, one lock)."""

    def __init__(
        self, path: str | Path, *, clock: Clock = system_clock, busy_timeout: float = 5.0
    ) -> None:
        """Open (creating it if need be) and migrate the database ``path`` names: a SQLite
        file, or a ``postgresql://`` URL. Whatever stops that (no such directory, read-only,
        locked for more than ``busy_timeout`` seconds, not a database, damaged; a URL that
        is malformed, unreachable or refused; a schema newer than this code) is a StoreError
        naming the file or the host and database (never a password) and what to do."""
        self.path = str(path)
        self.clock = clock
        self._lock = threading.RLock()
        self._engine = open_engine(self.path, busy_timeout)
        #: Where the store is, for messages: the file, or the URL without its password.
        self.where = self._engine.where
        try:
            self.migrate()
            self._engine.opened()
        except BaseException as exc:
            self._engine.close()
            error = self._engine.open_error(exc) if isinstance(exc, Exception) else None
            if error is not None:
                raise error from None
            raise

    @property
    def engine(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.name

    @property
    def db(self) -> sqlite_utils.Database:
        """The sqlite-utils handle (SQLite only): for tests and diagnostics."""
        if not isinstance(self._engine, SqliteEngine):
            raise StoreError(f"{self.where} is not a SQLite database")
        return self._engine.db

    def close(self) -> None:
        self._engine.close()

    # -- schema ------------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self._lock:
            return self._engine.schema_version()

    def _migration(self, version: int) -> list[str]:
        if self._engine.name == "postgresql":
            return _postgres_statements(version)
        return _split(_MIGRATIONS[version])

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        """Bring the schema to ``target``, one transaction a version; a schema newer than
        this code is refused before anything is written. On PostgreSQL, replicas starting
        together migrate one at a time (an advisory lock), the later ones finding it done."""
        with self._lock:
            current = self.schema_version()
            if current > SCHEMA_VERSION:
                error = StoreError(
                    f"{self.where} has schema version {current}, newer than this maintbot "
                    f"understands ({SCHEMA_VERSION}); upgrade maintbot"
                )
                error.exit_code = 2
                raise error
            for version in range(current + 1, target + 1):
                with self._engine.transaction():
                    self._engine.lock_migrations()
                    if self._engine.schema_version() >= version:
                        continue  # another replica got there first
                    for statement in self._migration(version):
                        self._engine.execute(statement, {})
                    self._engine.set_schema_version(version)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock, self._engine.transaction():
            yield

    def _now(self) -> str:
        return _iso(self.clock())

    # -- the one place each kind of statement is run -----------------------------------------
    # Every statement the store runs below is built by one of the ``_*_sql`` functions at the
    # end of this module, one clause a line; a method says only what its statement adds
    # (its conditions, its assignments, its row) as data. The engine runs it.
    def _exec(self, sql: str, values: Mapping[str, Any]) -> Result:
        with self._lock:
            return self._engine.execute(sql, values)

    def _select(
        self,
        table: str,
        where: Sequence[str] = (),
        values: Mapping[str, Any] | None = None,
        *,
        columns: str = "*",
        order_by: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        sql = _select_sql(table, where, columns=columns, order_by=order_by, limit=limit is not None)
        params = {**(values or {}), **({} if limit is None else {"limit": int(limit)})}
        return self._exec(sql, params).rows

    def _by_id(self, table: str, row_id: str | int) -> dict[str, Any] | None:
        rows = self._select(table, ["id = :id"], {"id": row_id})
        return rows[0] if rows else None

    def _get(self, table: str, row_id: str | int, missing: str) -> dict[str, Any]:
        """The row ``row_id`` of ``table``; a StoreError saying ``missing`` if there is none."""
        row = self._by_id(table, row_id)
        if row is None:
            raise StoreError(missing)
        return row

    def _insert(self, table: str, row: Mapping[str, Any], *, or_ignore: bool = False) -> int:
        """Insert ``row`` (column → value); how many rows went in (0: ignored as a duplicate)."""
        return self._exec(_insert_sql(table, row, or_ignore=or_ignore), row).rowcount

    def _claim(self, table: str, row: Mapping[str, Any]) -> bool:
        """Exactly once: ``True`` only for the first caller to insert this key, ever."""
        return self._insert(table, row, or_ignore=True) == 1

    def _update(
        self, table: str, sets: Sequence[str], where: Sequence[str], values: Mapping[str, Any]
    ) -> int:
        """Run one UPDATE; how many rows it changed."""
        return self._exec(_update_sql(table, sets, where), values).rowcount

    def _update_ids(
        self, table: str, sets: Sequence[str], where: Sequence[str], values: Mapping[str, Any]
    ) -> list[Any]:
        """Run one ``UPDATE … RETURNING id``; the ids it changed."""
        result = self._exec(_update_sql(table, sets, where, returning="id"), values)
        return [row["id"] for row in result.rows]

    def _compare_and_set(
        self,
        table: str,
        row_id: str | int,
        sets: Sequence[str],
        where: Sequence[str],
        values: Mapping[str, Any],
    ) -> bool:
        """Every state change: an UPDATE of row ``row_id`` that also requires ``where``;
        ``True`` only for the caller whose statement changed it."""
        return self._update(table, sets, ["id = :id", *where], {**values, "id": row_id}) == 1

    def _delete(self, table: str, where: Sequence[str], values: Mapping[str, Any]) -> int:
        return self._exec(_delete_sql(table, where), values).rowcount

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
        row = {
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
        }
        result = self._exec(_insert_sql("audit", row, returning="id"), row)
        return int(result.rows[0]["id"])

    def _audits(
        self,
        where: Sequence[str],
        values: Mapping[str, Any],
        *,
        order_by: str = "id DESC",
        limit: int | None = None,
    ) -> list[AuditRow]:
        rows = self._select("audit", where, values, order_by=order_by, limit=limit)
        return [AuditRow(**_decoded(row, json_columns=("detail",))) for row in rows]

    def audit_rows(self, limit: int = 50, *, window_id: str | None = None) -> list[AuditRow]:
        """Newest first."""
        where = ["window_id = :window_id"] if window_id else []
        return self._audits(where, {"window_id": window_id}, limit=limit)

    def audit_search(
        self,
        limit: int,
        *,
        window_id: str | None = None,
        actor: str | None = None,
        system: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditRow]:
        """Newest first, the rows matching every filter given (``since`` inclusive,
        ``until`` exclusive). Stored instants are UTC ISO text, so they compare as text."""
        given = {
            "window_id": ("window_id = :window_id", window_id),
            "actor": ("actor = :actor", actor),
            "system": ("system = :system", system),
            "since": ("at >= :since", _iso_or_none(since)),
            "until": ("at < :until", _iso_or_none(until)),
        }
        where = [clause for clause, value in given.values() if value is not None]
        values = {name: value for name, (_, value) in given.items() if value is not None}
        return self._audits(where, values, limit=limit)

    def planned_task_names(self, task_ids: Iterable[str]) -> dict[tuple[str, str], str]:
        """The name each (system, task id) was planned under, for rows that carry only ids."""
        in_ids, values = _in("task_id", sorted(set(task_ids)))
        rows = self._select(
            "window_tasks", [in_ids], values, columns="system, task_id, task_name", order_by="id"
        )
        return {(r["system"], r["task_id"]): r["task_name"] for r in rows}

    def last_task_audit(
        self, system: str, task_id: str, *, actions: Sequence[str], outcomes: Sequence[str]
    ) -> AuditRow | None:
        """The newest audit row for one task among ``actions`` with one of ``outcomes``."""
        matched, values = _actions_and_outcomes(actions, outcomes)
        rows = self._audits(
            ["system = :system", "task_id = :task_id", *matched],
            {**values, "system": system, "task_id": task_id},
            limit=1,
        )
        return rows[0] if rows else None

    def latest_task_audits(
        self, *, actions: Sequence[str], outcomes: Sequence[str]
    ) -> list[AuditRow]:
        """Per task, its newest audit row among ``actions`` with one of ``outcomes``; oldest
        first. Used to tell what an immediate pause left paused."""
        matched, values = _actions_and_outcomes(actions, outcomes)
        newest_per_task = _select_sql(
            "audit",
            [*matched, "system IS NOT NULL", "task_id IS NOT NULL"],
            columns="MAX(id)",
            group_by="system, task_id",
        )
        return self._audits([f"id IN ({newest_per_task})"], values, order_by="id")

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
        title: str | None = None,
        reason: str | None = None,
    ) -> WindowRecord:
        """Record a window and the tasks (ref, name) to pause in it, in one transaction."""
        made = self._create_window(
            window,
            requested_by=requested_by,
            tasks=tasks,
            drain_lead_seconds=drain_lead_seconds,
            channel=channel,
            state=state,
            approved_by=approved_by,
            title=title,
            reason=reason,
        )
        assert made is not None  # a window without a series is never a duplicate
        return made

    def create_occurrence(
        self,
        series: SeriesRecord,
        occurrence: datetime,
        window: Window,
        *,
        tasks: Iterable[tuple[TaskRef, str]],
        state: WindowState,
        approved_by: str | None,
        channel: str | None = None,
    ) -> WindowRecord | None:
        """Record the window of one occurrence of ``series`` (``occurrence``: its nominal
        start, the key); ``None`` if that occurrence has a window already."""
        return self._create_window(
            window,
            requested_by=series.requested_by,
            tasks=tasks,
            drain_lead_seconds=0,
            channel=channel if channel is not None else series.channel,
            state=state,
            approved_by=approved_by,
            title=series.title,
            reason=None,
            series_id=series.id,
            occurrence=occurrence,
        )

    def _create_window(
        self,
        window: Window,
        *,
        requested_by: str,
        tasks: Iterable[tuple[TaskRef, str]],
        drain_lead_seconds: int,
        channel: str | None,
        state: WindowState,
        approved_by: str | None,
        title: str | None,
        reason: str | None,
        series_id: str | None = None,
        occurrence: datetime | None = None,
    ) -> WindowRecord | None:
        window_id = new_id("w")
        now = self._now()
        with self.transaction():
            went_in = self._insert(
                "windows",
                {
                    "id": window_id,
                    "text": window.text,
                    "tz": window.tz,
                    "start_at": _iso(window.start),
                    "end_at": _iso(window.end),
                    "state": state.value,
                    "requested_by": requested_by,
                    "approved_by": approved_by,
                    "created_at": now,
                    "updated_at": now,
                    "drain_lead_seconds": drain_lead_seconds,
                    "channel": channel,
                    "notes": json.dumps(list(window.notes)),
                    "title": title,
                    "reason": reason,
                    "series_id": series_id,
                    "occurrence": _iso_or_none(occurrence),
                    # An occurrence planned approved: what its series' approver agreed to.
                    "approved_end": _iso(window.end)
                    if series_id is not None and state is WindowState.APPROVED
                    else None,
                },
                or_ignore=series_id is not None,
            )
            if not went_in:
                return None
            for ref, name in tasks:
                # OR IGNORE: a task named twice is planned once (the UNIQUE constraint).
                self._insert(
                    "window_tasks",
                    {
                        "window_id": window_id,
                        **_ref_values(ref),
                        "task_name": name,
                        "state": PlannedTaskState.PLANNED.value,
                    },
                    or_ignore=True,
                )
        return self.get_window(window_id)

    # -- series ------------------------------------------------------------------------------
    def create_series(
        self,
        *,
        text: str,
        title: str | None,
        tz: str,
        rrule: str,
        dtstart: datetime,
        until: datetime | None,
        count: int | None,
        duration: timedelta,
        occurrence_text: str,
        requested_by: str,
        tasks: Mapping[str, Any],
        plan_ahead: timedelta,
        state: SeriesState = SeriesState.PLANNED,
        approved_by: str | None = None,
        channel: str | None = None,
    ) -> SeriesRecord:
        series_id = new_id("s")
        now = self._now()
        self._insert(
            "series",
            {
                "id": series_id,
                "text": text,
                "title": title,
                "tz": tz,
                "rrule": rrule,
                "dtstart": _iso(dtstart),
                "until_at": _iso_or_none(until),
                "count": count,
                "duration_seconds": int(duration.total_seconds()),
                "occurrence_text": occurrence_text,
                "state": state.value,
                "requested_by": requested_by,
                "approved_by": approved_by,
                "tasks": json.dumps(dict(tasks), sort_keys=True),
                "plan_ahead_seconds": int(plan_ahead.total_seconds()),
                "skipped": "[]",
                "channel": channel,
                "created_at": now,
                "updated_at": now,
            },
        )
        return self.get_series(series_id)

    @staticmethod
    def _series(row: dict[str, Any]) -> SeriesRecord:
        fields = _decoded(row, times=_SERIES_TIMES, json_columns=("tasks",))
        fields["until"] = fields.pop("until_at")
        fields["duration"] = timedelta(seconds=int(fields.pop("duration_seconds")))
        fields["plan_ahead"] = timedelta(seconds=int(fields.pop("plan_ahead_seconds")))
        fields["skipped"] = tuple(
            datetime.fromisoformat(value) for value in json.loads(row["skipped"] or "[]")
        )
        return SeriesRecord(**fields)

    def find_series(self, series_id: str) -> SeriesRecord | None:
        row = self._by_id("series", series_id)
        return self._series(row) if row else None

    def get_series(self, series_id: str) -> SeriesRecord:
        found = self.find_series(series_id)
        if found is None:
            raise StoreError(f"no maintenance series with id {series_id!r}")
        return found

    def list_series(
        self, states: Sequence[SeriesState] | None = None, *, limit: int = 100
    ) -> list[SeriesRecord]:
        """Series in ``states`` (every one when ``None``), first start first."""
        where: list[str] = []
        values: dict[str, Any] = {}
        if states:
            in_states, values = _in("state", [s.value for s in states])
            where = [in_states]
        rows = self._select("series", where, values, order_by="dtstart, id", limit=limit)
        return [self._series(r) for r in rows]

    def open_series(self) -> list[SeriesRecord]:
        """Every planned or approved series, without a limit (the clock plans from them)."""
        return self.list_series(OPEN_SERIES_STATES, limit=1_000_000)

    def transition_series(
        self,
        series_id: str,
        expected: SeriesState | Sequence[SeriesState],
        new: SeriesState,
        **fields: Any,
    ) -> bool:
        """Compare-and-set a series' state (``approved_by``, ``until_at`` alongside)."""
        sets, values = _assignments(fields, _SERIES_TRANSITION_COLUMNS, "a series")
        in_expected, expected_values = _in("state", _states(expected), name="expected")
        return self._compare_and_set(
            "series",
            series_id,
            ["state = :new", *sets, "updated_at = :now", "version = version + 1"],
            [in_expected],
            {**values, **expected_values, "new": new.value, "now": self._now()},
        )

    def skip_occurrence(self, series_id: str, version: int, occurrence: datetime) -> bool:
        """Take ``occurrence`` (its nominal start) out of the series, if the series is
        still at ``version``; ``True`` only for the caller that did."""
        current = self.get_series(series_id)
        skipped = sorted({*(_iso(s) for s in current.skipped), _iso(occurrence)})
        return self._compare_and_set(
            "series",
            series_id,
            ["skipped = :skipped", "updated_at = :now", "version = version + 1"],
            ["version = :version"],
            {"skipped": json.dumps(skipped), "version": version, "now": self._now()},
        )

    def set_series_tasks(
        self, series_id: str, version: int, tasks: Mapping[str, Any], *, reapprove: bool
    ) -> bool:
        """A new task spec for the series, if it is still at ``version``; with
        ``reapprove`` an approved series goes back to planned (its approver cleared) until
        someone approves the wider scope."""
        sets = ["tasks = :tasks", "updated_at = :now", "version = version + 1"]
        if reapprove:
            sets += ["state = :planned", "approved_by = NULL"]
        return self._compare_and_set(
            "series",
            series_id,
            sets,
            ["version = :version"],
            {
                "tasks": json.dumps(dict(tasks), sort_keys=True),
                "version": version,
                "now": self._now(),
                "planned": SeriesState.PLANNED.value,
            },
        )

    def series_windows(self, series_id: str) -> list[WindowRecord]:
        """The planned occurrences of a series, by nominal start."""
        rows = self._select(
            "windows", ["series_id = :series"], {"series": series_id}, order_by="occurrence, id"
        )
        return [self._window(r) for r in rows]

    def series_counts(self) -> dict[str, int]:
        rows = self._exec("SELECT state, COUNT(*) AS n FROM series GROUP BY state", {}).rows
        return {str(row["state"]): int(row["n"]) for row in rows}

    @staticmethod
    def _window(row: dict[str, Any]) -> WindowRecord:
        fields = _decoded(row, times=_WINDOW_TIMES)
        fields["start"], fields["end"] = fields.pop("start_at"), fields.pop("end_at")
        fields["notes"] = tuple(json.loads(row["notes"] or "[]"))
        return WindowRecord(**fields)

    def find_window(self, window_id: str) -> WindowRecord | None:
        row = self._by_id("windows", window_id)
        return self._window(row) if row else None

    def get_window(self, window_id: str) -> WindowRecord:
        found = self.find_window(window_id)
        if found is None:
            raise StoreError(f"no maintenance window with id {window_id!r}")
        return found

    def _windows_in(
        self, states: Sequence[WindowState], *, limit: int | None = None
    ) -> list[WindowRecord]:
        """Windows in ``states``, soonest start first."""
        in_states, values = _in("state", [s.value for s in states])
        rows = self._select("windows", [in_states], values, order_by="start_at, id", limit=limit)
        return [self._window(r) for r in rows]

    def list_windows(
        self, states: Sequence[WindowState] | None = None, *, limit: int = 100
    ) -> list[WindowRecord]:
        """Windows in the given states, soonest start first; every window, newest start
        first, when ``states`` is ``None`` (the audit view: what happened lately)."""
        if states:
            return self._windows_in(states, limit=limit)
        rows = self._select("windows", order_by="start_at DESC, id", limit=limit)
        return [self._window(r) for r in rows]

    def due_windows(self, now: datetime, ahead: timedelta) -> list[WindowRecord]:
        """What one clock tick has to look at, soonest start first: every active window, and
        the planned and approved ones whose start (less its own drain lead) is at most
        ``ahead`` from ``now``. Two indexed reads, so a tick costs the same with 5 windows
        planned far ahead as with 5,000."""
        open_ = [WindowState.PLANNED.value, WindowState.APPROVED.value]
        in_open, values = _in("state", open_)
        lead = self._exec(
            _select_sql("windows", [in_open], columns="MAX(drain_lead_seconds) AS lead"), values
        ).rows[0]["lead"]
        until = now + ahead + timedelta(seconds=int(lead or 0))
        rows = self._select(
            "windows",
            [in_open, "start_at <= :until"],
            {**values, "until": _iso(until)},
            order_by="start_at, id",
        )
        return sorted(
            [*self.active_windows(), *(self._window(r) for r in rows)],
            key=lambda w: (w.start, w.id),
        )

    def active_windows(self) -> list[WindowRecord]:
        """The active windows, soonest start first."""
        return self._windows_in([WindowState.ACTIVE])

    def open_windows(self) -> list[WindowRecord]:
        """Every planned, approved or active window, soonest start first, without a limit:
        the window clock must see all of them to know what is due."""
        return self._windows_in(OPEN_WINDOW_STATES)

    def closed_windows_since(self, since: datetime) -> list[WindowRecord]:
        """Windows that ended, failed or were cancelled at or after ``since`` (when they
        finished, or, for one that never started, their last change), soonest start first."""
        not_open, values = _in("state", [s.value for s in OPEN_WINDOW_STATES])
        rows = self._select(
            "windows",
            [f"NOT {not_open}", "COALESCE(finished_at, updated_at) >= :since"],
            {**values, "since": _iso(since)},
            order_by="start_at, id",
        )
        return [self._window(r) for r in rows]

    def _change_window(
        self, window_id: str, sets: Sequence[str], where: Sequence[str], values: Mapping[str, Any]
    ) -> bool:
        """Every change to a window moves its ``version`` and ``updated_at``."""
        return self._compare_and_set(
            "windows",
            window_id,
            [*sets, "updated_at = :now", "version = version + 1"],
            where,
            {**values, "now": self._now()},
        )

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
        in_expected, expected_values = _in("state", _states(expected), name="expected")
        return self._change_window(
            window_id,
            ["state = :new", *sets],
            [in_expected],
            {**values, **expected_values, "new": new.value},
        )

    def update_window_fields(self, window_id: str, version: int, **fields: Any) -> bool:
        """Set fields if the window is still at ``version`` (optimistic concurrency)."""
        if not fields:
            raise ValueError("cannot set [] on a window")
        sets, values = _assignments(fields, _WINDOW_EDIT_COLUMNS, "a window")
        return self._change_window(
            window_id, sets, ["version = :version"], {**values, "version": version}
        )

    def edit_window(
        self,
        window_id: str,
        version: int,
        *,
        fields: Mapping[str, Any],
        add: Iterable[tuple[TaskRef, str]] = (),
        remove: Iterable[int] = (),
    ) -> bool:
        """Edit a window that has not started, if it is still at ``version``: set ``fields``
        (times, text, zone, notes, state and approval columns), plan the tasks ``add``
        (ref, name) and drop the planned rows ``remove`` (only rows nothing was done to
        yet), in one transaction. ``False`` (and nothing written) when the window moved
        on meanwhile or a row to drop is no longer untouched."""
        stored = {k: json.dumps(list(v)) if k == "notes" else v for k, v in fields.items()}
        sets, values = _assignments(stored, _WINDOW_EDITED_COLUMNS, "a window")
        dropped = sorted(set(remove))
        with self.transaction():
            in_states, state_values = _in("state", [s.value for s in _EDITABLE_STATES])
            if not self._change_window(
                window_id,
                sets,
                ["version = :version", in_states],
                {**values, **state_values, "version": version},
            ):
                return False
            if dropped:
                in_ids, id_values = _in("id", dropped)
                gone = self._delete(
                    "window_tasks",
                    ["window_id = :window_id", "state = :planned", in_ids],
                    {
                        **id_values,
                        "window_id": window_id,
                        "planned": PlannedTaskState.PLANNED.value,
                    },
                )
                if gone != len(dropped):
                    raise StoreError(f"window {window_id}'s tasks changed while editing it")
            for ref, name in add:
                self._insert(
                    "window_tasks",
                    {
                        "window_id": window_id,
                        **_ref_values(ref),
                        "task_name": name,
                        "state": PlannedTaskState.PLANNED.value,
                    },
                    or_ignore=True,
                )
        return True

    # -- tasks planned for a window ----------------------------------------------------------
    @staticmethod
    def _planned(row: dict[str, Any]) -> PlannedTask:
        fields = _decoded(
            row, times=_TASK_TIMES, json_columns=("pause_marker", "prior_task", "predicted")
        )
        fields["predicted"] = tuple(fields.get("predicted") or ())
        if row["prior_paused"] is not None:
            fields["prior_paused"] = bool(row["prior_paused"])
        return PlannedTask(**fields)

    def _planned_tasks(
        self, where: Sequence[str], values: Mapping[str, Any], *, order_by: str = "id"
    ) -> list[PlannedTask]:
        rows = self._select("window_tasks", where, values, order_by=order_by)
        return [self._planned(r) for r in rows]

    def window_tasks(self, window_id: str) -> list[PlannedTask]:
        return self._planned_tasks(
            ["window_id = :window_id"],
            {"window_id": window_id},
            order_by="system, task_name, id",
        )

    def get_planned_task(self, planned_id: int) -> PlannedTask:
        row = self._get("window_tasks", planned_id, f"no planned task {planned_id}")
        return self._planned(row)

    def task_rows(self, ref: TaskRef) -> list[PlannedTask]:
        """Every window's row for ``ref``, oldest first."""
        return self.holders(ref, None)

    def holders(self, ref: TaskRef, states: Sequence[PlannedTaskState] | None) -> list[PlannedTask]:
        """Planned-task rows of any window that hold ``ref`` in one of ``states`` (in any
        state for ``None``), oldest first; used so a task paused for two overlapping windows
        is resumed only when the last one ends."""
        where, values = list(_SAME_TASK), _ref_values(ref)
        if states is not None:
            in_states, state_values = _in("state", [s.value for s in states])
            where, values = [*where, in_states], {**values, **state_values}
        return self._planned_tasks(where, values)

    def held_tasks(self, states: Sequence[PlannedTaskState]) -> list[PlannedTask]:
        """Planned tasks of every window in ``states``, oldest pause first."""
        in_states, values = _in("state", [s.value for s in states])
        return self._planned_tasks([in_states], values, order_by="paused_at, id")

    def _change_task(
        self,
        planned_id: int,
        new: PlannedTaskState,
        sets: Sequence[str],
        where: Sequence[str],
        values: Mapping[str, Any],
        *,
        fields: Mapping[str, Any],
        count_attempt: bool,
    ) -> bool:
        """Every state change of a planned task: ``new`` and the caller's ``fields`` (see
        :func:`_task_assignments`) written by one compare-and-set."""
        field_sets, field_values = _task_assignments(fields, count_attempt)
        return self._compare_and_set(
            "window_tasks",
            planned_id,
            ["state = :new", *sets, *field_sets],
            where,
            {**values, **field_values, "new": new.value},
        )

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
        in_expected, values = _in("state", _states(expected), name="expected")
        where = [in_expected]
        if claimed_at_was is not None:
            where.append("claimed_at = :claimed_at_was")
            values["claimed_at_was"] = _iso(claimed_at_was)
        if owner is not None:
            where.append("claimed_by = :owner")
            values["owner"] = owner
        return self._change_task(
            planned_id, new, [], where, values, fields=fields, count_attempt=count_attempt
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
        where = [
            "state = :seen_state",
            "claimed_by IS NOT DISTINCT FROM :seen_owner",
            "lease_until IS NOT DISTINCT FROM :seen_lease",
            "(claimed_by IS NULL OR lease_until IS NULL OR lease_until <= :now)",
        ]
        if not exclusive:
            return self._claim_task(
                seen, new, where, owner, now, lease_until, count_attempt, fields
            )
        where.append(f"NOT EXISTS ({_OTHER_WINDOW_MID_TRANSITION})")
        with self.transaction():
            # SQLite has one writer, so the NOT EXISTS and the UPDATE are one step. On
            # PostgreSQL two replicas claiming rows of two windows for one task would each
            # see the other's claim as not yet committed: a lock on the task makes the
            # second wait for the first's commit, then its statement sees that claim.
            self._engine.lock(f"task {seen.system} {seen.kind.value} {seen.task_id}")
            return self._claim_task(
                seen, new, where, owner, now, lease_until, count_attempt, fields
            )

    def _claim_task(
        self,
        seen: PlannedTask,
        new: PlannedTaskState,
        where: Sequence[str],
        owner: str | None,
        now: datetime,
        lease_until: datetime | None,
        count_attempt: bool,
        fields: Mapping[str, Any],
    ) -> bool:
        return self._change_task(
            seen.id,
            new,
            ["claimed_by = :owner", "claimed_at = :now", "lease_until = :lease"],
            where,
            {
                "owner": owner,
                "now": _iso(now),
                "lease": _iso_or_none(lease_until),
                "seen_state": seen.state.value,
                "seen_owner": seen.claimed_by,
                "seen_lease": _iso_or_none(seen.lease_until),
                **_MID_TRANSITION,
            },
            fields=fields,
            count_attempt=count_attempt,
        )

    def renew_leases(self, owner: str, ids: Iterable[int], until: datetime) -> set[int]:
        """Extend ``owner``'s leases on the rows ``ids`` it still holds; returns those ids.
        A row missing from the answer was taken over (its lease had run out) or settled."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        in_ids, id_values = _in("id", wanted)
        renewed = self._update_ids(
            "window_tasks",
            ["lease_until = :until"],
            ["claimed_by = :owner", "state IN (:pausing, :resuming)", in_ids],
            {**id_values, "until": _iso(until), "owner": owner, **_MID_TRANSITION},
        )
        return {int(planned_id) for planned_id in renewed}

    # -- approvals ---------------------------------------------------------------------------
    @staticmethod
    def _approval(row: dict[str, Any]) -> ApprovalRecord:
        return ApprovalRecord(**_decoded(row, times=("decided_at", "expires_at", "created_at")))

    def create_approval(
        self,
        window_id: str,
        *,
        requested_by: str,
        expires_at: datetime,
        channel: str | None = None,
    ) -> ApprovalRecord:
        approval_id = new_id("a")
        self._insert(
            "approvals",
            {
                "id": approval_id,
                "window_id": window_id,
                "requested_by": requested_by,
                "state": ApprovalState.PENDING.value,
                "expires_at": _iso(expires_at),
                "created_at": self._now(),
                "channel": channel,
            },
        )
        return self.get_approval(approval_id)

    def get_approval(self, approval_id: str) -> ApprovalRecord:
        row = self._get("approvals", approval_id, f"no approval request with id {approval_id!r}")
        return self._approval(row)

    def approvals_for(self, window_id: str) -> list[ApprovalRecord]:
        rows = self._select(
            "approvals", ["window_id = :window_id"], {"window_id": window_id}, order_by="created_at"
        )
        return [self._approval(r) for r in rows]

    def set_approval_message(self, approval_id: str, channel: str, message_ts: str) -> None:
        self._update(
            "approvals",
            ["channel = :channel", "message_ts = :message_ts"],
            ["id = :id"],
            {"channel": channel, "message_ts": message_ts, "id": approval_id},
        )

    def decide_approval(self, approval_id: str, new: ApprovalState, decided_by: str) -> bool:
        """Single use: only a pending, unexpired approval can be decided, by one caller."""
        return self.decide_approval_at(approval_id, new, decided_by, self.clock())

    def decide_approval_at(
        self,
        approval_id: str,
        new: ApprovalState,
        decided_by: str,
        now: datetime,
        *,
        reason: str | None = None,
    ) -> bool:
        """:meth:`decide_approval` judged at ``now`` (the caller's injected clock);
        ``reason`` is the decider's own words (a rejection's why)."""
        return self._compare_and_set(
            "approvals",
            approval_id,
            [
                "state = :new",
                "decided_by = :decided_by",
                "decided_at = :now",
                "reason = :reason",
            ],
            ["state = 'pending'", "expires_at > :now"],
            {"new": new.value, "decided_by": decided_by, "now": _iso(now), "reason": reason},
        )

    def _expire_pending(
        self,
        table: str,
        now: datetime,
        where: Sequence[str],
        values: Mapping[str, Any],
        *,
        due_only: bool = True,
    ) -> list[str]:
        """Expire the pending rows of ``table`` (approvals or resume requests) that match
        ``where`` and, with ``due_only``, whose time is up at ``now``; returns their ids."""
        due = ["expires_at <= :now"] if due_only else []
        expired = self._update_ids(
            table,
            ["state = 'expired'", "decided_at = :now"],
            ["state = 'pending'", *where, *due],
            {**values, "now": _iso(now)},
        )
        return [str(row_id) for row_id in expired]

    def expire_approvals(self) -> list[str]:
        """Mark pending approvals past their expiry as expired; returns their ids."""
        return self._expire_pending("approvals", self.clock(), [], {})

    def expire_approval(self, approval_id: str, now: datetime) -> bool:
        """Mark one pending approval expired if its time is up at ``now``."""
        return bool(self._expire_pending("approvals", now, ["id = :id"], {"id": approval_id}))

    def supersede_approvals(self, window_id: str, now: datetime) -> list[str]:
        """The window was edited into one that needs approval again: its pending and
        approved requests are superseded (a late click on one cannot act; who decided an
        approved one, and when, is kept); returns their ids."""
        superseded = self._update_ids(
            "approvals",
            [
                "state = :superseded",
                "decided_at = CASE WHEN state = :pending THEN :now ELSE decided_at END",
            ],
            ["window_id = :window_id", "state IN (:pending, :approved)"],
            {
                "window_id": window_id,
                "now": _iso(now),
                "superseded": ApprovalState.SUPERSEDED.value,
                "pending": ApprovalState.PENDING.value,
                "approved": ApprovalState.APPROVED.value,
            },
        )
        return [str(row_id) for row_id in superseded]

    def close_approvals(self, window_id: str, now: datetime) -> list[str]:
        """Expire every pending approval of a window (it was cancelled or rejected), so a
        late click on an old request cannot act; returns their ids."""
        return self._expire_pending(
            "approvals", now, ["window_id = :window_id"], {"window_id": window_id}, due_only=False
        )

    # -- exactly-once helpers ----------------------------------------------------------------
    def claim_alert(self, window_id: str, kind: str) -> bool:
        """``True`` for the first caller to claim this alert of this window, ever."""
        return self._claim("alerts", {"window_id": window_id, "kind": kind, "sent_at": self._now()})

    def release_alert(self, window_id: str, kind: str) -> None:
        """Undo :meth:`claim_alert` when the notification could not be delivered, so the
        next tick tries again instead of the alert being lost."""
        self._delete(
            "alerts",
            ["window_id = :window_id", "kind = :kind"],
            {"window_id": window_id, "kind": kind},
        )

    def alerts_sent(self, window_id: str) -> set[str]:
        rows = self._select(
            "alerts", ["window_id = :window_id"], {"window_id": window_id}, columns="kind"
        )
        return {r["kind"] for r in rows}

    def mark_event_processed(self, event_id: str) -> bool:
        """``True`` the first time ``event_id`` is seen (Slack retries deliveries)."""
        return self._claim("processed_events", {"event_id": event_id, "at": self._now()})

    def prune_processed_events(self, before: datetime) -> int:
        """Forget deliveries seen before ``before`` (how many rows went). Callers keep far
        more than Slack's 5-minute signature window, past which a replay is refused anyway."""
        return self._delete("processed_events", ["at < :before"], {"before": _iso(before)})

    # -- stored check results (for paging a Slack report) ------------------------------------
    def save_check(self, report_json: dict[str, Any], user_id: str | None = None) -> str:
        check_id = new_id("c")
        self._insert(
            "checks",
            {
                "id": check_id,
                "created_at": self._now(),
                "user_id": user_id,
                "report": json.dumps(report_json),
            },
        )
        return check_id

    def get_check(self, check_id: str) -> dict[str, Any]:
        row = self._get("checks", check_id, f"no stored check {check_id!r}; run the check again")
        result: dict[str, Any] = json.loads(row["report"])
        return result

    # -- run history (predicted run times) ---------------------------------------------------
    def record_predictions(
        self, window_id: str, predicted: Mapping[str, Sequence[PredictedStart]]
    ) -> int:
        """Keep, on each of ``window_id``'s planned tasks (by task key), the run times its
        plan's check predicted; how many tasks got some. A key the window does not plan is
        ignored (the check may predict runs of tasks nobody chose to pause)."""
        changed = 0
        with self.transaction():
            for row in self.window_tasks(window_id):
                starts = predicted.get(row.ref.key)
                if not starts:
                    continue
                encoded = json.dumps(
                    [{"at": _iso(p.at), "basis": p.basis} for p in sorted(starts, key=_at)]
                )
                changed += self._update(
                    "window_tasks",
                    ["predicted = :predicted"],
                    ["id = :id"],
                    {"id": row.id, "predicted": encoded},
                )
        return changed

    def set_prediction_outcome(self, planned_id: int, outcome: str) -> None:
        """What the end of the window found of a planned task's predicted run times."""
        self._update(
            "window_tasks",
            ["prediction_outcome = :outcome"],
            ["id = :id"],
            {"id": planned_id, "outcome": outcome},
        )

    def record_run_starts(
        self,
        starts: Iterable[tuple[TaskRef, datetime]],
        *,
        now: datetime,
        keep: timedelta = RUN_HISTORY_KEPT,
        per_task: int = RUN_HISTORY_PER_TASK,
    ) -> int:
        """Remember the run starts a scheduler reported (each once, however often it is
        seen); how many were new. Bounded: starts older than ``keep`` go, and a task keeps
        its newest ``per_task`` starts only (``now``: the check's time, which a replayed
        check may set apart from the store's clock)."""
        added = 0
        with self.transaction():
            self._delete("run_starts", ["started_at < :before"], {"before": _iso(now - keep)})
            for ref, started in starts:
                if started < now - keep:
                    continue
                row = {**_ref_values(ref), "started_at": _iso(started), "seen_at": _iso(now)}
                if not self._insert("run_starts", row, or_ignore=True):
                    continue
                added += 1
                kept = self._select(
                    "run_starts",
                    _SAME_TASK,
                    _ref_values(ref),
                    columns="started_at",
                    order_by="started_at DESC",
                    limit=per_task + 1,
                )
                if len(kept) > per_task:
                    self._delete(
                        "run_starts",
                        [*_SAME_TASK, "started_at <= :oldest"],
                        {**_ref_values(ref), "oldest": kept[-1]["started_at"]},
                    )
        return added

    def run_starts(self, system: str) -> dict[str, list[datetime]]:
        """The starts kept for ``system``'s tasks, by task key, oldest first."""
        rows = self._select(
            "run_starts",
            ["system = :system"],
            {"system": system},
            columns="kind, task_id, started_at",
            order_by="kind, task_id, started_at",
        )
        found: dict[str, list[datetime]] = {}
        for row in rows:
            key = f"{system}:{row['kind']}:{row['task_id']}"
            found.setdefault(key, []).append(datetime.fromisoformat(row["started_at"]))
        return found

    # -- run lengths (how far the check looks back before a window) ---------------------------
    def record_run_lengths(
        self,
        lengths: Iterable[tuple[TaskRef, timedelta]],
        *,
        now: datetime,
        keep: timedelta = RUN_LENGTHS_KEPT,
    ) -> None:
        """Remember each task's longest run length seen (a shorter one later does not
        lower it; it replaces it once the longer one has gone unseen for ``keep``, when
        that row is pruned). Lengths that are not positive say nothing and are skipped."""
        longest: dict[str, tuple[TaskRef, int]] = {}
        for ref, length in lengths:
            seconds = math.ceil(min(length, RUN_LENGTH_CAP).total_seconds())
            if seconds > 0 and seconds > longest.get(ref.key, (ref, 0))[1]:
                longest[ref.key] = (ref, seconds)
        with self.transaction():
            self._delete("run_lengths", ["observed_at < :before"], {"before": _iso(now - keep)})
            for ref, seconds in longest.values():
                row = {**_ref_values(ref), "length_seconds": seconds, "observed_at": _iso(now)}
                self._exec(
                    f"{_insert_sql('run_lengths', row)}\n"
                    "ON CONFLICT (system, kind, task_id) DO UPDATE SET "
                    "length_seconds = excluded.length_seconds, "
                    "observed_at = excluded.observed_at\n"
                    "WHERE excluded.length_seconds >= run_lengths.length_seconds",
                    row,
                )

    def run_lengths(self, system: str) -> dict[str, timedelta]:
        """The longest run length kept for each of ``system``'s tasks, by task key."""
        rows = self._select(
            "run_lengths",
            ["system = :system"],
            {"system": system},
            columns="kind, task_id, length_seconds",
        )
        return {
            f"{system}:{r['kind']}:{r['task_id']}": timedelta(seconds=int(r["length_seconds"]))
            for r in rows
        }

    def longest_run(
        self, system: str, *, now: datetime, keep: timedelta = RUN_LENGTHS_KEPT
    ) -> timedelta | None:
        """The longest run length seen on ``system`` within ``keep`` of ``now``; ``None``
        when none was."""
        rows = self._select(
            "run_lengths",
            ["system = :system", "observed_at >= :since"],
            {"system": system, "since": _iso(now - keep)},
            columns="MAX(length_seconds) AS longest",
        )
        value = rows[0]["longest"] if rows else None
        return None if value is None else timedelta(seconds=int(value))

    def mark_full_lookback(self, system: str, at: datetime) -> None:
        """``system`` was just checked with its whole configured look-back."""
        self.set_kv(_FULL_LOOKBACK + system, _iso(at))

    def full_lookback_at(self, system: str) -> datetime | None:
        """When ``system`` was last checked with its whole configured look-back; ``None``
        if never, or if what is kept is not a time (then the next check does it again)."""
        value = self.get_kv(_FULL_LOOKBACK + system)
        try:
            moment = datetime.fromisoformat(value) if value is not None else None
        except ValueError:
            return None
        return moment if moment is not None and moment.tzinfo is not None else None

    # -- leadership: one window clock among many ----------------------------------------------
    def try_lead(self, name: str, owner: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``owner`` until ``now + ttl``; ``True`` when
        ``owner`` holds it afterwards. One statement, so of several replicas asking at once
        exactly one wins; another owner's lease is taken only once it has run out."""
        values = {
            "name": name,
            "owner": owner,
            "expires": _iso(now + ttl),
            "now": _iso(now),
        }
        self._exec(
            "INSERT INTO leases (name, owner, expires_at, since) "
            "VALUES (:name, :owner, :expires, :now) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at, "
            "since = CASE WHEN leases.owner = excluded.owner THEN leases.since "
            "ELSE excluded.since END "
            "WHERE leases.owner = excluded.owner OR leases.expires_at <= excluded.since",
            values,
        )
        holder = self.leader(name)
        return holder is not None and holder[0] == owner

    def leader(self, name: str) -> tuple[str, datetime, datetime] | None:
        """Who holds the lease ``name``: (owner, held since, until), expired or not."""
        rows = self._select("leases", ["name = :name"], {"name": name})
        if not rows:
            return None
        row = rows[0]
        since = datetime.fromisoformat(row["since"])
        return str(row["owner"]), since, datetime.fromisoformat(row["expires_at"])

    def release_lead(self, name: str, owner: str) -> None:
        """Give the lease up (a clean stop), so a standby takes over at its next try."""
        self._delete("leases", ["name = :name", "owner = :owner"], {"name": name, "owner": owner})

    # -- small key/value state (e.g. the clock's last tick) ----------------------------------
    def get_kv(self, key: str) -> str | None:
        rows = self._select("kv", ["key = :key"], {"key": key}, columns="value")
        return str(rows[0]["value"]) if rows else None

    def claim_kv(self, key: str, value: str) -> bool:
        """Set ``key`` only if it is unset; ``True`` for the one caller that set it."""
        return self._claim("kv", {"key": key, "value": value})

    def release_kv(self, key: str, value: str) -> None:
        """Unset ``key`` if it still holds ``value`` (undo a :meth:`claim_kv`)."""
        self._delete("kv", ["key = :key", "value = :value"], {"key": key, "value": value})

    def set_kv(self, key: str, value: str) -> None:
        row = {"key": key, "value": value}
        self._exec(_insert_sql("kv", row, upsert="key"), row)

    # -- resume requests (bot/service/pauses.py) ----------------------------------------------
    @staticmethod
    def _resume_request(row: dict[str, Any]) -> ResumeRequestRecord:
        times = ("paused_at", "decided_at", "expires_at", "created_at")
        return ResumeRequestRecord(**_decoded(row, times=times))

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
        with self.transaction():
            self._expire_pending("resume_requests", now, _SAME_TASK, task)
            inserted = self._insert(
                "resume_requests",
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
                    "created_at": _iso(now),
                },
                # The partial unique index: one pending request per task.
                or_ignore=True,
            )
            if not inserted:
                return None
        return self.get_resume_request(request_id)

    def get_resume_request(self, request_id: str) -> ResumeRequestRecord:
        row = self._get("resume_requests", request_id, f"no resume request with id {request_id!r}")
        return self._resume_request(row)

    def pending_resume_request(self, ref: TaskRef) -> ResumeRequestRecord | None:
        rows = self._select("resume_requests", [*_SAME_TASK, "state = 'pending'"], _ref_values(ref))
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
        where = ["state = :expected"]
        if unexpired_at is not None:
            where.append("expires_at > :unexpired_at")
            values["unexpired_at"] = _iso(unexpired_at)
        if expired_at is not None:
            where.append("expires_at <= :expired_at")
            values["expired_at"] = _iso(expired_at)
        if outcome_unset:
            where.append("outcome IS NULL")
        return self._compare_and_set(
            "resume_requests",
            request_id,
            ["state = :new", *sets],
            where,
            {**values, "new": new.value, "expected": expected.value},
        )

    # -- operations (GET /metrics) ------------------------------------------------------------
    def window_counts(self) -> dict[str, int]:
        """How many windows are in each state (states with none are absent)."""
        rows = self._exec("SELECT state, COUNT(*) AS n FROM windows GROUP BY state", {}).rows
        return {str(row["state"]): int(row["n"]) for row in rows}

    # -- whole tables: db copy ----------------------------------------------------------------
    def table_counts(self) -> dict[str, int]:
        """Rows per table, in :data:`TABLES` order."""
        return {t: int(self._select(t, columns="count(*) AS n")[0]["n"]) for t in TABLES}

    def copy_to(self, target: Store) -> dict[str, int]:
        """Copy every row of every table (the audit trail included, ids kept) into
        ``target``, in one transaction there; how many rows each table gave. The caller
        checks that ``target`` is empty first (:func:`peek`)."""
        copied: dict[str, int] = {}
        with self._lock, target.transaction():
            for table in TABLES:
                rows = self._select(table, order_by=_TABLE_ORDER.get(table, "id"))
                if rows:
                    target._engine.execute_many(_insert_sql(table, rows[0]), rows)
                if table in ("window_tasks", "audit") and isinstance(
                    target._engine, PostgresEngine
                ):
                    target._engine.reset_identity(table)
                copied[table] = len(rows)
        return copied


def peek(location: str | Path, *, busy_timeout: float = 5.0) -> tuple[int, dict[str, int]]:
    """The schema version of the database ``location`` names and its rows per table,
    read without migrating or writing anything (a database with no schema: ``(0, {})``)."""
    engine = open_engine(str(location), busy_timeout)
    try:
        version = engine.schema_version()
        if version == 0:
            return 0, {}
        counts: dict[str, int] = {}
        for table in TABLES:
            try:
                rows = engine.execute(_select_sql(table, columns="count(*) AS n"), {}).rows
            except Exception:  # a table a newer (or older) schema does not have
                continue
            counts[table] = int(rows[0]["n"])
        return version, counts
    finally:
        engine.close()


# Every table, parents before the rows that name them (db copy inserts in this order).
TABLES = (
    "leases",
    "series",
    "windows",
    "window_tasks",
    "approvals",
    "audit",
    "alerts",
    "checks",
    "processed_events",
    "kv",
    "resume_requests",
    "run_starts",
    "run_lengths",
)
# Tables without an ``id`` column, by their key.
_TABLE_ORDER = {
    "run_starts": "system, kind, task_id, started_at",
    "run_lengths": "system, kind, task_id",
    "alerts": "window_id, kind",
    "processed_events": "event_id",
    "kv": "key",
    "leases": "name",
}


# The columns each compare-and-set may write besides the state (what the callers pass as
# keyword arguments); anything else is a programming error, refused before SQL is built.
_WINDOW_TRANSITION_COLUMNS = frozenset(
    {
        "approved_by",
        "approved_end",
        "start_at",
        "end_at",
        "channel",
        "thread_ts",
        "started_at",
        "finished_at",
    }
)
_WINDOW_EDIT_COLUMNS = frozenset(
    {"start_at", "end_at", "approved_end", "channel", "thread_ts", "alert_channel", "alert_ts"}
)
# What an edit of a window that has not started may set (Store.edit_window).
_WINDOW_EDITED_COLUMNS = frozenset(
    {"start_at", "end_at", "text", "tz", "notes", "state", "approved_by", "approved_end"}
)
_EDITABLE_STATES = (WindowState.PLANNED, WindowState.APPROVED)
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
# The time columns (ISO text) a row's record reads as datetimes.
_WINDOW_TIMES = (
    "start_at",
    "end_at",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "approved_end",
    "occurrence",
)
_SERIES_TIMES = ("dtstart", "until_at", "created_at", "updated_at")
_SERIES_TRANSITION_COLUMNS = frozenset({"approved_by", "until_at", "count"})
_TASK_TIMES = (
    "claimed_at",
    "paused_at",
    "resumed_at",
    "next_attempt_at",
    "give_up_at",
    "lease_until",
)
# The states in which a planned task has a vendor call in flight, as parameters.
_MID_TRANSITION = {
    "pausing": PlannedTaskState.PAUSING.value,
    "resuming": PlannedTaskState.RESUMING.value,
}
# The kv key, before the system's name, of when that system last had its full look-back.
_FULL_LOOKBACK = "lookback_full:"
# The rows (planned tasks, resume requests) of one task, by the parameters of _ref_values.
_SAME_TASK = ("system = :system", "kind = :kind", "task_id = :task_id")
# Inside an UPDATE of window_tasks: the same task is mid-transition for another window.
_OTHER_WINDOW_MID_TRANSITION = """
    SELECT 1
    FROM window_tasks AS other
    WHERE other.system = window_tasks.system
      AND other.kind = window_tasks.kind
      AND other.task_id = window_tasks.task_id
      AND other.id != window_tasks.id
      AND other.state IN (:pausing, :resuming)
"""


# -- the statement builders ------------------------------------------------------------------
# Tables, columns and clauses come from this module only, never from input; every value is a
# named parameter (``:name``).
_AND = "\n  AND "


def _select_sql(
    table: str,
    where: Sequence[str] = (),
    *,
    columns: str = "*",
    group_by: str | None = None,
    order_by: str | None = None,
    limit: bool = False,
) -> str:
    """``SELECT columns FROM table [WHERE …] [GROUP BY …] [ORDER BY …] [LIMIT :limit]``."""
    lines = [f"SELECT {columns}", f"FROM {table}"]
    if where:
        lines.append(f"WHERE {_AND.join(where)}")
    if group_by:
        lines.append(f"GROUP BY {group_by}")
    if order_by:
        lines.append(f"ORDER BY {order_by}")
    if limit:
        lines.append("LIMIT :limit")
    return "\n".join(lines)


def _insert_sql(
    table: str,
    row: Mapping[str, Any],
    *,
    or_ignore: bool = False,
    upsert: str | None = None,
    returning: str | None = None,
) -> str:
    """``INSERT INTO table (col, …) VALUES (:col, …)`` for the columns of ``row``;
    ``or_ignore`` skips a row whose key is taken (``ON CONFLICT DO NOTHING``, on both
    engines), ``upsert`` names the key on which the other columns are overwritten instead."""
    columns = list(row)
    lines = [
        f"INSERT INTO {table} ({', '.join(columns)})",
        f"VALUES ({', '.join(f':{column}' for column in columns)})",
    ]
    if or_ignore:
        lines.append("ON CONFLICT DO NOTHING")
    if upsert:
        updated = ", ".join(f"{c} = excluded.{c}" for c in columns if c != upsert)
        lines.append(f"ON CONFLICT({upsert}) DO UPDATE SET {updated}")
    if returning:
        lines.append(f"RETURNING {returning}")
    return "\n".join(lines)


def _update_sql(
    table: str, sets: Sequence[str], where: Sequence[str], *, returning: str | None = None
) -> str:
    """``UPDATE table SET … WHERE … [RETURNING …]``; an UPDATE always has a WHERE."""
    if not sets or not where:
        raise ValueError(f"an UPDATE of {table} needs assignments and conditions")
    lines = [f"UPDATE {table}", f"SET {', '.join(sets)}", f"WHERE {_AND.join(where)}"]
    if returning:
        lines.append(f"RETURNING {returning}")
    return "\n".join(lines)


def _delete_sql(table: str, where: Sequence[str]) -> str:
    """``DELETE FROM table WHERE …``; a DELETE always has a WHERE."""
    if not where:
        raise ValueError(f"a DELETE from {table} needs conditions")
    return f"DELETE FROM {table}\nWHERE {_AND.join(where)}"


def _assignments(
    fields: Mapping[str, Any], columns: frozenset[str], what: str
) -> tuple[list[str], dict[str, Any]]:
    """``col = :set_col`` for each of the ``fields`` to write (datetimes as ISO strings),
    and their parameters; the prefix keeps them apart from the statement's own parameters."""
    unknown = set(fields) - columns
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} on {what}")
    sets = [f"{name} = :set_{name}" for name in fields]
    values = {
        f"set_{name}": _iso(value) if isinstance(value, datetime) else value
        for name, value in fields.items()
    }
    return sets, values


def _task_assignments(
    fields: Mapping[str, Any], count_attempt: bool
) -> tuple[list[str], dict[str, Any]]:
    """:func:`_assignments` for a planned task: dicts as JSON, errors redacted, and
    ``attempts = attempts + 1`` when the call counts as an attempt."""
    stored = {name: _task_value(name, value) for name, value in fields.items()}
    sets, values = _assignments(stored, _TASK_COLUMNS, "a planned task")
    return (["attempts = attempts + 1"] if count_attempt else []) + sets, values


def _task_value(name: str, value: Any) -> Any:
    if name in ("pause_marker", "prior_task") and value is not None:
        return json.dumps(value, default=str)
    if name == "last_error" and value:
        return redact(str(value))
    return value


def _in(
    column: str, values: Iterable[Any], *, name: str | None = None
) -> tuple[str, dict[str, Any]]:
    """``column IN (:name0, :name1, …)`` and its parameters (``name`` defaults to the column).
    An empty list gives ``IN (NULL)``, which matches nothing rather than being a syntax error."""
    items = {f"{name or column}{i}": value for i, value in enumerate(values)}
    return f"{column} IN ({', '.join(f':{key}' for key in items) or 'NULL'})", items


def _actions_and_outcomes(
    actions: Sequence[str], outcomes: Sequence[str]
) -> tuple[list[str], dict[str, Any]]:
    """The conditions (and parameters) for audit rows among ``actions`` with one of
    ``outcomes``."""
    in_actions, action_values = _in("action", actions)
    in_outcomes, outcome_values = _in("outcome", outcomes)
    return [in_actions, in_outcomes], {**action_values, **outcome_values}


def _states(expected: StrEnum | Sequence[StrEnum]) -> list[str]:
    return [expected.value] if isinstance(expected, StrEnum) else [s.value for s in expected]


def _ref_values(ref: TaskRef) -> dict[str, str]:
    return {"system": ref.system, "kind": ref.kind.value, "task_id": ref.id}


def _at(start: PredictedStart) -> datetime:
    return start.at


def _from_json(value: str | None) -> Any:
    return json.loads(value) if value else None


def _decoded(
    row: Mapping[str, Any], *, times: Sequence[str] = (), json_columns: Sequence[str] = ()
) -> dict[str, Any]:
    """A row as its record takes it: the ``times`` (ISO text) as datetimes and the
    ``json_columns`` decoded, NULL staying ``None``."""
    return {
        **row,
        **{column: _when(row[column]) for column in times},
        **{column: _from_json(row[column]) for column in json_columns},
    }


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
