"""The store on a real SQLite file and a real PostgreSQL database: migrations, append-only
audit, compare-and-set. Tests marked ``engines("sqlite")`` are about SQLite itself (its
pragmas, its raw connections, its authorizer); tests/test_store_postgres.py holds their
PostgreSQL counterparts."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.errors import StoreError
from bot.model import ApprovalState, PlannedTaskState, TaskKind, TaskRef, Window, WindowState
from bot.store import _MIGRATIONS, SCHEMA_VERSION, Store, _split

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
WINDOW = Window(start=START, end=START + timedelta(hours=2), tz="UTC", text="Saturday 10-12")
REF = TaskRef(system="talend", kind=TaskKind.TASK, id="t-1")

pytestmark = pytest.mark.engines("sqlite", "postgresql")
SQLITE_ONLY = pytest.mark.engines("sqlite")


@SQLITE_ONLY
def test_new_database_is_at_the_current_schema_in_wal_mode(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    mode = store.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_first_release_database_migrates_without_losing_rows(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    for statement in _split(_MIGRATIONS[1]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO windows (id, text, tz, start_at, end_at, state, requested_by, created_at, "
        "updated_at) VALUES ('w_old', 'old', 'UTC', ?, ?, 'approved', 'alice', ?, ?)",
        (
            START.isoformat(),
            (START + timedelta(hours=1)).isoformat(),
            START.isoformat(),
            START.isoformat(),
        ),
    )
    conn.execute(
        "INSERT INTO audit (at, actor, action, outcome) VALUES (?, 'alice', 'plan', 'ok')",
        (START.isoformat(),),
    )
    conn.commit()
    conn.close()

    store = Store(path, clock=clock)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        old = store.get_window("w_old")
        assert (old.state, old.requested_by, old.drain_lead_seconds, old.notes) == (
            WindowState.APPROVED,
            "alice",
            0,
            (),
        )
        assert [r.action for r in store.audit_rows()] == ["plan"]
        assert store.claim_alert("w_old", "start") is True  # a v2 table now exists
    finally:
        store.close()


def test_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this maintbot understands"):
        Store(path)


# Every statement SQLite has that can change or remove an existing audit row. The triggers
# refuse the row changes on any connection; the store's authorizer refuses the schema changes
# that would remove the triggers or the table.
_ROW_REWRITES = [
    "UPDATE audit SET outcome = 'failed'",
    "UPDATE OR REPLACE audit SET outcome = 'failed'",
    "UPDATE OR IGNORE audit SET outcome = 'failed'",
    "DELETE FROM audit",
    "DELETE FROM audit WHERE id = 1",
    "REPLACE INTO audit (id, at, actor, action, outcome) VALUES (1, 'x', 'mallory', 'pause', 'ok')",
    "INSERT OR REPLACE INTO audit (id, at, actor, action, outcome) "
    "VALUES (1, 'x', 'mallory', 'pause', 'ok')",
    "INSERT INTO audit (id, at, actor, action, outcome) VALUES (1, 'x', 'mallory', 'pause', 'ok') "
    "ON CONFLICT(id) DO UPDATE SET outcome = 'failed'",
    "INSERT OR IGNORE INTO audit (id, at, actor, action, outcome) "
    "VALUES (1, 'x', 'mallory', 'pause', 'ok')",
]
_SCHEMA_REWRITES = [
    "DROP TABLE audit",
    "DROP TRIGGER audit_no_update",
    "DROP TRIGGER audit_no_delete",
    "DROP TRIGGER audit_no_replace",
    "ALTER TABLE audit RENAME TO audit_old",
    "ALTER TABLE audit RENAME COLUMN outcome TO result",
    "ALTER TABLE audit DROP COLUMN detail",
    "PRAGMA writable_schema = ON",
]


@SQLITE_ONLY
@pytest.mark.parametrize("statement", _ROW_REWRITES)
def test_audit_rows_cannot_be_rewritten_by_any_statement(store: Store, statement: str) -> None:
    store.audit("alice", "pause", "ok", system="talend", task_id="t-1")
    before = store.audit_rows()
    with pytest.raises(sqlite3.DatabaseError, match=r"append-only|not authorized"):
        store.db.execute(statement)
    assert store.audit_rows() == before


@SQLITE_ONLY
@pytest.mark.parametrize("statement", _ROW_REWRITES[:-1])
def test_audit_triggers_hold_on_a_raw_connection_too(
    store: Store, tmp_path: Path, statement: str
) -> None:
    store.audit("alice", "pause", "ok", system="talend", task_id="t-1")
    before = store.audit_rows()
    raw = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute(statement)
    finally:
        raw.close()
    assert store.audit_rows() == before


@SQLITE_ONLY
@pytest.mark.parametrize("statement", _SCHEMA_REWRITES)
def test_audit_schema_cannot_be_dropped_or_altered_through_the_store(
    store: Store, statement: str
) -> None:
    store.audit("alice", "pause", "ok", system="talend", task_id="t-1")
    before = store.audit_rows()
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        store.db.execute(statement)
    triggers = {
        r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    }
    assert {"audit_no_update", "audit_no_delete", "audit_no_replace"} <= triggers
    assert store.audit_rows() == before
    store.audit("bob", "resume", "ok")  # appending still works
    assert len(store.audit_rows()) == 2


@SQLITE_ONLY
def test_other_tables_still_accept_schema_and_row_changes(store: Store) -> None:
    """The guard is for the audit trail alone: the store's own deletes keep working."""
    assert store.claim_alert("w_1", "start") is True
    store.release_alert("w_1", "start")
    assert store.claim_alert("w_1", "start") is True
    store.db.execute("CREATE TABLE scratch (x INTEGER)")
    store.db.execute("DROP TABLE scratch")


def test_audit_rows_newest_first_with_all_fields(store: Store, clock: ManualClock) -> None:
    store.audit("alice", "plan", "ok", window_id="w_1", request_id="r1")
    clock.advance(timedelta(seconds=5))
    store.audit(
        "maintbot",
        "pause",
        "failed",
        system="talend",
        task_id="t-1",
        window_id="w_1",
        reason="maintenance w_1",
        error="503 from vendor",
        detail={"attempt": 2},
    )
    newest, oldest = store.audit_rows()
    assert (newest.actor, newest.action, newest.outcome, newest.error, newest.detail) == (
        "maintbot",
        "pause",
        "failed",
        "503 from vendor",
        {"attempt": 2},
    )
    assert newest.at - oldest.at == timedelta(seconds=5)
    assert oldest.request_id == "r1"
    assert [r.action for r in store.audit_rows(window_id="w_1", limit=1)] == ["pause"]


def test_secrets_in_error_text_are_redacted_before_they_reach_the_audit_log(store: Store) -> None:
    store.audit("maintbot", "pause", "failed", error="401 for Bearer abcdef123456789 token")
    row = store.audit_rows()[0]
    assert row.error is not None
    assert "abcdef123456789" not in row.error


def test_window_and_tasks_are_recorded_together(store: Store) -> None:
    record = store.create_window(WINDOW, requested_by="alice", tasks=[(REF, "Nightly load")])
    assert record.window == WINDOW
    assert record.state is WindowState.PLANNED
    (planned,) = store.window_tasks(record.id)
    assert (planned.ref, planned.task_name, planned.state) == (
        REF,
        "Nightly load",
        PlannedTaskState.PLANNED,
    )


def test_window_transition_is_compare_and_set(store: Store) -> None:
    record = store.create_window(WINDOW, requested_by="alice", tasks=[])
    assert store.transition_window(
        record.id, WindowState.PLANNED, WindowState.APPROVED, approved_by="bob"
    )
    assert not store.transition_window(
        record.id, WindowState.PLANNED, WindowState.APPROVED, approved_by="carol"
    )
    after = store.get_window(record.id)
    assert (after.state, after.approved_by, after.version) == (WindowState.APPROVED, "bob", 2)


def test_concurrent_claims_have_exactly_one_winner(store: Store) -> None:
    record = store.create_window(WINDOW, requested_by="alice", tasks=[(REF, "Nightly")])
    (planned,) = store.window_tasks(record.id)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        wins.append(
            store.transition_task(
                planned.id, PlannedTaskState.PLANNED, PlannedTaskState.PAUSING, count_attempt=True
            )
        )

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]
    assert store.get_planned_task(planned.id).attempts == 1


def test_two_store_objects_on_one_database_see_one_winner(
    db_location: str, clock: ManualClock
) -> None:
    # The Slack app and a separate worker process (or two replicas) each open the database.
    first, second = Store(db_location, clock=clock), Store(db_location, clock=clock)
    try:
        record = first.create_window(WINDOW, requested_by="alice", tasks=[])
        approval = first.create_approval(record.id, requested_by="alice", expires_at=START)
        results = [
            first.decide_approval(approval.id, ApprovalState.APPROVED, "bob"),
            second.decide_approval(approval.id, ApprovalState.APPROVED, "carol"),
        ]
        assert results == [True, False]
        assert second.get_approval(approval.id).decided_by == "bob"
    finally:
        first.close()
        second.close()


def test_expired_approval_cannot_be_decided(store: Store, clock: ManualClock) -> None:
    record = store.create_window(WINDOW, requested_by="alice", tasks=[])
    approval = store.create_approval(
        record.id, requested_by="alice", expires_at=clock() + timedelta(minutes=5)
    )
    clock.advance(timedelta(minutes=5))
    assert store.decide_approval(approval.id, ApprovalState.APPROVED, "bob") is False
    assert store.expire_approvals() == [approval.id]
    assert store.get_approval(approval.id).state is ApprovalState.EXPIRED


def test_unknown_ids_are_clear_errors(store: Store) -> None:
    with pytest.raises(StoreError, match="no maintenance window with id 'w_nope'"):
        store.get_window("w_nope")
    with pytest.raises(StoreError, match="run the check again"):
        store.get_check("c_nope")


def test_transition_refuses_unknown_fields(store: Store) -> None:
    record = store.create_window(WINDOW, requested_by="alice", tasks=[])
    with pytest.raises(ValueError, match="cannot set"):
        store.transition_window(record.id, WindowState.PLANNED, WindowState.APPROVED, text="x")
    assert store.get_window(record.id).state is WindowState.PLANNED


def test_alerts_and_events_are_claimed_once(store: Store) -> None:
    assert store.claim_alert("w_1", "start") is True
    assert store.claim_alert("w_1", "start") is False
    assert store.claim_alert("w_1", "end") is True
    assert store.alerts_sent("w_1") == {"start", "end"}
    assert store.mark_event_processed("Ev1") is True
    assert store.mark_event_processed("Ev1") is False


def test_naive_datetimes_never_reach_the_database(store: Store) -> None:
    record = store.create_window(WINDOW, requested_by="alice", tasks=[])
    with pytest.raises(ValueError, match="naive"):
        store.transition_window(
            record.id,
            WindowState.PLANNED,
            WindowState.APPROVED,
            start_at=datetime(2026, 11, 21, 10, 0),
        )
    assert store.get_window(record.id).start == START


def test_check_reports_round_trip(store: Store) -> None:
    check_id = store.save_check({"conflicts": [{"task_id": "a"}]}, user_id="U1")
    assert store.get_check(check_id) == {"conflicts": [{"task_id": "a"}]}
    assert check_id.startswith("c_")
    assert len(check_id) > 10
