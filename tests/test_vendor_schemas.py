"""Every vendor answer is checked, never trusted: for each endpoint a check reads, on all four
simulators at once, a 200 whose body breaks the documented shape (tests/vendor_fault_cases.py)
makes that system ``ok=False`` with an error naming the field, while the three others keep
exactly the conflicts of a fault-free check. And on the pause/resume path a malformed answer
is a failed attempt (``ConnectorError``), with nothing sent to the vendor after it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import REFERENCE_NOW
from vendor_fault_cases import CASES, LONG_ID, SchemaFault

from bot.check import Scheduler, check_window, open_schedulers
from bot.clock import ManualClock, epoch_instant, sane_instant
from bot.connectors.base import Connector
from bot.errors import ConnectorError
from bot.model import ConflictReport, TaskKind, TaskRef
from bot.sandbox import make_simulators, sandbox_config
from bot.sandbox.base import SandboxServer, Simulator
from bot.sandbox.bmc import BmcSimulator
from bot.sandbox.huawei import HuaweiSimulator
from bot.sandbox.pyramid import PyramidSimulator
from bot.sandbox.talend import TalendSimulator
from bot.windows import parse_window

VENDORS = ("talend", "pyramid", "bmc", "huawei")
# Every rule is served to every matching request until cleared: a fault meant for one
# endpoint must not run out before the connector reaches it.
FOREVER = 10**6

Keys = dict[str, set[tuple[str, str, str | None]]]


@dataclass
class Sandbox:
    server: SandboxServer
    clock: ManualClock
    baseline: Keys | None = None

    def sim(self, vendor: str) -> Simulator:
        return self.server.by_vendor(vendor)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # One server for the module: nothing here changes a simulator's state for good (every
    # fault is cleared, every pause that happens is undone), so the cases can share it.
    clock = ManualClock(REFERENCE_NOW)
    # Talend's request validation against its OpenAPI files is left to tests/test_talend.py:
    # here it would double the cost of every check and test nothing about answers.
    simulators = [
        TalendSimulator(clock=clock, validate=False),
        *make_simulators(clock=clock, vendors=("pyramid", "bmc", "huawei")),
    ]
    with SandboxServer(simulators) as server:
        yield Sandbox(server, clock)


@pytest.fixture
def clean(sandbox: Sandbox) -> Iterator[Sandbox]:
    for sim in sandbox.server:
        sim.faults.clear()
    yield sandbox
    for sim in sandbox.server:
        sim.faults.clear()


@pytest.fixture
async def schedulers(clean: Sandbox) -> AsyncIterator[dict[str, Scheduler]]:
    opened = open_schedulers(sandbox_config(list(clean.server)), clean.clock)
    yield {s.name: s for s in opened}
    for scheduler in opened:
        await scheduler.aclose()


def keys(report: ConflictReport) -> Keys:
    """Per system, what a person compares between two reports: task, kind and time."""
    found: Keys = {s.system: set() for s in report.systems}
    for c in report.conflicts:
        found[c.system].add((c.task_id, c.kind.value, c.at.isoformat() if c.at else None))
    return found


async def check(sandbox: Sandbox) -> ConflictReport:
    window = parse_window("Saturday 2-4am", tz="America/Los_Angeles", now=sandbox.clock())
    opened = open_schedulers(sandbox_config(list(sandbox.server)), sandbox.clock)
    try:
        return await check_window(window, opened, sandbox.clock)
    finally:
        for scheduler in opened:
            await scheduler.aclose()


async def baseline(sandbox: Sandbox) -> Keys:
    if sandbox.baseline is None:
        report = await check(sandbox)
        assert all(s.ok for s in report.systems), [s.error for s in report.systems]
        sandbox.baseline = keys(report)
    return sandbox.baseline


# -- the check -----------------------------------------------------------------------------------


async def test_the_simulators_normal_answers_parse_with_conflicts_on_every_system(
    clean: Sandbox,
) -> None:
    found = await baseline(clean)
    assert set(found) == set(VENDORS)
    assert all(found[v] for v in VENDORS), found


@pytest.mark.parametrize("case", CASES, ids=[f"{c.vendor}: {c.name}" for c in CASES])
async def test_a_malformed_answer_is_an_error_for_that_system_alone(
    clean: Sandbox, case: SchemaFault
) -> None:
    expected = await baseline(clean)
    clean.sim(case.vendor).faults.fail(
        200, body=case.body, path_contains=case.path_contains, times=FOREVER
    )
    report = await check(clean)
    clean.sim(case.vendor).faults.clear()

    systems = {s.system: s for s in report.systems}
    broken = systems[case.vendor]
    assert not broken.ok, f"{case.name}: read as ok"
    error = broken.error or ""
    assert case.expect in error, error
    assert "malformed response from" in error
    # The error names the field; it does not quote the vendor's values back.
    assert len(error) < 400, error
    assert LONG_ID[:40] not in error
    assert "../" not in error
    assert not [c for c in report.conflicts if c.system == case.vendor]
    found = keys(report)
    for vendor in VENDORS:
        if vendor != case.vendor:
            assert systems[vendor].ok, systems[vendor].error
            assert found[vendor] == expected[vendor], vendor


def test_every_vendor_has_cases_of_every_kind() -> None:
    for vendor in VENDORS:
        names = " | ".join(c.name for c in CASES if c.vendor == vendor)
        for kind in ("missing", "every", "broken among good", "10,000", "2200|1970"):
            assert any(k in names for k in kind.split("|")), (vendor, kind)


# -- pause, resume and read-back ---------------------------------------------------------------


@dataclass(frozen=True)
class LifecycleCase:
    """How one vendor's task state is read (``read_path``) and changed (``write_path``,
    ``write_method``), with a read answer that breaks the schema."""

    vendor: str
    read_path: str
    read_body: str
    expect: str
    write_path: str
    write_method: str


def _target(vendor: str, sim: Simulator) -> TaskRef:
    """A task of ``vendor`` that is active now."""
    if isinstance(sim, TalendSimulator):
        exe = sim.executable(sim.id_of("hourly_revenue_rollup"))
        return TaskRef(system=vendor, kind=TaskKind.TASK, id=exe.id)
    if isinstance(sim, PyramidSimulator):
        schedule = sim.by_name("Warehouse nightly load")
        return TaskRef(system=vendor, kind=TaskKind.SCHEDULE, id=schedule.id)
    if isinstance(sim, BmcSimulator):
        etl = next(e for e in sim.etls if e.state == "WAITING")
        return TaskRef(system=vendor, kind=TaskKind.ETL, id=str(etl.etl_id))
    assert isinstance(sim, HuaweiSimulator)
    task = sim.find("desk_daily_reboot")
    return TaskRef(system=vendor, kind=TaskKind.DESKTOP_TASK, id=task.id)


def _lifecycle_case(vendor: str, ref: TaskRef) -> LifecycleCase:
    if vendor == "talend":
        body = f'{{"id": "{ref.id}", "name": "x", "taskPauseDetails": {{"pause": "true"}}}}'
        return LifecycleCase(
            vendor,
            f"/orchestration/executables/tasks/{ref.id}",
            body,
            "taskPauseDetails.pause (input should be a valid boolean)",
            "/pause",
            "PUT",
        )
    if vendor == "pyramid":
        body = f'[{{"scheduleId": "{ref.id}", "name": "x", "status": {{"name": "IDLE"}}}}]'
        return LifecycleCase(
            vendor, "findSchedule", body, "0.status (value error", "suspendSchedule", "POST"
        )
    if vendor == "bmc":
        return LifecycleCase(
            vendor,
            f"/etls/{ref.id}/status",
            '{"status": 5}',
            "status (value error",
            f"/etls/{ref.id}/stop",
            "POST",
        )
    body = '{"task_name": "x", "scheduled_type": "DAY", "scheduled_time": 900}'
    return LifecycleCase(
        vendor,
        f"/scheduled-tasks/{ref.id}",
        body,
        "scheduled_time (input should be a valid string)",
        f"/scheduled-tasks/{ref.id}",
        "PUT",
    )


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_malformed_read_is_an_error_and_nothing_is_written(
    clean: Sandbox, schedulers: dict[str, Scheduler], vendor: str
) -> None:
    sim = clean.sim(vendor)
    connector = schedulers[vendor].connector
    assert isinstance(connector, Connector), schedulers[vendor].error
    ref = _target(vendor, sim)
    before = await connector.read_state(ref)
    assert not before.paused
    case = _lifecycle_case(vendor, ref)
    writes = len(sim.requests_to(case.write_path, case.write_method))

    sim.faults.fail(200, body=case.read_body, path_contains=case.read_path, times=FOREVER)
    with pytest.raises(ConnectorError) as read:
        await connector.read_state(ref)
    assert case.expect in read.value.detail
    assert "malformed response from" in read.value.detail
    if vendor != "talend":  # Talend's pause is one PUT, with no read before it
        with pytest.raises(ConnectorError, match="malformed response from"):
            await connector.pause(ref, "maintenance window")
        with pytest.raises(ConnectorError, match="malformed response from"):
            await connector.resume(ref, before)
        assert len(sim.requests_to(case.write_path, case.write_method)) == writes
    sim.faults.clear()
    assert (await connector.read_state(ref)).paused is False


WRITE_ANSWERS = [
    # (vendor, write path, malformed answer, expected words)
    ("pyramid", "suspendSchedule", '{"success": "true", "errorMessage": null}', "success"),
    ("bmc", "/stop", '{"task_execution_request_id": "many", "request_status": 1}', "request_"),
]


@pytest.mark.parametrize(("vendor", "path", "body", "expect"), WRITE_ANSWERS)
async def test_a_malformed_write_answer_is_a_failed_pause_never_paused(
    clean: Sandbox,
    schedulers: dict[str, Scheduler],
    vendor: str,
    path: str,
    body: str,
    expect: str,
) -> None:
    sim = clean.sim(vendor)
    connector = schedulers[vendor].connector
    assert isinstance(connector, Connector), schedulers[vendor].error
    ref = _target(vendor, sim)
    sim.faults.fail(200, body=body, path_contains=path, times=FOREVER)
    with pytest.raises(ConnectorError, match="malformed response from") as caught:
        await connector.pause(ref, "maintenance window")
    assert expect in caught.value.detail
    sim.faults.clear()
    # The fault answered instead of the vendor: nothing changed, and the task reads active.
    assert (await connector.read_state(ref)).paused is False


async def test_an_id_that_cannot_go_into_a_url_is_an_error_not_a_crash(
    clean: Sandbox, schedulers: dict[str, Scheduler]
) -> None:
    kinds = {
        "talend": TaskKind.TASK,
        "pyramid": TaskKind.SCHEDULE,
        "bmc": TaskKind.ETL,
        "huawei": TaskKind.APP_TASK,
    }
    for vendor, kind in kinds.items():
        connector = schedulers[vendor].connector
        assert isinstance(connector, Connector)
        for bad in (LONG_ID, "x/../../y?z=1"):
            ref = TaskRef(system=vendor, kind=kind, id=bad)
            with pytest.raises(ConnectorError) as caught:
                await connector.read_state(ref)
            assert bad not in str(caught.value)
            assert len(str(caught.value)) < 400


def test_every_case_is_well_formed_json() -> None:
    for case in CASES:
        # Every case is a well-formed JSON answer: a shape fault, not a parse fault.
        assert json.loads(case.body) is not None
        assert case.expect


async def test_an_unknown_pyramid_data_type_may_fire_instead_of_being_skipped(
    clean: Sandbox, schedulers: dict[str, Scheduler]
) -> None:
    """Only RUN_ONCE and ON_DEMAND are known to wait for someone; a data type Pyramid adds
    later, or one left out, is reported as a schedule that may fire."""
    base = {"name": "n", "status": "IDLE", "startDate": "2026-01-01T00:00:00Z"}
    schedules = [
        {**base, "scheduleId": "new-type", "scheduleDataType": "EVENT_DRIVEN"},
        {**base, "scheduleId": "no-type"},
        {**base, "scheduleId": "on-demand", "scheduleDataType": "ON_DEMAND"},
    ]
    clean.sim("pyramid").faults.fail(
        200, body=json.dumps(schedules), path_contains="findSchedule", times=FOREVER
    )
    connector = schedulers["pyramid"].connector
    assert isinstance(connector, Connector)
    now = clean.clock()
    runs = {r.task.id: r for r in await connector.upcoming_runs(now, now + timedelta(hours=2))}
    assert set(runs) == {"new-type", "no-type"}
    assert all(r.at is None for r in runs.values())
    assert "(no scheduleDataType)" in (runs["no-type"].note or "")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=5))),
        datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2201, 1, 1, tzinfo=UTC),
    ],
)
def test_instants_outside_1970_to_2200_are_refused_before_converting(moment: datetime) -> None:
    with pytest.raises(ValueError, match="outside the years 1970-2200"):
        sane_instant(moment)


@pytest.mark.parametrize("seconds", [-1.0, 1e20, float("inf"), float("nan"), 7_289_654_400.0])
def test_epochs_outside_1970_to_2200_are_refused_before_converting(seconds: float) -> None:
    with pytest.raises(ValueError, match="outside the years 1970-2200"):
        epoch_instant(seconds)


def test_instants_inside_the_range_convert_to_utc() -> None:
    assert sane_instant(datetime(2200, 12, 31, 23, tzinfo=UTC)).year == 2200
    assert epoch_instant(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert sane_instant(REFERENCE_NOW) == REFERENCE_NOW
