"""Pyramid Analytics: contract tests against the loopback simulator over real HTTP, bad input
and faults, and the end-to-end check → pause → resume flow."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.check import check_window, open_schedulers
from bot.clock import ManualClock
from bot.conflicts import estimate_duration
from bot.connectors.pyramid import (
    SCHEDULE_STATUSES,
    TASK_STATUSES,
    PyramidConfig,
    PyramidConnector,
    enum_name,
    from_config,
)
from bot.errors import AuthError, ConnectorError
from bot.model import ConflictKind, TaskKind, TaskRef, Window
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.pyramid import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    HISTORY,
    VIEWER_PASSWORD,
    VIEWER_USERNAME,
    PyramidSimulator,
)

LOGIN = "/API3/authentication/authenticateUser"
SECRETS = (DEMO_PASSWORD, VIEWER_PASSWORD, "wrong-password-123")


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[PyramidSimulator]:
    simulator = PyramidSimulator(clock=clock)
    with SandboxServer([simulator]):
        yield simulator


def make(
    sim: PyramidSimulator,
    clock: ManualClock,
    *,
    username: str = DEMO_USERNAME,
    password: str = DEMO_PASSWORD,
    **overrides: Any,
) -> PyramidConnector:
    config = PyramidConfig.model_validate({**sim.config_entry(), **overrides})
    return from_config("pyramid", config, {"username": username, "password": password}, clock=clock)


@pytest.fixture
async def connector(sim: PyramidSimulator, clock: ManualClock) -> AsyncIterator[PyramidConnector]:
    conn = make(sim, clock)
    yield conn
    await conn.aclose()


def ref(sim: PyramidSimulator, name: str) -> TaskRef:
    return TaskRef(system="pyramid", kind=TaskKind.SCHEDULE, id=sim.by_name(name).id)


def assert_no_secret(message: str, *extra: str) -> None:
    for secret in (*SECRETS, *extra):
        assert secret not in message


def tokens_issued(sim: PyramidSimulator) -> list[str]:
    return [r.headers["patoken"] for r in sim.requests if "patoken" in r.headers]


async def raw_post(sim: PyramidSimulator, method: str, body: Any) -> httpx.Response:
    """A request straight to the simulator, bypassing the connector."""
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        login = await client.post(
            LOGIN, json={"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
        )
        return await client.post(
            f"/API3/tasks/{method}", json=body, headers={"paToken": login.text}
        )


async def sandbox_state(sim: PyramidSimulator) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        response = await client.get("/_sandbox/state")
    return {t["name"]: t for t in response.json()["tasks"]}


# -- requests have the vendor's paths, methods, headers and bodies ---------------------------


async def test_login_then_every_call_is_a_post_with_the_patoken_header(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    await connector.list_tasks()
    await connector.running_now()

    login, *calls = sim.requests
    assert (login.method, login.path) == ("POST", LOGIN)
    assert login.json() == {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    assert "patoken" not in login.headers
    assert {r.method for r in calls} == {"POST"}
    assert all(r.path.startswith("/API3/tasks/") for r in calls)
    tokens = {r.headers.get("patoken") for r in calls}
    assert len(tokens) == 1
    assert sim.token_valid(tokens.pop())
    assert "authorization" not in calls[0].headers


async def test_login_sends_the_domain_when_configured(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    async with make(sim, clock, domain="Corp") as conn:
        await conn.list_tasks()
    assert sim.requests_to(LOGIN)[0].json() == {
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "domain": "Corp",
    }


@pytest.mark.parametrize("token_format", ["plain", "quoted"])
async def test_token_body_is_accepted_bare_or_json_quoted(
    sim: PyramidSimulator, connector: PyramidConnector, token_format: str
) -> None:
    sim.token_format = token_format
    assert await connector.list_tasks()
    token = tokens_issued(sim)[0]
    assert not token.startswith('"')
    assert sim.token_valid(token)


async def test_find_schedule_body_is_the_search_criteria_object(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    async with make(sim, clock, search_value="sales") as conn:
        tasks = await conn.list_tasks()
    body = sim.requests_to("findSchedule")[0].json()
    assert body == {"searchCriteria": {"searchValue": "sales", "searchMatchType": "Contains"}}
    assert {t.name for t in tasks} == {"Sales dashboard refresh", "Regional sales mail"}


async def test_single_id_bodies_are_bare_json_strings(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    running = await connector.running_now()

    executions = sim.requests_to("getExecutions")
    assert executions
    for request in executions:
        assert request.body.startswith(b'"')
        assert isinstance(request.json(), str)
    # Only the execution that came without counters needed a status lookup.
    (status,) = sim.requests_to("getScheduleExecutionStatus")
    churn = next(r for r in running if r.task.id == sim.by_name("Customer churn scoring").id)
    assert status.json() == churn.execution_id


# -- documented responses, including the edge shapes ------------------------------------------


def test_enums_are_read_as_names_or_ordinals() -> None:
    assert enum_name(4, SCHEDULE_STATUSES) == "HOLD"
    assert enum_name("4", SCHEDULE_STATUSES) == "HOLD"
    assert enum_name("hold", SCHEDULE_STATUSES) == "HOLD"
    assert enum_name("IDLE", SCHEDULE_STATUSES) == "IDLE"
    assert enum_name(7, TASK_STATUSES) == "DURING_LOCK"
    assert enum_name(4, TASK_STATUSES) == "RUNNING"
    assert enum_name(99, SCHEDULE_STATUSES) == "#99"
    assert enum_name("SOMETHING_NEW", SCHEDULE_STATUSES) == "SOMETHING_NEW"
    assert enum_name(None, SCHEDULE_STATUSES) is None


async def test_schedules_are_parsed_from_names_ordinals_and_missing_fields(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    wire = (await raw_post(sim, "findSchedule", {"searchCriteria": {"searchValue": ""}})).json()
    by_name = {s["name"]: s for s in wire}
    # The simulator really does send both shapes (and leaves optional fields out).
    assert by_name["Marketing mart sync"]["status"] == 4
    assert by_name["Budget vs actual"]["status"] == "HOLD"
    assert "endDate" not in by_name["HR headcount export"]

    tasks = {t.name: t for t in await connector.list_tasks()}
    assert tasks["Marketing mart sync"].paused
    assert tasks["Marketing mart sync"].vendor_state == "HOLD"
    for task in tasks.values():
        assert task.kind is TaskKind.SCHEDULE
        assert task.vendor_state == sim.status_of(task.id)
    # A soft-deleted schedule is still returned by findSchedule but is no task any more.
    assert "Old sales report" in by_name
    assert "Old sales report" not in tasks


async def test_suspended_reading_both_hold_and_stopped_count_as_paused(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    """Gap: which ScheduleStatus a suspended schedule shows. Both HOLD and STOPPED are paused."""
    tasks = {t.name: t for t in await connector.list_tasks()}
    assert tasks["HR headcount export"].vendor_state == "STOPPED"
    assert tasks["HR headcount export"].paused
    assert tasks["Budget vs actual"].vendor_state == "HOLD"
    assert tasks["Budget vs actual"].paused
    assert not tasks["Migration one-off"].paused  # FINISHED: will not fire, is not paused
    assert not tasks["Sales dashboard refresh"].paused


async def test_upcoming_runs_are_may_fire_runs_without_a_time(
    sim: PyramidSimulator, connector: PyramidConnector, clock: ManualClock
) -> None:
    start, end = clock() + timedelta(hours=1), clock() + timedelta(hours=2)
    runs = await connector.upcoming_runs(start, end)
    names = {sim.by_name(s.name).id: s.name for s in sim.schedules}
    got = {names[r.task.id] for r in runs}

    assert all(r.at is None for r in runs)
    assert all("exposes no next-run time" in (r.note or "") for r in runs)
    assert {"Sales dashboard refresh", "Warehouse nightly load", "Inventory model load"} <= got
    # ONCE, active from 30 minutes from now for two days: may fire in the window.
    assert "Partner data import" in got
    # Suspended ones are included so the report can list them apart as already paused.
    assert {"Marketing mart sync", "HR headcount export"} <= got
    not_firing = {
        "Year-end close load",  # starts after the window
        "Logistics cube",  # ended before the window
        "Migration one-off",  # FINISHED
        "Old sales report",  # DELETED
        "Supplier feed",  # DISABLED_AFTER_FAILURES
        "Ad-hoc extract",  # ON_DEMAND
        "Snapshot images",  # RUN_ONCE
    }
    assert not got & not_firing
    note = next(r.note for r in runs if names[r.task.id] == "Finance cube rebuild")
    assert note is not None
    assert "active from" in note
    assert "2027-11-18" in note


async def test_running_now_from_counters_and_from_execution_status(
    sim: PyramidSimulator, connector: PyramidConnector, clock: ManualClock
) -> None:
    running = {r.task.id: r for r in await connector.running_now()}
    inventory = sim.by_name("Inventory model load")
    churn = sim.by_name("Customer churn scoring")
    assert set(running) == {inventory.id, churn.id}
    started = clock() - timedelta(minutes=25)
    assert running[inventory.id].started_at == started
    assert running[churn.id].started_at == started

    # p90 of the finished executions' startDate → endDate, as served on the wire.
    wire = (await raw_post(sim, "getExecutions", inventory.id)).json()
    finished = [
        datetime.fromisoformat(e["endDate"]) - datetime.fromisoformat(e["startDate"])
        for e in wire
        if e.get("endDate")
    ]
    assert len(finished) == HISTORY - 1
    expected = running[inventory.id].expected_duration
    assert expected == estimate_duration(finished)
    assert expected is not None
    assert expected > timedelta(hours=2)


async def test_string_typed_counters_are_read_as_numbers(
    sim: PyramidSimulator, connector: PyramidConnector, clock: ManualClock
) -> None:
    procurement = sim.by_name("Procurement mart")  # served with string-typed counters
    # Move to one minute after its next trigger, so its latest execution is in progress.
    fires = (clock() - procurement.first_fire) // procurement.period + 1
    clock.set(procurement.first_fire + fires * procurement.period + timedelta(minutes=1))
    wire = (await raw_post(sim, "getExecutions", procurement.id)).json()
    assert wire[-1]["runningCount"] == "1"
    assert all(isinstance(e["successCount"], str) for e in wire)

    running = {r.task.id: r for r in await connector.running_now()}
    # Started on its trigger, as late as the server's queue made it.
    assert running[procurement.id].started_at == clock() - timedelta(
        minutes=1
    ) + procurement.lateness(fires)


async def test_dates_without_offset_are_utc_and_epoch_numbers_are_accepted(
    sim: PyramidSimulator, connector: PyramidConnector, clock: ManualClock
) -> None:
    """INFERRED: offset-less date-times are UTC; epoch numbers (ms when large) are dates."""
    schedules = [
        {
            "scheduleId": "naive",
            "name": "Naive dates",
            "startDate": "2026-11-18T17:00:00",
            "status": "IDLE",
            "scheduleDataType": "RECURRING",
        },
        {
            "scheduleId": 42,
            "name": "Epoch dates",
            "startDate": 1_763_000_000_000,
            "endDate": "1800000000",
            "status": 0,
            "scheduleDataType": 1,
        },
    ]
    sim.faults.malformed(path_contains="findSchedule", body=json.dumps(schedules))
    runs = await connector.upcoming_runs(clock(), clock() + timedelta(hours=1))
    notes = {r.task.id: r.note or "" for r in runs}
    assert "active from 2026-11-18 17:00 UTC to no end date" in notes["naive"]
    assert "active from 2025-11-13 02:13 UTC to 2027-01-15 08:00 UTC" in notes["42"]


async def test_no_pagination_one_find_schedule_returns_everything(
    clock: ManualClock,
) -> None:
    """Gap: pagination is undocumented; findSchedule is read as one full array."""
    big = PyramidSimulator(clock=clock, schedules=300)
    with SandboxServer([big]):
        async with make(big, clock) as conn:
            tasks = await conn.list_tasks()
            # No published limit: no fixed cap, the concurrency adapts instead.
            assert conn.http.limiter is None
            assert conn.http.concurrency is not None
    assert len(tasks) == 290  # 300 less the ten soft-deleted copies
    assert len(big.requests_to("findSchedule")) == 1


# -- pause and resume ---------------------------------------------------------------------------


async def test_resume_leaves_a_schedule_suspended_by_someone_else(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    target = ref(sim, "Budget vs actual")
    prior = await connector.read_state(target)
    assert prior.paused
    assert await connector.pause(target, "maintenance") is False
    assert await connector.resume(target, prior) is False
    assert not sim.requests_to("suspendSchedule")
    assert not sim.requests_to("resumeSchedule")
    assert sim.status_of(target.id) == "HOLD"


async def test_a_stopped_schedule_is_resumed_with_resume_schedule(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    """resumeSchedule is documented to resume 'a paused or stopped schedule'."""
    target = ref(sim, "HR headcount export")
    assert await connector.resume(target) is True
    assert sim.status_of(target.id) == "IDLE"


async def test_a_schedule_that_will_not_fire_is_not_suspended(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    assert await connector.pause(ref(sim, "Migration one-off"), "maintenance") is False
    assert not sim.requests_to("suspendSchedule")


async def test_success_false_is_a_failure_and_nothing_changes(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    target = ref(sim, "Procurement mart")
    sim.refuse_next[target.id] = "Schedule is locked by another operation"
    with pytest.raises(ConnectorError) as caught:
        await connector.pause(target, "maintenance")
    assert "locked by another operation" in str(caught.value)
    assert "success=false" in str(caught.value)
    assert (await sandbox_state(sim))["Procurement mart"]["paused"] is False
    assert_no_secret(str(caught.value))


async def test_skipped_runs_are_the_triggers_stopped_while_suspended(
    sim: PyramidSimulator, connector: PyramidConnector, clock: ManualClock
) -> None:
    """INFERRED: a trigger due while suspended is recorded with triggerStoppedCount."""
    target = ref(sim, "Treasury positions")  # hourly
    start = clock()
    await connector.pause(target, "maintenance")
    clock.advance(timedelta(hours=3))
    await connector.resume(target)
    skipped = await connector.skipped_runs(target, start, clock())
    assert len(skipped) == 3
    assert all(start <= s.at < clock() for s in skipped)
    assert all("suspended" in s.reason for s in skipped)
    # Once resumed, triggers run again and nothing more is skipped.
    clock.advance(timedelta(hours=2))
    assert await connector.skipped_runs(target, start + timedelta(hours=3), clock()) == []


# -- the simulator validates requests as the vendor would -----------------------------------------


async def test_simulator_answers_405_400_401_in_plain_text(sim: PyramidSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        wrong_method = await client.get("/API3/tasks/findSchedule")
        no_token = await client.post("/API3/tasks/findSchedule", json={})
    assert wrong_method.status_code == 405
    assert no_token.status_code == 401
    assert no_token.headers["content-type"].startswith("text/plain")
    wrapped = await raw_post(sim, "getExecutions", {"scheduleId": sim.schedules[0].id})
    assert wrapped.status_code == 400
    assert wrapped.headers["content-type"].startswith("text/plain")
    assert "JSON string" in wrapped.text
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        camel = await client.post(
            LOGIN, json={"userName": DEMO_USERNAME, "password": DEMO_PASSWORD}
        )
    assert camel.status_code == 200  # the docs' samples spell it userName: accepted too
    no_criteria = await raw_post(sim, "findSchedule", {"searchValue": "x"})
    assert no_criteria.status_code == 400
    ordinal = await raw_post(
        sim, "findSchedule", {"searchCriteria": {"searchValue": "Board", "searchMatchType": 2}}
    )
    assert ordinal.status_code == 200
    assert ordinal.json() == []  # 2 = Equals, and no schedule is called just "board"


# -- bad input and faults -------------------------------------------------------------------------


async def test_wrong_password_is_a_clear_auth_error(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    async with make(sim, clock, password="wrong-password-123") as conn:
        with pytest.raises(AuthError) as caught:
            await conn.list_tasks()
    message = str(caught.value)
    assert message.startswith("pyramid: ")
    assert "credentials were refused" in message
    assert "Invalid username or password" in message
    assert_no_secret(message)


async def test_token_is_refreshed_before_the_chosen_cache_lifetime_runs_out(
    sim: PyramidSimulator, connector: PyramidConnector, clock: ManualClock
) -> None:
    """Gap: token lifetime. The connector caches it for 10 minutes (minus a 1-minute margin)."""
    await connector.list_tasks()
    clock.advance(timedelta(minutes=8))
    await connector.list_tasks()
    assert len(sim.requests_to(LOGIN)) == 1
    clock.advance(timedelta(minutes=1, seconds=30))
    await connector.list_tasks()
    assert len(sim.requests_to(LOGIN)) == 2
    assert len(sim.requests_to("findSchedule")) == 3  # no 401 along the way


async def test_missing_role_is_a_403_that_names_the_role(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    async with make(sim, clock, username=VIEWER_USERNAME, password=VIEWER_PASSWORD) as conn:
        with pytest.raises(AuthError) as caught:
            await conn.list_tasks()
    assert caught.value.status == 403
    message = str(caught.value)
    assert "permission denied" in message
    assert "Enterprise Admin" in message
    assert "Domain Admin" in message
    assert_no_secret(message, *tokens_issued(sim))


async def test_deleted_schedule_is_not_found(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    soft = ref(sim, "Weekly KPI pack")
    sim.set_status(soft.id, "DELETED")
    with pytest.raises(ConnectorError) as caught:
        await connector.pause(soft, "maintenance")
    assert caught.value.status == 404
    assert "not found" in str(caught.value)

    gone = ref(sim, "Board pack")
    sim.remove(gone.id)
    with pytest.raises(ConnectorError) as caught:
        await connector.read_state(gone)
    assert caught.value.status == 404
    assert not sim.requests_to("suspendSchedule")


async def test_schedule_vanishing_between_list_and_executions_is_skipped(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    sim.faults.fail(
        404,
        times=1,
        path_contains="getExecutions",
        body="Schedule was not found",
        content_type="text/plain",
    )
    running = await connector.running_now()
    # Whichever schedule's lookup 404ed is left out; the others are still answered.
    assert 1 <= len(running) <= 2
    assert len(sim.requests_to("getExecutions")) == len(await connector.list_tasks())


async def test_a_failed_lookup_leaves_no_request_in_flight(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    sim.faults.latency_ms = 20
    sim.faults.fail(400, times=1, path_contains="getExecutions", body="Bad request")
    with pytest.raises(ConnectorError) as caught:
        await connector.running_now()
    assert "HTTP 400: Bad request" in str(caught.value)
    # The other lookups were cancelled and awaited, not left running against a client that
    # is about to be closed.
    assert connector.http.in_flight == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"unexpected": true}', "malformed response"),
        ('[{"name": "no id"}]', "malformed response"),
    ],
)
async def test_malformed_bodies_are_connector_errors(
    sim: PyramidSimulator, connector: PyramidConnector, body: str, expected: str
) -> None:
    sim.faults.malformed(path_contains="findSchedule", body=body)
    with pytest.raises(ConnectorError) as caught:
        await connector.list_tasks()
    assert expected in str(caught.value)


async def test_token_that_is_not_a_token_is_an_auth_error(
    sim: PyramidSimulator, connector: PyramidConnector
) -> None:
    sim.faults.fail(200, path_contains="authenticateUser", body=json.dumps({"error": "x"}))
    with pytest.raises(AuthError) as caught:
        await connector.list_tasks()
    assert "without a token" in str(caught.value)


# -- end to end through the check ---------------------------------------------------------------


async def test_check_window_reports_may_fire_running_and_already_paused(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    window = Window(start=clock() + timedelta(hours=1), end=clock() + timedelta(hours=2), tz="UTC")
    schedulers = open_schedulers(sandbox_config([sim]), clock)
    try:
        report = await check_window(window, schedulers, clock)
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()

    (system,) = report.systems
    assert system.ok, system.error
    assert system.vendor == "pyramid"
    active = {(c.task_name, c.kind) for c in report.active}
    # An hourly schedule's next runs are predicted from its executions, and say so.
    assert ("Sales dashboard refresh", ConflictKind.STARTS_IN_WINDOW) in active
    sales = next(c for c in report.conflicts if c.task_name == "Sales dashboard refresh")
    assert sales.predicted
    assert sales.at is not None
    assert window.contains(sales.at)
    assert "(hourly, from 30 runs), predicted from run history" in sales.detail
    # One that fires irregularly stays at an unknown time, and says why.
    assert ("Quality alerts", ConflictKind.MAY_FIRE) in active
    irregular = next(c for c in report.conflicts if c.task_name == "Quality alerts")
    assert not irregular.predicted
    assert irregular.at is None
    assert "time unknown: no clear pattern in" in irregular.detail
    assert ("Inventory model load", ConflictKind.RUNNING_AT_START) in active
    assert ("Customer churn scoring", ConflictKind.RUNNING_AT_START) in active
    # Running now is a fact from Pyramid, never a prediction.
    assert not any(c.predicted for c in report.conflicts if c.kind is ConflictKind.RUNNING_AT_START)
    # Paused schedules are listed apart when they would have run in the window (their
    # trigger keeps coming due while suspended, so they are predicted too).
    paused = {c.task_name for c in report.already_paused}
    assert paused <= {
        "Marketing mart sync",
        "HR headcount export",
        "Budget vs actual",
        "Ops cube refresh",
    }
    assert all(c.predicted for c in report.already_paused)
    assert "Logistics cube" not in {c.task_name for c in report.conflicts}
    running = next(c for c in report.conflicts if c.task_name == "Inventory model load")
    assert running.at == clock() - timedelta(minutes=25)
