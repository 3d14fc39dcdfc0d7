"""End to end: the Huawei simulator on loopback, schedulers opened from the sandbox config,
``check_window`` over them, pause/resume round trips seen in ``/_sandbox/state``, two
projects as two schedulers, skipped runs, and local expansion agreeing with the
simulator's ``future-executions`` and ``next_execution_time``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import pytest

from bot.check import Scheduler, check_window, open_schedulers
from bot.clock import ManualClock
from bot.config import Config
from bot.connectors.huawei import HuaweiConnector
from bot.errors import ConnectorError
from bot.model import Conflict, ConflictKind, ConflictReport, TaskKind, TaskRef, Window
from bot.sandbox import make_simulators, sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.huawei import (
    ACCESS_KEY_ENV,
    PASSWORD_ENV,
    SECRET_KEY_ENV,
    USERNAME_ENV,
    HuaweiSimulator,
    SimTask,
)

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def sim(clock: ManualClock) -> HuaweiSimulator:
    return HuaweiSimulator(clock=clock)


@pytest.fixture
def server(sim: HuaweiSimulator) -> Iterator[SandboxServer]:
    with SandboxServer([sim]) as running:
        yield running


@pytest.fixture
async def schedulers(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> AsyncIterator[list[Scheduler]]:
    opened = open_schedulers(sandbox_config([sim]), clock)
    yield opened
    for scheduler in opened:
        await scheduler.aclose()


def connector_of(scheduler: Scheduler) -> HuaweiConnector:
    assert isinstance(scheduler.connector, HuaweiConnector), scheduler.error
    return scheduler.connector


def ref_of(system: str, task: SimTask) -> TaskRef:
    kind = TaskKind.APP_TASK if task.family == "app" else TaskKind.DESKTOP_TASK
    return TaskRef(system=system, kind=kind, id=task.id)


async def sandbox_state(sim: HuaweiSimulator) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{sim.base_url}/_sandbox/state")
    response.raise_for_status()
    return {t["id"]: t for t in response.json()["tasks"]}


def index(report: ConflictReport) -> dict[tuple[str, ConflictKind], Conflict]:
    return {(c.task_name, c.kind): c for c in report.conflicts}


# -- the check ------------------------------------------------------------------------------------


async def test_check_window_reports_every_kind_of_conflict(
    schedulers: list[Scheduler], clock: ManualClock
) -> None:
    assert clock() == NOW
    window = Window(start=NOW + 2 * H, end=NOW + 28 * H, tz="UTC", text="26 hours")
    report = await check_window(window, schedulers, clock)
    (system,) = report.systems
    assert system.ok, system.error
    assert system.vendor == "huawei"
    found = index(report)
    start = ConflictKind.STARTS_IN_WINDOW

    # A daily task fires twice in 26 h: one line, the count in the detail.
    nightly = found[("nightly_restart", start)]
    assert nightly.at == NOW + 3 * H
    assert nightly.detail == "2 runs in the window"
    assert not nightly.paused
    assert nightly.task_kind is TaskKind.APP_TASK

    assert found[("desk_daily_reboot", start)].at == NOW + 4 * H
    assert found[("desk_daily_reboot", start)].task_kind is TaskKind.DESKTOP_TASK
    assert found[("fixed_reinstall", start)].at == NOW + 5 * H
    assert found[("expiring_daily", start)].at == NOW + 6 * H
    assert found[("desk_fixed_start", start)].at == NOW + 9 * H
    assert found[("every_3_days", start)].at == datetime(2026, 11, 19, 1, 0, tzinfo=UTC)

    # Running when the window opens: 4A with a p90 from history, 4B without one.
    running = found[("running_restart", ConflictKind.RUNNING_AT_START)]
    assert running.at == NOW - timedelta(minutes=30)
    assert "usually takes" in running.detail
    desk_running = found[("desk_rebuild_running", ConflictKind.RUNNING_AT_START)]
    assert desk_running.at == NOW - timedelta(minutes=20)
    assert "no history says when it will finish" in desk_running.detail
    queued = found[("queued_start", ConflictKind.RUNNING_AT_START)]
    assert "no history says when it will finish" in queued.detail  # WAITING: not begun

    # Starts before the window and usually runs into it.
    overlap = found[("overlap_reinstall", ConflictKind.MAY_OVERLAP)]
    assert overlap.at == NOW + 1 * H
    assert "p90" in overlap.detail

    # Event-triggered desktop task: time unknown.
    assert found[("desk_disconnect_script", ConflictKind.MAY_FIRE)].at is None

    # Disabled by someone else: listed apart, as already paused.
    paused_names = {c.task_name for c in report.already_paused}
    assert {"ops_disabled_stop", "desk_ops_disabled"} <= paused_names
    assert not {"ops_disabled_stop", "desk_ops_disabled"} & {c.task_name for c in report.active}

    # Nothing from expired or past one-off tasks, nor from the other project.
    names = {c.task_name for c in report.conflicts}
    assert not names & {"fixed_past", "desk_expired", "month_end_restart", "quarterly_mid"}
    assert not any(n.startswith("dr_") for n in names)

    assert json.loads(json.dumps(report.to_json()))["systems"][0]["ok"] is True


async def test_expire_time_inside_the_window_cuts_the_count(
    schedulers: list[Scheduler], clock: ManualClock
) -> None:
    window = Window(start=NOW, end=NOW + 72 * H, tz="UTC")
    found = index(await check_window(window, schedulers, clock))
    start = ConflictKind.STARTS_IN_WINDOW
    assert found[("nightly_restart", start)].detail == "3 runs in the window"
    # expiring_daily expires at NOW + 2 days: runs at +6 h and +30 h, not +54 h.
    assert found[("expiring_daily", start)].detail == "2 runs in the window"
    # The window is open now, so running tasks are simply "running now".
    assert found[("running_restart", ConflictKind.RUNNING_AT_START)].detail == "running now"


async def test_running_now_follows_the_clock(
    schedulers: list[Scheduler], sim: HuaweiSimulator, clock: ManualClock
) -> None:
    connector = connector_of(schedulers[0])
    assert "running_restart" in {sim.tasks[r.task.id].name for r in await connector.running_now()}
    clock.set(NOW + 3 * H + timedelta(minutes=5))  # nightly_restart began 5 min ago
    running = {sim.tasks[r.task.id].name: r for r in await connector.running_now()}
    assert "nightly_restart" in running
    assert running["nightly_restart"].started_at == NOW + 3 * H
    assert running["nightly_restart"].expected_duration is not None
    assert "running_restart" not in running  # 3.5 h after its start, it has finished


# -- pause / resume -------------------------------------------------------------------------------


async def test_pause_resume_round_trips_for_both_families(
    schedulers: list[Scheduler], sim: HuaweiSimulator, clock: ManualClock
) -> None:
    connector = connector_of(schedulers[0])
    app = sim.find("nightly_restart")
    desk = sim.find("desk_daily_reboot")
    before = await sandbox_state(sim)
    refs = [ref_of(connector.system, app), ref_of(connector.system, desk)]

    for ref in refs:
        assert await connector.pause(ref, "maintenance 2026-11-18") is True
    state = await sandbox_state(sim)
    assert state[app.id]["enabled"] is False
    assert state[desk.id]["enabled"] is False
    assert state[app.id]["paused"] is True

    window = Window(start=NOW + 2 * H, end=NOW + 28 * H, tz="UTC")
    report = await check_window(window, schedulers, clock)
    paused = {c.task_name for c in report.already_paused}
    assert {"nightly_restart", "desk_daily_reboot"} <= paused
    assert "nightly_restart" not in {c.task_name for c in report.active}

    for ref in refs:
        assert await connector.pause(ref, "again") is False
        assert (await connector.read_state(ref)).paused
        assert await connector.resume(ref) is True
        assert await connector.resume(ref) is False
        assert not (await connector.read_state(ref)).paused
    assert await sandbox_state(sim) == before


# -- two projects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["aksk", "password"])
async def test_two_projects_are_two_schedulers(
    server: SandboxServer,
    sim: HuaweiSimulator,
    clock: ManualClock,
    auth: Literal["aksk", "password"],
) -> None:
    config = Config.model_validate(
        {
            "schedulers": {
                "huawei-prod": sim.config_entry(0, auth=auth),
                "huawei-dr": sim.config_entry(1, auth=auth),
            },
            "extra_env": sim.credentials(),
        }
    )
    schedulers = open_schedulers(config, clock)
    try:
        window = Window(start=NOW + 2 * H, end=NOW + 28 * H, tz="UTC")
        report = await check_window(window, schedulers, clock)
        assert [(s.system, s.ok) for s in report.systems] == [
            ("huawei-prod", True),
            ("huawei-dr", True),
        ]
        by_system: dict[str, set[str]] = {}
        for conflict in report.conflicts:
            by_system.setdefault(conflict.system, set()).add(conflict.task_name)
        assert "dr_nightly_restart" in by_system["huawei-dr"]
        assert "nightly_restart" in by_system["huawei-prod"]
        assert all(name.startswith("dr_") for name in by_system["huawei-dr"])
        assert not any(name.startswith("dr_") for name in by_system["huawei-prod"])

        if auth == "password":
            # One login per project, each scoped to its own project id.
            scopes = [
                r.json()["auth"]["scope"]["project"]["id"]
                for r in sim.requests_to("/v3/auth/tokens")
            ]
            assert sorted(scopes) == sorted(p.id for p in sim.projects)
        else:
            # No login; every signed request names the project of its path.
            assert not sim.requests_to("/v3/auth/tokens")
            for r in sim.requests:
                assert r.path.split("/")[2] == r.headers["x-project-id"]

        prod, dr = (connector_of(s) for s in schedulers)
        dr_task = sim.find("dr_nightly_restart", 1)
        assert await dr.pause(ref_of("huawei-dr", dr_task), "dr window") is True
        state = await sandbox_state(sim)
        assert state[dr_task.id]["enabled"] is False
        assert state[sim.find("nightly_restart").id]["enabled"] is True
        # The prod scheduler cannot see the other project's task.
        with pytest.raises(ConnectorError, match="404"):
            await prod.pause(ref_of("huawei-prod", dr_task), "wrong project")
        assert await dr.resume(ref_of("huawei-dr", dr_task)) is True
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()


# -- skipped runs ---------------------------------------------------------------------------------


async def test_runs_missed_while_disabled_by_someone_else(
    schedulers: list[Scheduler], sim: HuaweiSimulator
) -> None:
    """4A: schedule expansion minus execute-history [INFERRED]. ops_disabled_stop fires at
    22:00Z (14:00 in Los Angeles) daily and was disabled at 16:00Z on the 15th."""
    connector = connector_of(schedulers[0])
    ref = ref_of(connector.system, sim.find("ops_disabled_stop"))
    skipped = await connector.skipped_runs(ref, NOW - 4 * 24 * H, NOW)
    assert [s.at for s in skipped] == [
        datetime(2026, 11, 15, 22, 0, tzinfo=UTC),
        datetime(2026, 11, 16, 22, 0, tzinfo=UTC),
        datetime(2026, 11, 17, 22, 0, tzinfo=UTC),
    ]
    assert all("inferred" in s.reason for s in skipped)
    # The future is not "skipped" yet.
    assert await connector.skipped_runs(ref, NOW, NOW + 48 * H) == []


async def test_runs_missed_during_our_own_pause(
    schedulers: list[Scheduler], sim: HuaweiSimulator, clock: ManualClock
) -> None:
    """4B: paused now, resumed two days later: the two 22:00Z runs in between were missed;
    the one after the resume ran."""
    connector = connector_of(schedulers[0])
    ref = ref_of(connector.system, sim.find("desk_daily_reboot"))
    assert await connector.pause(ref, "window") is True
    clock.advance(48 * H)
    assert await connector.resume(ref) is True
    clock.advance(24 * H)
    skipped = await connector.skipped_runs(ref, NOW, clock())
    assert [s.at for s in skipped] == [
        datetime(2026, 11, 18, 22, 0, tzinfo=UTC),
        datetime(2026, 11, 19, 22, 0, tzinfo=UTC),
    ]


async def test_skip_records_are_skipped_runs(
    schedulers: list[Scheduler], sim: HuaweiSimulator
) -> None:
    """4B records with status SKIP are reported from the record itself."""
    connector = connector_of(schedulers[0])
    task = sim.find("desk_skip_script")
    start = NOW - 10 * 24 * H
    expected = sorted(r.fire for r in sim.runs(task) if r.status == "SKIP" and r.fire >= start)
    assert expected, "the sample data has SKIP records"
    skipped = await connector.skipped_runs(ref_of(connector.system, task), start, NOW)
    assert [s.at for s in skipped] == expected
    assert all(s.reason == "Huawei recorded SKIP (3 desktops)" for s in skipped)


# -- local expansion vs the simulator's own answers ---------------------------------------------


async def test_local_expansion_agrees_with_future_executions_and_next_execution_time(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    config = Config.model_validate(
        {
            "schedulers": {"p0": sim.config_entry(0), "p1": sim.config_entry(1)},
            "extra_env": sim.credentials(),
        }
    )
    schedulers = open_schedulers(config, clock)
    checked = 0
    try:
        for scheduler, project in zip(schedulers, sim.projects, strict=True):
            connector = connector_of(scheduler)
            listed = await connector.next_executions()
            for task in sim.tasks.values():
                if task.project_id != project.id:
                    continue
                if task.fields.get("scheduled_type") == "LIFE_CYCLE":
                    continue
                ref = ref_of(connector.system, task)
                local = (await connector.schedule(ref)).after(clock(), 5)
                vendor = await connector.vendor_future_executions(ref)
                assert local == vendor, task.name
                expected_next = local[0] if task.enabled and local else None
                assert listed[ref.key] == expected_next, task.name
                checked += 1
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()
    event_triggered = [t for t in sim.tasks.values() if t.fields["scheduled_type"] == "LIFE_CYCLE"]
    assert event_triggered
    assert checked == len(sim.tasks) - len(event_triggered)  # every clock-driven sample task

    posts = sim.requests_to("/future-executions", "POST")
    assert {p.path.split("/")[1] for p in posts} == {"v1", "v2"}
    for post in posts:
        body = post.json()
        assert {"scheduled_type", "scheduled_time"} <= set(body)
        assert not {"id", "task_name", "enable", "is_enable"} & set(body)


# -- the sandbox registry -------------------------------------------------------------------------


def test_registered_in_the_sandbox(clock: ManualClock) -> None:
    (made,) = make_simulators(clock=clock, vendors=["huawei"])
    assert isinstance(made, HuaweiSimulator)
    made.base_url = "http://127.0.0.1:9"
    config = sandbox_config([made])
    entry = config.schedulers["huawei"]
    assert entry.vendor == "huawei"
    assert entry.base_url == entry.appstream_url == made.base_url
    # The sandbox signs with an access key, the recommended way; the password sign-in's
    # demo credentials are there too, for a table that asks for it.
    assert entry.auth_mode == "aksk"
    assert set(made.credentials()) == {ACCESS_KEY_ENV, SECRET_KEY_ENV, USERNAME_ENV, PASSWORD_ENV}
    assert config.credentials("huawei", environ={}) == {
        "access_key": made.access_key,
        "secret_key": made.secret_key,
    }
    state = made.state()
    assert len(state["tasks"]) >= 24
    assert {t["family"] for t in state["tasks"]} == {"app", "desktop"}
    assert any(not t["enabled"] for t in state["tasks"])


def test_scale_multiplies_the_sample_data(clock: ManualClock) -> None:
    one = HuaweiSimulator(clock=clock, scale=1)
    many = HuaweiSimulator(clock=clock, scale=20)
    main = many.projects[0].id
    per_family = {
        family: sum(1 for t in many.tasks.values() if t.family == family and t.project_id == main)
        for family in ("app", "desktop")
    }
    assert per_family == {"app": 240, "desktop": 240}
    assert len(many.tasks) > 20 * (len(one.tasks) - 8)
    # Deterministic: same seed and clock, same data.
    again = HuaweiSimulator(clock=clock, scale=20)
    assert again.state() == many.state()
