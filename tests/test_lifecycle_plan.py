"""The lifecycle's people-facing functions and the clock's vendor-free duties: planning rules,
cancel/extend/end rules (each refusal leaves the store as it was), reminders, dropping
windows nobody approved, drain lead, and the schema migration the lifecycle added."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.approvals import Policy
from bot.clock import ManualClock
from bot.errors import LifecycleError
from bot.lifecycle import (
    Alert,
    LogNotifier,
    WindowClock,
    approve_now,
    cancel_window,
    end_window_now,
    extend_window,
    pause_reason,
    plain_text,
    plan_window,
    request_approval,
    window_id_in,
)
from bot.model import (
    ApprovalState,
    PlannedTaskState,
    TaskKind,
    TaskRef,
    Window,
    WindowRecord,
    WindowState,
)
from bot.store import _MIGRATIONS, SCHEMA_VERSION, Store, _split

POLICY = Policy(approvers=frozenset({"bob"}))
REF = TaskRef(system="talend", kind=TaskKind.TASK, id="t1")
# The tests on a `store` run on both engines; those that build a SQLite file by hand do not.
pytestmark = pytest.mark.engines("sqlite", "postgresql")


class Notes:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def notify(
        self,
        window: WindowRecord,
        kind: str,
        text: str | Alert,
        *,
        actions: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None:
        self.sent.append((window.id, kind, plain_text(text, window.tz)))

    def kinds(self) -> list[str]:
        return [k for _, k, _ in self.sent]


def _window(clock: ManualClock, start_in: timedelta, length: timedelta) -> Window:
    start = clock() + start_in
    return Window(start=start, end=start + length, tz="Europe/Berlin", text="sat 2-4am")


def _plan(
    store: Store,
    clock: ManualClock,
    *,
    start_in: timedelta = timedelta(hours=2),
    length: timedelta = timedelta(hours=2),
    approve: bool = True,
    drain: timedelta = timedelta(0),
) -> WindowRecord:
    record = plan_window(
        store,
        _window(clock, start_in, length),
        [(REF, "Nightly load")],
        requested_by="alice",
        now=clock(),
        drain_lead=drain,
    )
    if approve:
        record = approve_now(
            store, record.id, requested_by="alice", approved_by="bob", policy=POLICY, now=clock()
        )
    return record


def _snapshot(store: Store) -> tuple[Any, ...]:
    windows = store.list_windows()
    return (
        [w.model_dump() for w in windows],
        [store.window_tasks(w.id) for w in windows],
        [store.approvals_for(w.id) for w in windows],
        store.audit_rows(10_000),
    )


# -- planning ---------------------------------------------------------------------------------
def test_the_title_of_the_window_text_names_the_window(store: Store, clock: ManualClock) -> None:
    start = clock() + timedelta(hours=2)
    titled = Window(
        start=start,
        end=start + timedelta(hours=1),
        tz="UTC",
        text="db failover",
        title="db failover",
    )
    record = plan_window(store, titled, [(REF, "Nightly load")], requested_by="alice", now=clock())
    assert record.title == "db failover"
    assert store.get_window(record.id).window.title == "db failover"
    # A title the requester gives wins over the text's.
    later = titled.model_copy(
        update={"start": start + timedelta(hours=3), "end": start + timedelta(hours=4)}
    )
    record = plan_window(
        store, later, [(REF, "Nightly load")], requested_by="alice", now=clock(), title="CHG-7"
    )
    assert record.title == "CHG-7"


def test_plan_records_window_tasks_and_audit(store: Store, clock: ManualClock) -> None:
    record = plan_window(
        store,
        _window(clock, timedelta(hours=2), timedelta(hours=2)),
        [(REF, "Nightly load"), (REF, "dup"), (TaskRef(system="bmc", kind="etl", id="7"), "")],
        requested_by=" alice ",
        now=clock(),
        drain_lead=timedelta(minutes=5),
    )
    assert record.state is WindowState.PLANNED
    assert record.requested_by == "alice"
    assert record.drain_lead_seconds == 300
    assert record.tz == "Europe/Berlin"
    rows = store.window_tasks(record.id)
    assert [(r.ref.key, r.task_name) for r in rows] == [
        ("bmc:etl:7", "7"),
        ("talend:task:t1", "Nightly load"),
    ]
    assert all(r.state is PlannedTaskState.PLANNED for r in rows)
    (audit,) = store.audit_rows(window_id=record.id)
    assert (audit.actor, audit.action, audit.outcome) == ("alice", "plan", "ok")


@pytest.mark.parametrize(
    ("start_in", "length", "tasks", "by", "message"),
    [
        (timedelta(hours=-3), timedelta(hours=2), True, "alice", "in the past"),
        (timedelta(hours=1), timedelta(days=15), True, "alice", "longer than the 14 days"),
        (timedelta(hours=1), timedelta(0), True, "alice", "ends before it starts"),
        (timedelta(hours=1), timedelta(hours=1), False, "alice", "No tasks to pause"),
        (timedelta(hours=1), timedelta(hours=1), True, "  ", "requested_by is required"),
    ],
)
def test_plan_refusals_record_nothing(
    store: Store,
    clock: ManualClock,
    start_in: timedelta,
    length: timedelta,
    tasks: bool,
    by: str,
    message: str,
) -> None:
    before = _snapshot(store)
    start = clock() + start_in
    with pytest.raises(LifecycleError, match=message):
        plan_window(
            store,
            Window(start=start, end=start + length, tz="UTC"),
            [(REF, "x")] if tasks else [],
            requested_by=by,
            now=clock(),
        )
    assert _snapshot(store) == before


def test_request_approval_only_for_planned_windows(store: Store, clock: ManualClock) -> None:
    record = _plan(store, clock)
    with pytest.raises(LifecycleError, match="only a planned window"):
        request_approval(store, record.id, requested_by="alice", now=clock())
    with pytest.raises(LifecycleError, match="no maintenance window"):
        request_approval(store, "w_unknown", requested_by="alice", now=clock())


# -- cancel / extend / end ----------------------------------------------------------------------
def test_cancel_planned_closes_its_approval_requests(store: Store, clock: ManualClock) -> None:
    record = _plan(store, clock, approve=False)
    approval = request_approval(store, record.id, requested_by="alice", now=clock())
    cancelled = cancel_window(store, record.id, by="alice", now=clock())
    assert cancelled.state is WindowState.CANCELLED
    assert cancelled.finished_at == clock()
    assert store.get_approval(approval.id).state is ApprovalState.EXPIRED
    before = _snapshot(store)
    with pytest.raises(LifecycleError, match="already cancelled"):
        cancel_window(store, record.id, by="alice", now=clock())
    with pytest.raises(LifecycleError, match="no maintenance window with id 'w_nope'"):
        cancel_window(store, "w_nope", by="alice", now=clock())
    assert _snapshot(store) == before


def test_extend_rules(store: Store, clock: ManualClock) -> None:
    planned = _plan(store, clock, approve=False)
    approved = _plan(store, clock, length=timedelta(days=13, hours=23))
    before = _snapshot(store)
    with pytest.raises(LifecycleError, match="Only an approved or active window"):
        extend_window(store, planned.id, by="bob", delta=timedelta(minutes=30), now=clock())
    with pytest.raises(LifecycleError, match=r"at most 1h\b"):
        extend_window(store, approved.id, by="bob", delta=timedelta(hours=2), now=clock())
    with pytest.raises(LifecycleError, match="positive"):
        extend_window(store, approved.id, by="bob", delta=timedelta(0), now=clock())
    assert _snapshot(store) == before
    extended = extend_window(store, approved.id, by="bob", delta=timedelta(hours=1), now=clock())
    assert extended.end - extended.start == timedelta(days=14)
    (row,) = [r for r in store.audit_rows(5, window_id=approved.id) if r.action == "extend"]
    assert row.actor == "bob"
    assert row.detail is not None
    assert row.detail["new_end"] == extended.end.isoformat()


def test_end_now_rules(store: Store, clock: ManualClock) -> None:
    record = _plan(store, clock)
    with pytest.raises(LifecycleError, match="has not started yet; cancel it instead"):
        end_window_now(store, record.id, by="bob", now=clock())
    clock.advance(timedelta(hours=2, minutes=10))
    assert store.transition_window(record.id, WindowState.APPROVED, WindowState.ACTIVE)
    ended = end_window_now(store, record.id, by="bob", now=clock())
    assert ended.end == clock()
    again = end_window_now(store, record.id, by="bob", now=clock())
    assert again.end == ended.end
    assert store.audit_rows(1, window_id=record.id)[0].outcome == "no_change"
    with pytest.raises(LifecycleError, match="already reached its end"):
        extend_window(store, record.id, by="bob", delta=timedelta(minutes=30), now=clock())


# -- the clock without vendors --------------------------------------------------------------------
async def test_reminders_at_60_and_10_minutes_once_each(store: Store, clock: ManualClock) -> None:
    record = _plan(store, clock, start_in=timedelta(hours=3))
    notes = Notes()
    wclock = WindowClock(store, {}, clock, notes)
    for _ in range(3):
        await wclock.tick()
    assert notes.sent == []
    clock.advance(timedelta(hours=2))
    await wclock.tick()
    await WindowClock(store, {}, clock, notes).tick()  # a restart does not repeat it
    clock.advance(timedelta(minutes=50))
    await wclock.tick()
    assert notes.kinds() == ["reminder", "reminder"]
    assert "starts in 1h " in notes.sent[0][2]
    assert "starts in 10m " in notes.sent[1][2]
    assert "Nightly load (talend)" in notes.sent[0][2]
    assert record.id in notes.sent[0][2]


async def test_unapproved_window_is_dropped_at_its_start(store: Store, clock: ManualClock) -> None:
    record = _plan(store, clock, approve=False)
    approval = request_approval(store, record.id, requested_by="alice", now=clock())
    notes = Notes()
    wclock = WindowClock(store, {}, clock, notes)
    await wclock.tick()
    assert notes.sent == []  # no reminders for a window nobody approved
    clock.advance(timedelta(hours=2))
    report = await wclock.tick()
    assert report.dropped == [record.id]
    assert report.expired_approvals == [approval.id]
    assert store.get_window(record.id).state is WindowState.CANCELLED
    assert notes.kinds() == ["not_approved"]
    assert store.get_approval(approval.id).state is ApprovalState.EXPIRED


async def test_window_planned_to_start_now_waits_for_its_approval(
    store: Store, clock: ManualClock
) -> None:
    record = _plan(store, clock, start_in=timedelta(0), approve=False)
    clock.advance(timedelta(seconds=5))
    wclock = WindowClock(store, {}, clock, Notes())
    assert (await wclock.tick()).dropped == []
    request_approval(store, record.id, requested_by="alice", now=clock())
    clock.advance(timedelta(minutes=30))
    assert (await wclock.tick()).dropped == []
    clock.advance(timedelta(hours=2))
    assert (await wclock.tick()).dropped == [record.id]


async def test_drain_lead_starts_early(store: Store, clock: ManualClock) -> None:
    record = _plan(store, clock, drain=timedelta(minutes=20))
    wclock = WindowClock(store, {}, clock, Notes())
    clock.advance(timedelta(hours=1, minutes=39))
    assert (await wclock.tick()).started == []
    clock.advance(timedelta(minutes=1))
    report = await wclock.tick()
    assert report.started == [record.id]
    assert report.late[0].by == timedelta(0)


async def test_retry_and_take_over_need_something_failing(store: Store, clock: ManualClock) -> None:
    record = _plan(store, clock)
    wclock = WindowClock(store, {}, clock, Notes())
    with pytest.raises(LifecycleError, match="no failed pause or resume"):
        wclock.retry(record.id, by="bob")
    (row,) = store.window_tasks(record.id)
    with pytest.raises(LifecycleError, match="only a task whose resume is failing"):
        wclock.take_over(row.id, by="bob")
    with pytest.raises(LifecycleError, match="no planned task"):
        wclock.take_over(999_999, by="bob")


async def test_log_notifier_is_loud_for_failures(caplog: pytest.LogCaptureFixture) -> None:
    notifier = LogNotifier()
    record: Any = type("W", (), {"id": "w_x"})()
    with caplog.at_level(logging.INFO, logger="bot.alerts"):
        await notifier.notify(record, "start", "started")
        await notifier.notify(record, "resume_failed", "stuck", actions=("retry_resume",))
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert levels[0] == (logging.INFO, "start (window w_x): started")
    assert levels[1] == (
        logging.WARNING,
        "resume_failed (window w_x): stuck [actions: retry_resume]",
    )


# -- small pieces -------------------------------------------------------------------------------
def test_pause_reason_names_the_window(store: Store, clock: ManualClock) -> None:
    record = _plan(store, clock)
    assert window_id_in(pause_reason(record)) == record.id
    assert window_id_in("paused by ops for a release") is None
    assert window_id_in(None) is None


def test_migration_3_upgrades_an_older_database_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version in (1, 2):
        for statement in _split(_MIGRATIONS[version]):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO windows (id, text, tz, start_at, end_at, state, requested_by, created_at, "
        "updated_at) VALUES ('w_old', 't', 'UTC', '2026-11-21T02:00:00+00:00', "
        "'2026-11-21T04:00:00+00:00', 'approved', 'alice', '2026-11-18T18:00:00+00:00', "
        "'2026-11-18T18:00:00+00:00')"
    )
    conn.execute(
        "INSERT INTO window_tasks (window_id, system, kind, task_id, task_name, state) "
        "VALUES ('w_old', 'talend', 'task', 't1', 'Nightly', 'planned')"
    )
    conn.close()
    store = Store(path)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        record = store.get_window("w_old")
        assert record.started_at is None
        (row,) = store.window_tasks("w_old")
        assert row.pause_marker is None
        assert row.next_attempt_at is None
        # Migration 4: an old row has no owner and no lease, which reads as an expired claim.
        assert (row.claimed_by, row.lease_until) == (None, None)
        assert [w.id for w in store.open_windows()] == ["w_old"]
    finally:
        store.close()
