"""Talend end to end: the conflict check over the simulator, in any zone, at scale, and
``maintbot check`` from the command line with nothing configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.check import check_window, open_schedulers
from bot.clock import ManualClock
from bot.model import ConflictKind, ConflictReport, Window
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.talend import TalendSimulator
from bot.sandbox.talend_data import catalogue
from bot.windows import parse_window


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[TalendSimulator]:
    simulator = TalendSimulator(clock=clock)
    with SandboxServer([simulator]):
        yield simulator


async def check(sim: TalendSimulator, clock: ManualClock, window: Window) -> ConflictReport:
    schedulers = open_schedulers(sandbox_config([sim]), clock)
    try:
        return await check_window(window, schedulers, clock)
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()


def kinds(report: ConflictReport, *, paused: bool) -> dict[ConflictKind, set[str]]:
    found: dict[ConflictKind, set[str]] = {}
    for conflict in report.conflicts:
        if conflict.paused is paused:
            found.setdefault(conflict.kind, set()).add(conflict.task_name)
    return found


async def test_check_finds_every_kind_of_conflict_and_lists_paused_tasks_apart(
    sim: TalendSimulator, clock: ManualClock
) -> None:
    window = Window(
        start=datetime(2026, 11, 21, 2, tzinfo=UTC),
        end=datetime(2026, 11, 21, 4, tzinfo=UTC),
        tz="UTC",
    )
    report = await check(sim, clock, window)
    (system,) = report.systems
    assert system.ok, system.error
    active = kinds(report, paused=False)
    assert {"hourly_revenue_rollup", "weekly_cube_rebuild", "Hourly marketing plan"} <= active[
        ConflictKind.STARTS_IN_WINDOW
    ]
    # Started 01:35 and 00:55, usually 1h40: still running at 02:00.
    assert {"dwh_full_reload_apac", "dwh_full_reload_amer"} <= active[ConflictKind.MAY_OVERLAP]
    # No history (a first run) and still being dispatched: nobody can say when they end.
    assert {"dwh_backfill_2019", "customer_merge_tool"} <= active[ConflictKind.RUNNING_AT_START]

    paused = {c.task_name: c for c in report.already_paused}
    assert {"inventory_snapshot", "log_archive_to_s3", "Weekly finance plan"} <= set(paused)
    assert not {c.task_name for c in report.active} & set(paused)
    hourly = next(
        c
        for c in report.conflicts
        if c.task_name == "hourly_revenue_rollup" and c.kind is ConflictKind.STARTS_IN_WINDOW
    )
    assert hourly.at == window.start
    assert hourly.detail == "2 runs in the window"


@pytest.mark.parametrize(
    "zone",
    ["Pacific/Kiritimati", "Asia/Kathmandu", "Europe/Berlin", "America/St_Johns", "Pacific/Niue"],
)
async def test_saturday_2_to_4am_shows_real_conflicts_in_any_zone(
    sim: TalendSimulator, clock: ManualClock, zone: str
) -> None:
    window = parse_window("Saturday 2-4am", tz=zone, now=clock())
    report = await check(sim, clock, window)
    assert report.systems[0].ok
    active = kinds(report, paused=False)
    for kind in (
        ConflictKind.STARTS_IN_WINDOW,
        ConflictKind.MAY_OVERLAP,
        ConflictKind.RUNNING_AT_START,
    ):
        assert active.get(kind), f"no {kind.value} conflict in {zone}"
    assert report.already_paused


async def test_a_check_of_a_window_that_already_opened_counts_what_runs_now(
    sim: TalendSimulator, clock: ManualClock
) -> None:
    window = Window(start=clock(), end=clock() + timedelta(hours=1), tz="UTC")
    report = await check(sim, clock, window)
    running = {c.task_name for c in report.conflicts if c.kind is ConflictKind.RUNNING_AT_START}
    # The staggered reloads overlap one another, so one is always under way.
    assert any(name.startswith("dwh_full_reload") for name in running)


@pytest.mark.parametrize("hour", [0, 2, 7, 13, 22])
def test_scale_100_puts_5000_runs_in_any_two_hours_with_few_distinct_tasks(hour: int) -> None:
    environments, workspaces, executables = catalogue(seed=7, scale=100)
    default = next(e.id for e in environments if e.default)
    in_default = {w.id for w in workspaces if w.environment_id == default}
    start = int(datetime(2026, 11, 21, hour, 17, tzinfo=UTC).timestamp() * 1000)
    end = start + 2 * 3_600_000
    counts = {
        e.id: len(e.schedule.occurrences(start, end))
        for e in executables
        if e.schedule and e.workspace_id in in_default
    }
    assert sum(counts.values()) >= 5000
    assert sum(1 for n in counts.values() if n) <= 300
    scale_one = catalogue(seed=7, scale=1)[2]
    assert 30 <= len(scale_one) <= 60
    assert catalogue(seed=7, scale=1) == catalogue(seed=7, scale=1)


def test_cli_check_with_nothing_configured_runs_against_the_sandbox(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAINTBOT_", "SLACK_"))}
    env["MAINTBOT_DB"] = str(tmp_path / "maintbot.db")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "Saturday 2-4am", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stdout)
    assert set(report) >= {"window", "systems", "conflicts"}
    talend = next(s for s in report["systems"] if s["system"] == "talend")
    assert talend == {
        "system": "talend",
        "name": "Talend Management Console",
        "vendor": "talend",
        "ok": True,
        "error": None,
        # A first check knows no run lengths yet: the configured look-back, in full.
        "lookback_hours": 12.0,
        "lookback_note": None,
    }
    ours = [c for c in report["conflicts"] if c["system"] == "talend"]
    assert {c["kind"] for c in ours} >= {"starts_in_window", "may_overlap", "running_at_start"}
    assert any(c["paused"] for c in ours)
    assert set(ours[0]) >= {"system", "task_id", "task_name", "kind", "at", "paused"}
    assert result.returncode == (0 if all(s["ok"] for s in report["systems"]) else 1)
    notices = [line for line in result.stderr.splitlines() if "sandbox" in line]
    assert len(notices) == 1
    assert notices[0].startswith("No maintbot.toml found: checking the built-in sandbox")
    assert "talend http://127.0.0.1:" in notices[0]


async def test_history_is_read_only_where_a_duration_can_change_the_report(
    sim: TalendSimulator, clock: ManualClock
) -> None:
    window = Window(
        start=datetime(2026, 11, 21, 2, tzinfo=UTC),
        end=datetime(2026, 11, 21, 4, tzinfo=UTC),
        tz="UTC",
    )
    config = sandbox_config([sim])
    no_lookback = config.schedulers["talend"].model_copy(update={"lookback_hours": 0.0})
    config = config.model_copy(update={"schedulers": {"talend": no_lookback}})
    schedulers = open_schedulers(config, clock)
    try:
        report = await check_window(window, schedulers, clock)
        assert schedulers[0].connector is not None
        running = {r.task.id for r in await schedulers[0].connector.running_now()}
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()

    # Per-task history: GET /processing/executables/{tasks|plans}/{id}/executions.
    history = {
        r.path.split("/")[-2] for r in sim.requests_to("/executions") if r.path.count("/") == 5
    }
    starting = {c.task_id for c in report.conflicts if c.kind is ConflictKind.STARTS_IN_WINDOW}
    assert starting, "the window must hold runs for this test to mean anything"
    # A run inside the window conflicts however long it takes: history was read only for
    # runs in progress (will they still be running at the start?), none for the rest.
    assert history <= running
    assert not (starting - running) & history
