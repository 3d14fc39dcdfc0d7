"""Predicted run times through the check: the store's run history (both engines), BMC's
predictions growing from one last_exec_ts per check over days (real HTTP, the simulator),
and how a predicted conflict is shown: check --json, the CLI table, and never for a run
whose time the vendor gave."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.check import check_window, open_schedulers
from bot.clock import ManualClock
from bot.conflicts import SystemSnapshot, find_conflicts
from bot.model import ConflictKind, Run, SystemResult, Task, TaskKind, TaskRef, Window
from bot.render import conflict_table
from bot.run_history import predict_runs
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.bmc import BmcSimulator
from bot.store import RUN_HISTORY_PER_TASK, SCHEMA_VERSION, Store

REF = TaskRef(system="bmc", kind=TaskKind.ETL, id="101")
OTHER = TaskRef(system="bmc", kind=TaskKind.ETL, id="102")
T0 = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)


@pytest.mark.engines("sqlite", "postgresql")
def test_run_starts_are_kept_once_each_and_bounded(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION >= 10
    now = T0 + timedelta(days=40)
    starts = [(REF, T0 + timedelta(days=i)) for i in range(40)]
    assert store.record_run_starts(starts, now=now) == 35  # older than 35 days: not kept
    assert store.record_run_starts(starts, now=now) == 0  # seen again: nothing new
    kept = store.run_starts("bmc")[REF.key]
    assert kept == sorted(kept)
    assert kept[0] >= now - timedelta(days=35)
    assert kept[-1] == T0 + timedelta(days=39)
    assert all(k.tzinfo is not None for k in kept)
    # Old rows go as time passes, whichever task records next.
    store.record_run_starts([(OTHER, now + timedelta(days=10))], now=now + timedelta(days=10))
    assert len(store.run_starts("bmc")[REF.key]) == 25
    assert store.run_starts("talend") == {}


@pytest.mark.engines("sqlite", "postgresql")
def test_a_task_keeps_only_its_newest_starts(store: Store) -> None:
    now = T0 + timedelta(days=3)
    many = [(REF, T0 + timedelta(minutes=5 * i)) for i in range(RUN_HISTORY_PER_TASK + 30)]
    store.record_run_starts(many, now=now)
    kept = store.run_starts("bmc")[REF.key]
    assert len(kept) == RUN_HISTORY_PER_TASK
    assert kept[-1] == many[-1][1]
    assert kept[0] == many[30][1]


@pytest.fixture
def bmc(clock: ManualClock) -> Iterator[BmcSimulator]:
    simulator = BmcSimulator(clock=clock)
    with SandboxServer([simulator]):
        yield simulator


async def test_bmc_predictions_improve_with_every_days_check(
    bmc: BmcSimulator, clock: ManualClock, store: Store
) -> None:
    """BMC gives one last_exec_ts per ETL; the check keeps each in the store, and after a
    few daily checks a waiting ETL's daily run is predicted."""
    etl = bmc.by_name("VMware vCenter extractor (prod)")
    schedulers = open_schedulers(sandbox_config([bmc]), clock)

    async def check() -> tuple[str, ...]:
        # Tomorrow's hour around the ETL's usual start.
        nxt = (etl.phase or clock()) + timedelta(days=1)
        while nxt < clock():
            nxt += timedelta(days=1)
        window = Window(
            start=nxt - timedelta(minutes=30), end=nxt + timedelta(minutes=30), tz="UTC"
        )
        report = await check_window(window, schedulers, clock, history=store)
        (system,) = report.systems
        assert system.ok, system.error
        found = [c for c in report.conflicts if c.task_id == str(etl.etl_id)]
        assert len(found) == 1
        conflict = found[0]
        if conflict.predicted:
            assert conflict.kind is ConflictKind.STARTS_IN_WINDOW
            assert conflict.at is not None
            assert window.contains(conflict.at)
            return ("predicted", conflict.detail)
        assert conflict.kind is ConflictKind.MAY_FIRE
        assert conflict.at is None
        return ("unknown", conflict.detail)

    try:
        first = await check()
        assert first[0] == "unknown"
        assert first[1].endswith("time unknown: only 1 run seen")
        outcomes = []
        for _ in range(4):
            clock.advance(timedelta(days=1))
            outcomes.append(await check())
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()
    assert outcomes[0][1].endswith("time unknown: only 2 runs seen")
    kind, detail = outcomes[-1]
    assert kind == "predicted"
    assert "(daily, from 5 runs), predicted from run history" in detail
    assert len(store.run_starts("bmc")[f"bmc:etl:{etl.etl_id}"]) == 5


WINDOW = Window(start=T0 + timedelta(days=20), end=T0 + timedelta(days=20, hours=2), tz="UTC")
# Daily at 02:30 for the 14 days before the window, a few seconds late each time.
DAILY = tuple(T0 + timedelta(days=6 + i, seconds=i * 2) for i in range(14))


def _ref(task_id: str) -> TaskRef:
    return TaskRef(system="pyramid", kind=TaskKind.SCHEDULE, id=task_id)


def _predict(runs: list[Run], now: datetime) -> list[Run]:
    return predict_runs(runs, zone="UTC", now=now, start=now, end=WINDOW.end, shown_in="UTC")


def _snapshot(runs: list[Run]) -> SystemSnapshot:
    tasks = [
        Task(
            system=r.task.system,
            kind=r.task.kind,
            id=r.task.id,
            name=f"task {r.task.id}",
            paused=False,
        )
        for r in runs
    ]
    return SystemSnapshot(
        SystemResult(system="pyramid", vendor="pyramid", label="Pyramid Analytics", ok=True),
        tasks=tasks,
        runs=runs,
    )


def test_a_vendor_given_time_is_never_marked_predicted() -> None:
    now = WINDOW.start - timedelta(hours=5)
    given = Run(
        task=TaskRef(system="pyramid", kind=TaskKind.SCHEDULE, id="given"),
        at=WINDOW.start + timedelta(minutes=10),
        history=DAILY,
    )
    unknown = Run(
        task=TaskRef(system="pyramid", kind=TaskKind.SCHEDULE, id="learnt"),
        at=None,
        note="no next-run time",
        history=DAILY,
    )
    runs = predict_runs(
        [given, unknown], zone="UTC", now=now, start=now, end=WINDOW.end, shown_in="UTC"
    )
    assert runs[0] is given
    assert runs[1].predicted
    report = find_conflicts(WINDOW, now, [_snapshot(runs)])
    by_id = {c.task_id: c for c in report.conflicts}
    assert not by_id["given"].predicted
    assert by_id["given"].detail == ""
    assert by_id["learnt"].predicted
    assert (
        by_id["learnt"].detail == "likely 02:30 (daily, from 14 runs), predicted from run history"
    )

    data = report.to_json()
    shown = {c["task_id"]: c for c in data["conflicts"]}
    assert shown["given"]["predicted"] is False
    assert shown["learnt"]["predicted"] is True
    assert shown["learnt"]["at"] == "2026-11-21T02:30:00+00:00"

    table = conflict_table(report, [])
    learnt = next(line for line in table.splitlines() if "task learnt" in line)
    assert "likely starts in window · Sat 21 Nov 02:30 UTC (predicted)" in learnt
    assert "predicted from run history" in learnt
    given_line = next(line for line in table.splitlines() if "task given" in line)
    assert "predicted" not in given_line
    assert "likely" not in given_line


def test_no_pattern_stays_unknown_and_says_why_in_the_table() -> None:
    now = WINDOW.start - timedelta(hours=5)
    few = Run(
        task=TaskRef(system="pyramid", kind=TaskKind.SCHEDULE, id="few"),
        at=None,
        note="Pyramid's API exposes no next-run time",
        history=DAILY[:2],
    )
    runs = predict_runs([few], zone="UTC", now=now, start=now, end=WINDOW.end, shown_in="UTC")
    report = find_conflicts(WINDOW, now, [_snapshot(runs)])
    (conflict,) = report.conflicts
    assert conflict.kind is ConflictKind.MAY_FIRE
    assert not conflict.predicted
    assert (
        conflict.detail == "Pyramid's API exposes no next-run time; time unknown: only 2 runs seen"
    )
    table = conflict_table(report, [], show_unknown=True)
    assert "time unknown: only 2 runs seen" in table


def test_a_pattern_with_no_run_in_the_window_makes_no_conflict() -> None:
    now = WINDOW.start - timedelta(hours=5)
    late = tuple(d + timedelta(hours=6) for d in DAILY)  # daily at 08:30, after the window
    run = Run(
        task=TaskRef(system="pyramid", kind=TaskKind.SCHEDULE, id="late"), at=None, history=late
    )
    runs = predict_runs([run], zone="UTC", now=now, start=now, end=WINDOW.end, shown_in="UTC")
    assert runs == []
    assert find_conflicts(WINDOW, now, [_snapshot(runs)]).conflicts == ()


def test_predictions_before_the_window_are_made_only_where_they_can_reach_it() -> None:
    now = WINDOW.start - timedelta(hours=12)
    quarter = tuple(now - timedelta(minutes=15 * i) for i in range(40, 0, -1))
    long_run = Run(
        task=_ref("long"), at=None, history=quarter, expected_duration=timedelta(minutes=40)
    )
    no_length = Run(task=_ref("short"), at=None, history=quarter)

    def predicted(opens: datetime | None) -> list[Run]:
        return predict_runs(
            [long_run, no_length],
            zone="UTC",
            now=now,
            start=now,
            end=WINDOW.end,
            shown_in="UTC",
            opens=opens,
        )

    everything, relevant = predicted(None), predicted(WINDOW.start)
    assert len(everything) == 2 * 14 * 4  # every 15 minutes of both, over 14 hours
    long_starts = [r.at for r in relevant if r.task.id == "long" and r.at is not None]
    # Before the window: only the two starts whose 40 minutes reach into it.
    assert [at for at in long_starts if at < WINDOW.start] == [
        WINDOW.start - timedelta(minutes=30),
        WINDOW.start - timedelta(minutes=15),
    ]
    short_starts = [r.at for r in relevant if r.task.id == "short" and r.at is not None]
    assert min(short_starts) == WINDOW.start  # no length: nothing before can reach it
    assert len(relevant) == 8 + 2 + 8
    # The report is the same either way: what was dropped could never be a conflict.
    full = find_conflicts(WINDOW, now, [_snapshot(everything)]).to_json()
    lean = find_conflicts(WINDOW, now, [_snapshot(relevant)]).to_json()
    assert full == lean
    assert {c["kind"] for c in lean["conflicts"]} == {"starts_in_window", "may_overlap"}


def test_a_predicted_conflict_carries_what_its_prediction_rests_on() -> None:
    now = WINDOW.start - timedelta(hours=5)
    learnt = Run(task=_ref("learnt"), at=None, note="no next-run time", history=DAILY)
    (run,) = _predict([learnt], now)
    assert run.basis == "daily, from 14 runs"
    (conflict,) = find_conflicts(WINDOW, now, [_snapshot([run])]).conflicts
    assert conflict.predicted
    assert conflict.basis == "daily, from 14 runs"
    assert f"({conflict.basis})" in conflict.detail  # the words people read say the same
