"""The window clock against the four vendor simulators over loopback HTTP.

Time is a ManualClock shared by the store, the simulators and the clock loop: a test moves
it and calls ``tick()``; nothing sleeps for time. "Someone else" changing a task is done
through each simulator's own test hooks, as a person in the vendor's console would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from bot.approvals import Policy
from bot.check import Scheduler, open_schedulers
from bot.clock import ManualClock
from bot.connectors.base import Connector, RetryPolicy
from bot.errors import LifecycleError
from bot.lifecycle import (
    Alert,
    LogNotifier,
    TickReport,
    WindowClock,
    approve_now,
    cancel_window,
    decide,
    end_window_now,
    extend_window,
    pause_reason,
    plain_text,
    plan_window,
    request_approval,
)
from bot.model import (
    PlannedTask,
    PlannedTaskState,
    Task,
    TaskRef,
    Window,
    WindowRecord,
    WindowState,
)
from bot.sandbox import SIMULATORS, SandboxServer, Simulator, make_simulators, sandbox_config
from bot.sandbox.base import RecordedRequest
from bot.store import Store

S = PlannedTaskState
POLICY = Policy(approvers=frozenset({"bob"}))
VENDORS = tuple(SIMULATORS)
# Every lifecycle test runs on both store engines (its `store` fixture, see conftest.py).
pytestmark = pytest.mark.engines("sqlite", "postgresql")


# -- harness ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Note:
    window_id: str
    kind: str
    text: str  # as plain text, in the window's zone (what the log shows)
    actions: tuple[str, ...]
    alert: Alert | None = None


class Recorder:
    """A Notifier that keeps what it was asked to send (and can be made to fail)."""

    def __init__(self) -> None:
        self.sent: list[Note] = []
        self.fail_next = 0

    async def notify(
        self,
        window: WindowRecord,
        kind: str,
        text: str | Alert,
        *,
        actions: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("the chat service is down")
        alert = text if isinstance(text, Alert) else None
        self.sent.append(Note(window.id, kind, plain_text(text, window.tz), tuple(actions), alert))

    def kinds(self, window_id: str | None = None) -> list[str]:
        return [n.kind for n in self.sent if window_id is None or n.window_id == window_id]

    def of(self, kind: str, window_id: str | None = None) -> list[Note]:
        return [
            n
            for n in self.sent
            if n.kind == kind and (window_id is None or n.window_id == window_id)
        ]

    def alert(self, kind: str, window_id: str | None = None) -> Alert:
        """The one ``kind`` notification sent (for ``window_id``), as the alert it was."""
        found = self.of(kind, window_id)
        assert len(found) == 1, found
        assert found[0].alert is not None
        return found[0].alert


def fast_retries(connectors: dict[str, Connector]) -> None:
    """Connectors retry inside one call with real sleeps; keep those short in tests (the
    behaviour under test is the clock's own retry across ticks)."""
    for connector in connectors.values():
        # Talend spreads its requests over several clients ("shards").
        for http in getattr(connector, "shards", None) or [connector.http]:
            http.retry = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.005)


@dataclass
class Env:
    clock: ManualClock
    store: Store
    sims: dict[str, Simulator]
    connectors: dict[str, Connector]
    schedulers: list[Scheduler]
    notes: Recorder = field(default_factory=Recorder)
    clocks: int = 0

    def window_clock(self, **options: Any) -> WindowClock:
        """A fresh WindowClock, as after a worker restart: nothing carried in memory."""
        self.clocks += 1
        options.setdefault("retry_backoff", timedelta(minutes=1))
        return WindowClock(self.store, self.connectors, self.clock, self.notes, **options)

    async def active(self, system: str, count: int = 1, skip: int = 0) -> list[Task]:
        tasks = await self.connectors[system].list_tasks()
        usable = [t for t in tasks if not t.paused and _pausable(t)]
        usable.sort(key=lambda t: t.name)
        assert len(usable) >= skip + count, f"{system}: not enough active tasks"
        return usable[skip : skip + count]

    async def paused_already(self, system: str) -> Task:
        tasks = await self.connectors[system].list_tasks()
        return sorted((t for t in tasks if t.paused), key=lambda t: t.name)[0]

    def plan(
        self,
        tasks: Sequence[Task],
        *,
        start_in: timedelta = timedelta(minutes=30),
        length: timedelta = timedelta(hours=1),
        approve: bool = True,
        text: str = "test window",
    ) -> WindowRecord:
        start = self.clock() + start_in
        window = Window(start=start, end=start + length, tz="UTC", text=text)
        record = plan_window(
            self.store,
            window,
            [(t.ref, t.name) for t in tasks],
            requested_by="alice",
            now=self.clock(),
        )
        if approve:
            record = approve_now(
                self.store,
                record.id,
                requested_by="alice",
                approved_by="bob",
                policy=POLICY,
                now=self.clock(),
            )
        return record

    async def at(self, wclock: WindowClock, delta: timedelta) -> TickReport:
        self.clock.advance(delta)
        return await wclock.tick()

    def paused(self, ref: TaskRef) -> bool:
        """The simulator's own view (``GET /_sandbox/state``'s data), not the connector's."""
        for item in self.sims[ref.system].state()["tasks"]:
            if str(item["id"]) == ref.id:
                return bool(item["paused"])
        raise KeyError(ref.key)

    def external(self, ref: TaskRef, paused: bool, *, who: str = "ops@example.com") -> None:
        """Someone changes the task in the vendor's own console."""
        sim: Any = self.sims[ref.system]
        if ref.system == "talend":
            sim.set_pause(ref.id, paused, user=who, context="manual hold" if paused else "")
        elif ref.system == "pyramid":
            sim.set_status(ref.id, "HOLD" if paused else "IDLE")
        elif ref.system == "bmc":
            sim.set_state(ref.id, "ENDED" if paused else "WAITING")
        elif ref.system == "huawei":
            with sim._lock:
                sim.tasks[ref.id].set_enabled(not paused, self.clock())
        else:  # pragma: no cover - a new vendor needs a line here
            raise AssertionError(ref.system)

    def writes(self, ref: TaskRef) -> list[RecordedRequest]:
        """The vendor calls that change ``ref`` (pause or resume), from the request log."""
        sim = self.sims[ref.system]
        return [r for r in sim.requests if is_write(ref, r)]

    def rows(self, record: WindowRecord) -> dict[str, PlannedTask]:
        return {r.ref.key: r for r in self.store.window_tasks(record.id)}

    def state(self, record: WindowRecord) -> WindowState:
        return self.store.get_window(record.id).state


def _pausable(task: Task) -> bool:
    # BMC will not stop a running batch ETL, and inert states are not "active".
    return task.vendor_state not in ("RUNNING", "ABORTED", "")


def is_write(ref: TaskRef, r: RecordedRequest) -> bool:
    if ref.system == "talend":
        return r.method == "PUT" and r.path.endswith(f"/{ref.id}/pause")
    if ref.system == "pyramid":
        return r.path.endswith(("suspendSchedule", "resumeSchedule")) and ref.id.encode() in r.body
    if ref.system == "bmc":
        return r.method == "POST" and r.path.endswith(
            (f"/{ref.id}/stop", f"/{ref.id}/run", f"/{ref.id}/schedule")
        )
    if ref.system == "huawei":
        return r.method in ("PATCH", "PUT") and r.path.endswith(f"/{ref.id}")
    raise AssertionError(ref.system)


def audit_outcomes(store: Store, record: WindowRecord, ref: TaskRef, action: str) -> list[str]:
    rows = store.audit_rows(10_000, window_id=record.id)
    return [
        r.outcome
        for r in reversed(rows)
        if r.action == action and r.system == ref.system and r.task_id == ref.id
    ]


@pytest.fixture
async def env(clock: ManualClock, store: Store) -> AsyncIterator[Env]:
    sims = make_simulators(clock=clock)
    server = SandboxServer(sims)
    server.start()
    schedulers = open_schedulers(sandbox_config(sims), clock)
    connectors = {s.name: s.connector for s in schedulers if s.connector is not None}
    fast_retries(connectors)
    try:
        yield Env(clock, store, {s.vendor: s for s in sims}, connectors, schedulers)
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))
        server.stop()


# -- pause at the start, resume at the end ------------------------------------------------------
def test_every_registered_vendor_is_simulated() -> None:
    # The per-system test below covers every system the sandbox runs.
    assert set(SIMULATORS) == set(VENDORS)


async def test_pause_at_start_and_resume_at_end_every_system(env: Env) -> None:
    tasks = [t for system in VENDORS for t in await env.active(system, 2)]
    record = env.plan(tasks, start_in=timedelta(minutes=90), length=timedelta(hours=2))
    wclock = env.window_clock()

    report = await env.at(wclock, timedelta(minutes=30))  # T-60
    assert report.kinds() == ["reminder"]
    assert "starts in 1h " in env.notes.of("reminder")[-1].text
    assert await wclock.tick() == TickReport(now=env.clock())  # nothing twice
    report = await env.at(wclock, timedelta(minutes=50))  # T-10
    assert report.kinds() == ["reminder"]
    assert "starts in 10m " in env.notes.of("reminder")[-1].text
    assert not any(env.paused(t.ref) for t in tasks)

    report = await env.at(wclock, timedelta(minutes=10))  # the start
    assert report.started == [record.id]
    assert sorted(k for _, k in report.paused) == sorted(t.ref.key for t in tasks)
    assert all(env.paused(t.ref) for t in tasks)
    assert env.state(record) is WindowState.ACTIVE
    start_note = env.notes.of("start")[-1]
    assert "Paused (8)" in start_note.text
    assert "late" not in start_note.text
    for row in env.rows(record).values():
        assert row.state is S.PAUSED
        assert row.prior_paused is False
        assert row.pause_marker is not None
    # The pause reason names the window wherever the vendor keeps one.
    talend = next(t for t in tasks if t.ref.system == "talend")
    assert (await env.connectors["talend"].read_state(talend.ref)).pause_reason == pause_reason(
        env.store.get_window(record.id)
    )

    report = await env.at(wclock, timedelta(minutes=110))  # 10 minutes before the end
    assert report.kinds() == ["before_end"]
    assert env.notes.of("before_end")[-1].actions == ("extend", "end_now")

    report = await env.at(wclock, timedelta(minutes=10))  # the end
    assert sorted(k for _, k in report.resumed) == sorted(t.ref.key for t in tasks)
    assert not any(env.paused(t.ref) for t in tasks)
    assert report.finished == [(record.id, WindowState.COMPLETED)]
    end_note = env.notes.of("end")[-1]
    assert "Resumed (8)" in end_note.text
    assert "skipped" in end_note.text
    assert env.notes.kinds(record.id) == ["reminder", "reminder", "start", "before_end", "end"]
    for t in tasks:
        assert len(env.writes(t.ref)) == 2, t.ref.key  # one pause, one resume
        assert audit_outcomes(env.store, record, t.ref, "pause") == ["attempt", "ok"]
        assert audit_outcomes(env.store, record, t.ref, "resume") == ["attempt", "ok"]
    assert (await env.at(wclock, timedelta(hours=1))).notifications == []


async def test_bmc_service_etl_comes_back_running(env: Env) -> None:
    bmc: Any = env.sims["bmc"]
    service = next(e for e in bmc.etls if getattr(e, "service", False) and e.state == "SERVICE_ON")
    ref = TaskRef(system="bmc", kind="etl", id=str(service.etl_id))
    record = env.plan([await env.connectors["bmc"].read_state(ref)])
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    assert bmc.state_of(ref.id) == "SERVICE_OFF"
    await env.at(wclock, timedelta(hours=1))
    assert bmc.state_of(ref.id) == "SERVICE_ON"
    assert env.rows(record)[ref.key].prior_vendor_state == "SERVICE_ON"


# -- other people's changes -------------------------------------------------------------------
@pytest.mark.parametrize("system", VENDORS)
async def test_task_paused_by_someone_else_is_left_alone(env: Env, system: str) -> None:
    before = await env.paused_already(system)
    active = (await env.active(system))[0]
    record = env.plan([before, active])
    wclock = env.window_clock()
    env.clock.advance(timedelta(minutes=25))
    env.external(active.ref, paused=True)  # paused by hand just before the window
    report = await env.at(wclock, timedelta(minutes=5))
    assert sorted(k for _, k in report.already_paused) == sorted([before.ref.key, active.ref.key])
    rows = env.rows(record)
    assert rows[before.ref.key].state is S.ALREADY_PAUSED
    assert rows[before.ref.key].prior_paused is True
    assert (
        "Left alone (already paused by someone else, or inactive) (2)"
        in env.notes.of("start")[-1].text
    )
    report = await env.at(wclock, timedelta(hours=1))
    assert report.resumed == []
    assert env.paused(before.ref)
    assert env.paused(active.ref)
    assert env.writes(before.ref) == []
    assert env.writes(active.ref) == []
    assert "paused by someone else before the window" in env.notes.of("end")[-1].text
    assert env.state(record) is WindowState.COMPLETED


@pytest.mark.parametrize("system", VENDORS)
async def test_task_resumed_by_someone_during_the_window_is_left_alone(
    env: Env, system: str
) -> None:
    (task,) = await env.active(system)
    record = env.plan([task])
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    assert env.paused(task.ref)
    env.clock.advance(timedelta(minutes=20))
    env.external(task.ref, paused=False)
    env.clock.advance(timedelta(minutes=10))
    env.external(task.ref, paused=True)  # and paused again, by hand, for their own reasons
    env.clock.advance(timedelta(minutes=10))
    if system != "talend":
        # Vendors without a pause reason cannot tell a re-pause from the bot's own; only a
        # task left running can be recognised, so resume it by hand for the rest.
        env.external(task.ref, paused=False)
    report = await env.at(wclock, timedelta(minutes=20))
    assert report.left_alone == [(record.id, task.ref.key)]
    row = env.rows(record)[task.ref.key]
    assert row.state is S.LEFT_ALONE
    if system == "talend":
        assert env.paused(task.ref)  # their pause stays
        assert row.note is not None
        assert "re-paused by ops@example.com" in row.note
    else:
        assert not env.paused(task.ref)
        assert row.note == "resumed by someone else during the window"
    assert len(env.writes(task.ref)) == 1  # the bot's pause only
    assert audit_outcomes(env.store, record, task.ref, "resume") == ["attempt", "no_change"]
    # Everything the bot paused was restored, but someone broke the hold: an exception.
    assert env.state(record) is WindowState.COMPLETED_WITH_EXCEPTIONS
    end = env.notes.of("end")[-1].text
    assert "has ended: completed with exceptions. 1 changed by someone" in end
    assert (
        f"Left alone (changed by someone during the window) (1): {task.name} ({system}): "
        f"{row.note}." in end
    )


# -- overlapping windows ------------------------------------------------------------------------
async def test_overlapping_windows_share_the_pause(env: Env) -> None:
    tasks = [(await env.active(system))[0] for system in VENDORS]
    first = env.plan(tasks, start_in=timedelta(minutes=30), length=timedelta(hours=1))
    second = env.plan(tasks, start_in=timedelta(minutes=60), length=timedelta(hours=1))
    wclock = env.window_clock()
    report = await env.at(wclock, timedelta(minutes=30))
    assert len(report.paused) == len(tasks)
    report = await env.at(wclock, timedelta(minutes=30))  # the second starts
    assert sorted(k for _, k in report.shared) == sorted(t.ref.key for t in tasks)
    assert report.already_paused == []
    for row in env.rows(second).values():
        assert row.state is S.PAUSED
        assert row.prior_paused is False  # the state before either window
    report = await env.at(wclock, timedelta(minutes=30))  # the first ends
    assert len(report.handed_over) == len(tasks)
    assert report.resumed == []
    assert all(env.paused(t.ref) for t in tasks)
    assert env.state(first) is WindowState.COMPLETED
    report = await env.at(wclock, timedelta(minutes=30))  # the second ends
    assert len(report.resumed) == len(tasks)
    assert not any(env.paused(t.ref) for t in tasks)
    assert env.state(second) is WindowState.COMPLETED
    for t in tasks:
        assert len(env.writes(t.ref)) == 2, t.ref.key  # paused once, resumed once


async def test_window_inside_another_hands_back_to_the_outer_one(env: Env) -> None:
    (task,) = await env.active("talend")
    outer = env.plan([task], start_in=timedelta(minutes=30), length=timedelta(hours=3))
    inner = env.plan([task], start_in=timedelta(minutes=60), length=timedelta(hours=1))
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    await env.at(wclock, timedelta(minutes=30))
    report = await env.at(wclock, timedelta(hours=1))  # the inner one ends first
    assert report.handed_over == [(inner.id, task.ref.key)]
    assert env.paused(task.ref)
    report = await env.at(wclock, timedelta(hours=1, minutes=30))
    assert report.resumed == [(outer.id, task.ref.key)]
    assert not env.paused(task.ref)
    assert len(env.writes(task.ref)) == 2


async def test_back_to_back_windows_do_not_resume_in_between(env: Env) -> None:
    (task,) = await env.active("pyramid")
    first = env.plan([task], start_in=timedelta(minutes=30), length=timedelta(hours=1))
    second = env.plan([task], start_in=timedelta(minutes=90), length=timedelta(hours=1))
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    report = await env.at(wclock, timedelta(hours=1))  # one ends as the other starts
    assert report.shared == [(second.id, task.ref.key)]
    assert report.handed_over == [(first.id, task.ref.key)]
    assert report.resumed == []
    await env.at(wclock, timedelta(hours=1))
    assert not env.paused(task.ref)
    assert len(env.writes(task.ref)) == 2


async def test_second_window_takes_over_a_failing_resume(env: Env) -> None:
    (task,) = await env.active("talend")
    first = env.plan([task], start_in=timedelta(minutes=30), length=timedelta(hours=1))
    second = env.plan([task], start_in=timedelta(minutes=95), length=timedelta(hours=1))
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    env.sims["talend"].faults.fail(503, times=100, path_contains="/pause")
    report = await env.at(wclock, timedelta(hours=1))
    assert report.resume_failed == [(first.id, task.ref.key)]
    env.sims["talend"].faults.clear()
    report = await env.at(wclock, timedelta(minutes=5))  # the second window starts
    assert report.shared == [(second.id, task.ref.key)]
    assert env.rows(first)[task.ref.key].state is S.HANDED_OVER
    assert env.state(first) is WindowState.COMPLETED
    assert env.paused(task.ref)
    await env.at(wclock, timedelta(hours=1))
    assert not env.paused(task.ref)


# -- extend, end early, cancel -------------------------------------------------------------
async def test_extend_then_end_early(env: Env) -> None:
    (task,) = await env.active("huawei")
    record = env.plan([task])
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    report = await env.at(wclock, timedelta(minutes=50))
    assert report.kinds() == ["before_end"]
    extend_window(env.store, record.id, by="bob", delta=timedelta(minutes=30), now=env.clock())
    report = await env.at(wclock, timedelta(minutes=10))  # the old end
    assert report.resumed == []
    assert env.paused(task.ref)
    report = await env.at(wclock, timedelta(minutes=20))  # 10 min before the new end
    assert report.kinds() == ["before_end"]  # asked again for the new end
    end_window_now(env.store, record.id, by="bob", now=env.clock())
    report = await wclock.tick()
    assert report.resumed == [(record.id, task.ref.key)]
    assert not env.paused(task.ref)
    actions = [r.action for r in reversed(env.store.audit_rows(100, window_id=record.id))]
    assert "extend" in actions
    assert "end" in actions


async def test_cancel_active_window_resumes_now(env: Env) -> None:
    (task,) = await env.active("bmc")
    record = env.plan([task])
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    assert env.paused(task.ref)
    cancelled = cancel_window(env.store, record.id, by="alice", now=env.clock())
    assert cancelled.end == env.clock()
    report = await wclock.tick()
    assert report.resumed == [(record.id, task.ref.key)]
    assert not env.paused(task.ref)


async def test_cancel_approved_window_calls_no_vendor(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task])
    before = len(env.sims["talend"].requests)
    cancel_window(env.store, record.id, by="alice", now=env.clock())
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    await env.at(wclock, timedelta(hours=1))
    assert env.state(record) is WindowState.CANCELLED
    assert len(env.sims["talend"].requests) == before
    assert env.notes.sent == []


# -- vendor failures --------------------------------------------------------------------------
async def test_pause_failing_is_retried_then_reported_after_the_grace(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task])
    wclock = env.window_clock()
    env.sims["talend"].faults.fail(503, times=10_000, path_contains="/pause")
    report = await env.at(wclock, timedelta(minutes=30))
    assert report.pause_retrying == [(record.id, task.ref.key)]
    start_note = env.notes.of("start")[-1]
    assert "Not paused yet (retrying) (1)" in start_note.text
    row = env.rows(record)[task.ref.key]
    assert row.state is S.PLANNED
    assert row.next_attempt_at == env.clock() + timedelta(minutes=1)
    assert row.last_error is not None
    assert "503" in row.last_error
    assert (await wclock.tick()).pause_retrying == []  # not before its backoff
    attempts = 1
    while env.rows(record)[task.ref.key].state is S.PLANNED:
        report = await env.at(wclock, timedelta(minutes=1))
        attempts += bool(report.pause_retrying or report.pause_failed)
    assert env.clock() - env.store.get_window(record.id).start == timedelta(minutes=15)
    assert 4 <= attempts <= 6  # backoff 1, 2, 4, 8 … cut at the 15-minute grace
    assert env.rows(record)[task.ref.key].state is S.PAUSE_FAILED
    (failed,) = env.notes.of("pause_failed")
    assert failed.actions == ("retry_pause",)
    assert "NOT paused" in failed.text
    assert not env.paused(task.ref)
    # Retry (the button): a fresh grace period, and this time the vendor answers.
    env.sims["talend"].faults.clear()
    wclock.retry(record.id, by="bob")
    report = await wclock.tick()
    assert report.paused == [(record.id, task.ref.key)]
    assert env.paused(task.ref)
    await env.at(wclock, timedelta(hours=1))
    assert not env.paused(task.ref)
    assert env.state(record) is WindowState.COMPLETED


async def test_a_window_that_could_not_pause_a_task_completes_with_exceptions(env: Env) -> None:
    # One task the scheduler will not pause, one it pauses: the second is restored at the
    # end, so the window worked, with an exception that the end alert names and explains.
    (failing,) = (await env.active("pyramid"))[:1]
    (fine,) = (await env.active("talend"))[:1]
    record = env.plan([failing, fine], length=timedelta(minutes=20))
    wclock = env.window_clock()
    env.sims["pyramid"].faults.fail(500, times=10_000, path_contains="suspendSchedule")
    await env.at(wclock, timedelta(minutes=30))
    for _ in range(20):
        await env.at(wclock, timedelta(minutes=1))
    assert env.state(record) is WindowState.COMPLETED_WITH_EXCEPTIONS
    assert not env.paused(failing.ref)
    assert not env.paused(fine.ref)
    end = env.notes.of("end")[-1]
    assert "has ended: completed with exceptions. 1 resumed, 1 could not pause" in end.text
    row = env.rows(record)[failing.ref.key]
    assert row.last_error is not None
    assert (
        f"Could not pause (ran during the window) (1): {failing.name} (pyramid): "
        f"could not pause after {row.attempts} attempt(s): {row.last_error}" in end.text
    )
    assert end.alert is not None
    (could_not,) = [x for x in end.alert.lists if x.count == "could not pause"]
    assert could_not.warn
    assert [i.name for i in could_not.items] == [failing.name]
    # Ending it now afterwards says what the window is, not "already failed".
    with pytest.raises(LifecycleError, match=r"already over \(completed with exceptions\)"):
        end_window_now(env.store, record.id, by="alice", now=env.clock())


async def test_non_retryable_pause_error_fails_at_once(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task])
    env.sims["talend"].delete(task.ref.id)  # deleted in TMC after it was planned
    wclock = env.window_clock()
    report = await env.at(wclock, timedelta(minutes=30))
    assert report.pause_failed == [(record.id, task.ref.key)]
    assert "404" in env.notes.of("pause_failed")[-1].text


async def test_resume_failing_alerts_each_attempt_until_it_succeeds(env: Env) -> None:
    (task,) = await env.active("huawei")
    record = env.plan([task])
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    huawei: Any = env.sims["huawei"]
    huawei.fail_updates(503, times=6)  # each attempt (2 tries inside the connector) fails
    report = await env.at(wclock, timedelta(hours=1))
    assert report.resume_failed == [(record.id, task.ref.key)]
    assert "Could not resume, STILL PAUSED (retrying) (1)" in env.notes.of("end")[-1].text
    assert env.state(record) is WindowState.ACTIVE  # not over until it is resumed
    for _ in range(6):
        await env.at(wclock, timedelta(minutes=4))
    failures = env.notes.of("resume_failed")
    assert len(failures) == 3  # one alert per failed attempt, never repeated
    assert all(n.actions == ("retry_resume", "take_over") for n in failures)
    assert [f"attempt {i}" in n.text for i, n in enumerate(failures, 1)] == [True] * 3
    assert not env.paused(task.ref)
    assert env.rows(record)[task.ref.key].state is S.RESUMED
    assert env.state(record) is WindowState.COMPLETED
    assert env.notes.kinds(record.id)[-1] == "resolved"


async def test_take_over_stops_the_retries(env: Env) -> None:
    (task,) = await env.active("bmc")
    record = env.plan([task])
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    env.sims["bmc"].faults.fail(503, times=10_000, path_contains="/schedule")
    await env.at(wclock, timedelta(hours=1))
    row = env.rows(record)[task.ref.key]
    assert row.state is S.RESUME_FAILED
    wclock.take_over(row.id, by="carol")
    row = env.rows(record)[task.ref.key]
    assert row.state is S.HANDED_OVER
    assert row.taken_over_by == "carol"
    writes = len(env.writes(task.ref))
    report = await env.at(wclock, timedelta(hours=1))
    assert report.finished == [(record.id, WindowState.FAILED)]
    assert len(env.writes(task.ref)) == writes
    assert env.paused(task.ref)  # carol's to handle now


async def test_retry_button_resumes_at_once(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task])
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=30))
    env.sims["talend"].faults.fail(503, times=2, path_contains="/pause")
    await env.at(wclock, timedelta(hours=1))
    assert env.paused(task.ref)
    wclock.retry(record.id, by="bob")
    report = await wclock.tick()  # before the backoff would have come round
    assert report.resumed == [(record.id, task.ref.key)]


# -- restarts ---------------------------------------------------------------------------------
async def test_killed_between_claim_and_pause_call(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task])
    env.clock.advance(timedelta(minutes=30))
    # The dead worker got as far as claiming the start and the task, no further.
    assert env.store.transition_window(
        record.id, WindowState.APPROVED, WindowState.ACTIVE, started_at=env.clock()
    )
    row = env.rows(record)[task.ref.key]
    assert env.store.transition_task(
        row.id, S.PLANNED, S.PAUSING, claimed_at=env.clock(), count_attempt=True
    )
    env.clock.advance(timedelta(minutes=2))
    report = await env.window_clock().tick()
    assert report.paused == [(record.id, task.ref.key)]
    assert env.paused(task.ref)
    assert len(env.writes(task.ref)) == 1
    assert env.notes.kinds(record.id) == ["start"]


async def test_killed_after_the_pause_call_does_not_pause_again(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task])
    env.clock.advance(timedelta(minutes=30))
    assert env.store.transition_window(record.id, WindowState.APPROVED, WindowState.ACTIVE)
    row = env.rows(record)[task.ref.key]
    assert env.store.transition_task(row.id, S.PLANNED, S.PAUSING, claimed_at=env.clock())
    # The call went out; the worker died before writing the outcome.
    await env.connectors["talend"].pause(task.ref, pause_reason(env.store.get_window(record.id)))
    report = await env.window_clock().tick()
    assert report.paused == [(record.id, task.ref.key)]
    assert len(env.writes(task.ref)) == 1
    assert env.rows(record)[task.ref.key].state is S.PAUSED
    report = await env.at(env.window_clock(), timedelta(hours=1))
    assert report.resumed == [(record.id, task.ref.key)]
    assert not env.paused(task.ref)


@pytest.mark.parametrize("call_made", [False, True])
async def test_killed_while_resuming(env: Env, call_made: bool) -> None:
    (task,) = await env.active("pyramid")
    record = env.plan([task])
    await env.at(env.window_clock(), timedelta(minutes=30))
    env.clock.advance(timedelta(hours=1))
    row = env.rows(record)[task.ref.key]
    assert env.store.transition_task(row.id, S.PAUSED, S.RESUMING, claimed_at=env.clock())
    if call_made:
        await env.connectors["pyramid"].resume(task.ref)
    report = await env.window_clock().tick()
    assert report.resumed == [(record.id, task.ref.key)]
    assert not env.paused(task.ref)
    assert len(env.writes(task.ref)) == 2  # one pause and one resume, whoever sent it
    assert env.state(record) is WindowState.COMPLETED


async def test_worker_down_through_the_whole_window(env: Env) -> None:
    tasks = [(await env.active(system))[0] for system in VENDORS]
    record = env.plan(tasks)
    env.clock.advance(timedelta(hours=3))  # start and end passed while nothing ran
    report = await env.window_clock().tick()
    assert report.missed == [record.id]
    assert report.paused == []
    assert report.resumed == []
    for t in tasks:
        assert env.writes(t.ref) == []
        assert not env.paused(t.ref)
    assert env.state(record) is WindowState.FAILED
    (late,) = env.notes.of("late")
    assert "passed while maintbot was not running" in late.text
    assert "2h 30m after its start" in late.text
    assert all(r.state is S.PAUSE_FAILED for r in env.rows(record).values())


async def test_late_start_and_late_end_say_how_late(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task], length=timedelta(hours=2))
    env.clock.advance(timedelta(minutes=55))  # down over the start
    report = await env.window_clock().tick()
    assert report.paused == [(record.id, task.ref.key)]
    assert report.late[0].by == timedelta(minutes=25)
    assert "25m late" in env.notes.of("start")[-1].text
    env.clock.advance(timedelta(hours=3, minutes=35))  # down over the end too
    report = await env.window_clock().tick()
    assert report.resumed == [(record.id, task.ref.key)]
    assert report.late[0].by == timedelta(hours=2)
    assert "2h late" in env.notes.of("end")[-1].text
    assert not env.paused(task.ref)


async def test_after_downtime_only_the_nearest_reminder_is_sent(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task], start_in=timedelta(hours=3))
    env.clock.advance(timedelta(hours=2, minutes=55))
    report = await env.window_clock().tick()
    assert report.kinds() == ["reminder"]
    assert "starts in 5m " in env.notes.of("reminder")[-1].text
    report = await env.at(env.window_clock(), timedelta(minutes=1))
    assert report.notifications == []
    assert env.store.alerts_sent(record.id) == {"reminder:3600", "reminder:600"}


async def test_notification_that_fails_is_sent_on_a_later_tick_once(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task])
    wclock = env.window_clock()
    env.notes.fail_next = 1
    report = await env.at(wclock, timedelta(minutes=30))
    assert report.paused == [(record.id, task.ref.key)]
    assert report.notifications == []
    report = await wclock.tick()
    assert report.kinds() == ["start"]
    assert (await wclock.tick()).notifications == []


async def test_unknown_system_fails_the_pause_and_says_why(env: Env) -> None:
    (task,) = await env.active("talend")
    ghost = task.model_copy(update={"system": "talend-old"})
    record = env.plan([ghost])
    report = await env.at(env.window_clock(), timedelta(minutes=30))
    assert report.pause_failed == [(record.id, ghost.ref.key)]
    assert "no scheduler of that name" in env.notes.of("pause_failed")[-1].text


async def test_run_loop_ticks_and_stops(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task], start_in=timedelta(0), length=timedelta(hours=1))
    wclock = WindowClock(env.store, env.connectors, env.clock, LogNotifier())
    stop = asyncio.Event()
    runner = asyncio.create_task(wclock.run(stop, interval=0.01))
    for _ in range(500):
        if env.rows(record)[task.ref.key].state is S.PAUSED:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(runner, 5)
    assert env.paused(task.ref)


async def test_window_approved_after_its_start_is_not_reported_late(env: Env) -> None:
    (task,) = await env.active("talend")
    record = env.plan([task], start_in=timedelta(0), approve=False)  # "now for 1 hour"
    env.clock.advance(timedelta(minutes=10))
    approval = request_approval(env.store, record.id, requested_by="alice", now=env.clock())
    assert decide(
        env.store, approval.id, user="bob", approve=True, policy=POLICY, now=env.clock()
    ).acted
    report = await env.window_clock().tick()
    assert report.paused == [(record.id, task.ref.key)]
    assert report.late[0].by == timedelta(0)
    assert "late" not in env.notes.of("start")[-1].text


async def test_drain_lead_pauses_before_the_start(env: Env) -> None:
    (task,) = await env.active("huawei")
    start = env.clock() + timedelta(hours=1)
    record = plan_window(
        env.store,
        Window(start=start, end=start + timedelta(hours=1), tz="UTC", text="drained"),
        [(task.ref, task.name)],
        requested_by="alice",
        now=env.clock(),
        drain_lead=timedelta(minutes=15),
    )
    approve_now(
        env.store, record.id, requested_by="alice", approved_by="bob", policy=POLICY,
        now=env.clock(),
    )  # fmt: skip
    wclock = env.window_clock()
    await env.at(wclock, timedelta(minutes=44))
    assert not env.paused(task.ref)
    report = await env.at(wclock, timedelta(minutes=1))
    assert report.paused == [(record.id, task.ref.key)]
    assert env.paused(task.ref)
    await env.at(wclock, timedelta(hours=1, minutes=15))
    assert not env.paused(task.ref)
