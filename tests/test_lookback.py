"""The look-back before a window, from the longest known run: what the store remembers (both
engines, and the migration that added it), how the look-back is chosen, and the check over
the Talend simulator searching a shorter span once run lengths are known, still finding
the long runs before the window, learning a new long task on the daily full look-back, and
falling back to the configured look-back whenever the store cannot say better."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from test_store_lost import _cut, _let_in

from bot.check import check_window, open_schedulers
from bot.cli import main, write_sandbox_config
from bot.clock import ManualClock
from bot.lookback import (
    FULL_LOOKBACK_EVERY,
    LOOKBACK_MARGIN,
    LOOKBACK_SAFETY,
    choose_lookback,
)
from bot.model import ConflictKind, ConflictReport, TaskKind, TaskRef, Window
from bot.render import conflict_table
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.talend import TalendSimulator
from bot.store import RUN_LENGTH_CAP, RUN_LENGTHS_KEPT, SCHEMA_VERSION, Store

REF = TaskRef(system="talend", kind=TaskKind.TASK, id="t-1")
OTHER = TaskRef(system="talend", kind=TaskKind.PLAN, id="p-1")
ELSEWHERE = TaskRef(system="bmc", kind=TaskKind.ETL, id="101")
T0 = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)
CONFIGURED = timedelta(hours=12)
# Saturday after the reference "now" (Wednesday 18:00 UTC): 12 h before it is still ahead.
WINDOW = Window(
    start=datetime(2026, 11, 21, 2, tzinfo=UTC),
    end=datetime(2026, 11, 21, 4, tzinfo=UTC),
    tz="UTC",
)


# -- what the store remembers ----------------------------------------------------------------
@pytest.mark.engines("sqlite", "postgresql")
def test_the_store_keeps_each_tasks_longest_run_and_forgets_old_ones(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION >= 11
    assert store.longest_run("talend", now=T0) is None
    store.record_run_lengths(
        [(REF, timedelta(minutes=90)), (REF, timedelta(minutes=40)), (OTHER, timedelta(hours=2))],
        now=T0,
    )
    store.record_run_lengths([(ELSEWHERE, timedelta(hours=5))], now=T0)
    assert store.run_lengths("talend") == {
        REF.key: timedelta(minutes=90),
        OTHER.key: timedelta(hours=2),
    }
    assert store.longest_run("talend", now=T0) == timedelta(hours=2)
    # A shorter run later does not lower what is known; a longer one raises it.
    later = T0 + timedelta(days=10)
    store.record_run_lengths([(OTHER, timedelta(minutes=30))], now=later)
    store.record_run_lengths([(REF, timedelta(minutes=100, seconds=0.2))], now=later)
    assert store.run_lengths("talend") == {
        REF.key: timedelta(minutes=100, seconds=1),  # whole seconds, rounded up
        OTHER.key: timedelta(hours=2),
    }
    # Lengths that say nothing are skipped; absurd ones are kept as the cap.
    store.record_run_lengths(
        [(ELSEWHERE, timedelta(0)), (ELSEWHERE, -timedelta(hours=1))], now=later
    )
    assert store.run_lengths("bmc") == {ELSEWHERE.key: timedelta(hours=5)}
    store.record_run_lengths([(ELSEWHERE, timedelta(days=10**6))], now=later)
    assert store.run_lengths("bmc") == {ELSEWHERE.key: RUN_LENGTH_CAP}
    # OTHER's two hours were last seen at T0: past the keep, unknown, then pruned.
    gone = T0 + RUN_LENGTHS_KEPT + timedelta(minutes=1)
    assert store.longest_run("talend", now=gone) == timedelta(minutes=100, seconds=1)
    store.record_run_lengths([], now=gone)
    assert set(store.run_lengths("talend")) == {REF.key}
    assert store.longest_run("talend", now=later + RUN_LENGTHS_KEPT * 2) is None


@pytest.mark.engines("sqlite", "postgresql")
def test_the_store_keeps_when_each_system_last_looked_back_in_full(store: Store) -> None:
    assert store.full_lookback_at("talend") is None
    store.mark_full_lookback("talend", T0)
    store.mark_full_lookback("talend", T0 + timedelta(hours=3))
    assert store.full_lookback_at("talend") == T0 + timedelta(hours=3)
    assert store.full_lookback_at("bmc") is None
    for garbage in ("not a time", "2026-11-01T02:30:00"):  # no zone: not an instant either
        store.set_kv("lookback_full:talend", garbage)
        assert store.full_lookback_at("talend") is None


@pytest.mark.engines("sqlite", "postgresql")
def test_a_schema_10_database_migrates_on_keeping_its_rows(
    db_location: str, clock: ManualClock
) -> None:
    store = Store(db_location, clock=clock)
    store.record_run_starts([(REF, T0)], now=T0)
    store.close()
    # The database as schema 10 left it: no run_lengths (11), no predictions kept per
    # planned task (12).
    undo = [
        "DROP TABLE run_lengths",
        "ALTER TABLE window_tasks DROP COLUMN predicted",
        "ALTER TABLE window_tasks DROP COLUMN prediction_outcome",
    ]
    if db_location.startswith("postgresql"):
        with psycopg.connect(db_location, autocommit=True) as conn:
            for statement in undo:
                conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = 10")
    else:
        conn = sqlite3.connect(db_location)
        for statement in undo:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 10")
        conn.commit()
        conn.close()
    store = Store(db_location, clock=clock)
    try:
        assert store.schema_version() == SCHEMA_VERSION == 12
        assert store.run_starts("talend") == {REF.key: [T0]}
        assert store.longest_run("talend", now=T0) is None
        store.record_run_lengths([(REF, timedelta(hours=1))], now=T0)
        assert store.longest_run("talend", now=T0) == timedelta(hours=1)
        assert store.table_counts()["run_lengths"] == 1
    finally:
        store.close()


# -- choosing the look-back ------------------------------------------------------------------
def test_the_look_back_is_the_longest_run_with_room_once_a_full_one_is_recent() -> None:
    now = T0
    chosen = choose_lookback(CONFIGURED, timedelta(hours=2), now - timedelta(hours=1), now)
    assert chosen.span == timedelta(hours=2) * LOOKBACK_SAFETY + LOOKBACK_MARGIN
    assert not chosen.full
    assert chosen.note == (
        "looked back 3h 30m before the window (its longest known run, 2h, with room to "
        "spare) instead of the configured 12h"
    )


@pytest.mark.parametrize(
    ("longest", "full_ago", "why"),
    [
        (None, timedelta(hours=1), "no run length known"),
        (timedelta(hours=2), None, "never looked back in full"),
        (timedelta(hours=2), FULL_LOOKBACK_EVERY, "the full look-back is a day old"),
        (timedelta(hours=2), -timedelta(minutes=5), "a full look-back in the future"),
        (timedelta(0), timedelta(hours=1), "a length of nothing"),
        (-timedelta(hours=2), timedelta(hours=1), "a negative length"),
        (timedelta(hours=8), timedelta(hours=1), "longest run with room past the configured"),
    ],
)
def test_the_configured_look_back_is_used_whenever_nothing_better_is_known(
    longest: timedelta | None, full_ago: timedelta | None, why: str
) -> None:
    full_at = None if full_ago is None else T0 - full_ago
    chosen = choose_lookback(CONFIGURED, longest, full_at, T0)
    assert (chosen.span, chosen.full, chosen.note) == (CONFIGURED, True, None), why


# -- the check over the Talend simulator -----------------------------------------------------
@pytest.fixture
def sim(clock: ManualClock) -> Iterator[TalendSimulator]:
    simulator = TalendSimulator(clock=clock)
    with SandboxServer([simulator]):
        yield simulator


async def check(sim: TalendSimulator, clock: ManualClock, store: Store | None) -> ConflictReport:
    """One check of WINDOW with fresh connectors (no duration cached between checks)."""
    schedulers = open_schedulers(sandbox_config([sim]), clock)
    try:
        return await check_window(WINDOW, schedulers, clock, history=store, lengths=store)
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()


def searched_from(sim: TalendSimulator) -> set[datetime]:
    """Where the event searches since the last call began; forgets them."""
    found = {
        datetime.fromtimestamp(r.json()["from"] / 1000, UTC)
        for r in sim.requests_to("/events/search", "POST")
    }
    sim.requests.clear()
    return found


def overlapping(report: ConflictReport) -> set[str]:
    return {c.task_name for c in report.active if c.kind is ConflictKind.MAY_OVERLAP}


def conflicts(report: ConflictReport) -> set[tuple[str, ConflictKind]]:
    return {(c.task_id, c.kind) for c in report.conflicts}


@pytest.mark.engines("sqlite", "postgresql")
async def test_a_later_check_searches_only_as_far_back_as_the_longest_run_needs(
    sim: TalendSimulator, clock: ManualClock, store: Store
) -> None:
    first = await check(sim, clock, store)
    (system,) = first.systems
    assert system.ok, system.error
    assert searched_from(sim) == {WINDOW.start - CONFIGURED}
    assert (system.lookback, system.lookback_note) == (CONFIGURED, None)
    assert store.full_lookback_at("talend") == clock()
    longest = store.longest_run("talend", now=clock())
    assert longest is not None
    assert timedelta(hours=1) < longest < timedelta(hours=4)

    clock.advance(timedelta(hours=1))
    second = await check(sim, clock, store)
    span = longest * LOOKBACK_SAFETY + LOOKBACK_MARGIN
    assert span < CONFIGURED
    assert searched_from(sim) == {WINDOW.start - span}
    (system,) = second.systems
    assert system.lookback == span
    assert system.lookback_note is not None
    assert "instead of the configured 12h" in system.lookback_note
    assert store.full_lookback_at("talend") == clock() - timedelta(hours=1)
    # Same answer: the runs that started before the window and run into it are all found.
    assert conflicts(second) == conflicts(first)
    assert {"dwh_full_reload_apac", "dwh_full_reload_amer", "finance_daily_close"} <= (
        overlapping(second)
    )
    body = second.to_json()["systems"][0]
    assert body["lookback_hours"] == round(span.total_seconds() / 3600, 2)
    assert body["lookback_note"] == system.lookback_note
    assert first.to_json()["systems"][0]["lookback_hours"] == 12.0
    assert f"  note: {system.lookback_note}\n" in conflict_table(second, [])
    assert "note: looked back" not in conflict_table(first, [])


async def test_a_task_that_starts_running_long_is_learnt_on_the_daily_full_look_back(
    sim: TalendSimulator, clock: ManualClock, store: Store
) -> None:
    await check(sim, clock, store)  # full: learns about two hours
    searched_from(sim)
    # Its 22:00 run now lasts six hours, into the window.
    sim.set_duration(sim.id_of("hr_payroll_extract"), timedelta(hours=6))
    clock.advance(timedelta(hours=1))
    short = await check(sim, clock, store)
    (started,) = searched_from(sim)
    assert started > datetime(2026, 11, 20, 22, tzinfo=UTC)
    # Until the next full look-back the shorter one does not reach back to 22:00.
    assert "hr_payroll_extract" not in overlapping(short)

    clock.advance(FULL_LOOKBACK_EVERY)
    full = await check(sim, clock, store)
    assert searched_from(sim) == {WINDOW.start - CONFIGURED}
    assert full.systems[0].lookback == CONFIGURED
    assert "hr_payroll_extract" in overlapping(full)
    longest = store.longest_run("talend", now=clock())
    assert longest is not None
    assert longest > timedelta(hours=5)

    clock.advance(timedelta(hours=1))
    after = await check(sim, clock, store)
    span = longest * LOOKBACK_SAFETY + LOOKBACK_MARGIN
    assert span < CONFIGURED
    assert searched_from(sim) == {WINDOW.start - span}
    assert "hr_payroll_extract" in overlapping(after)
    assert conflicts(after) == conflicts(full)


async def test_a_check_close_to_the_window_neither_shortens_nor_counts_as_full(
    sim: TalendSimulator, clock: ManualClock, store: Store
) -> None:
    clock.set(WINDOW.start - timedelta(hours=1))  # the configured look-back reaches past now
    report = await check(sim, clock, store)
    assert searched_from(sim) == {clock()}
    assert report.systems[0].lookback == CONFIGURED
    assert store.full_lookback_at("talend") is None  # it saw an hour, not twelve
    assert store.longest_run("talend", now=clock()) is not None  # what it saw is kept


async def test_garbage_in_the_store_means_the_configured_look_back(
    sim: TalendSimulator, clock: ManualClock, store: Store
) -> None:
    await check(sim, clock, store)
    searched_from(sim)
    store.set_kv("lookback_full:talend", "yesterday-ish")
    clock.advance(timedelta(hours=1))
    report = await check(sim, clock, store)
    assert searched_from(sim) == {WINDOW.start - CONFIGURED}
    assert report.systems[0].lookback == CONFIGURED
    # That check was a full one: the next is short again.
    assert store.full_lookback_at("talend") == clock()
    clock.advance(timedelta(hours=1))
    await check(sim, clock, store)
    (started,) = searched_from(sim)
    assert started > WINDOW.start - CONFIGURED


async def test_without_a_store_every_check_uses_the_configured_look_back(
    sim: TalendSimulator, clock: ManualClock
) -> None:
    for _ in range(2):
        report = await check(sim, clock, None)
        assert searched_from(sim) == {WINDOW.start - CONFIGURED}
        assert (report.systems[0].lookback, report.systems[0].lookback_note) == (CONFIGURED, None)
        clock.advance(timedelta(hours=1))


@pytest.mark.engines("postgresql")
async def test_a_store_that_is_out_of_reach_costs_the_shorter_look_back_not_the_answer(
    sim: TalendSimulator,
    clock: ManualClock,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await check(sim, clock, store)
    searched_from(sim)
    database = str(store._exec("SELECT current_database() AS db", {}).rows[0]["db"])
    _cut(store, keep_out=True)
    try:
        clock.advance(timedelta(hours=1))
        caplog.set_level(logging.WARNING, logger="bot.check")
        report = await check(sim, clock, store)
    finally:
        _let_in(database)
    (system,) = report.systems
    assert system.ok, system.error
    assert searched_from(sim) == {WINDOW.start - CONFIGURED}
    assert system.lookback == CONFIGURED
    assert "run lengths of talend not available" in caplog.text
    assert {"dwh_full_reload_apac", "dwh_full_reload_amer"} <= overlapping(report)


def test_maintbot_check_looks_back_less_the_second_time(
    sim: TalendSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI's check goes through the application layer, which gives it the store."""
    config = tmp_path / "maintbot.toml"
    write_sandbox_config(config, sandbox_config([sim]))
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "maintbot.db"))
    monkeypatch.setenv("MAINTBOT_CONFIG", str(config))
    shown = []
    for now in ("2026-11-18T18:00:00+00:00", "2026-11-18T19:00:00+00:00"):
        code = main(["check", "Saturday 2-4am", "--tz", "UTC", "--now", now, "--json"])
        assert code == 0, capsys.readouterr().err
        shown.append(json.loads(capsys.readouterr().out)["systems"][0])
    assert (shown[0]["lookback_hours"], shown[0]["lookback_note"]) == (12.0, None)
    assert shown[1]["lookback_hours"] < 12
    assert shown[1]["lookback_note"].startswith("looked back ")
