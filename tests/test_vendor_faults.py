"""Every structural vendor fault x every vendor, over loopback from the simulators themselves.

Each matrix case runs the real ``check_window`` over the four configured simulators with one
of them broken (an endless or huge body, a trickle, deep nesting, a redirect, odd statuses,
truncated JSON, the wrong content type, times out of range, gigantic ids) and asserts what a
person reading the report would check: the broken system is an error that says what went
wrong (no traceback, no secret, "no answer" when it is about time), and the three others
report exactly the conflicts of a fault-free run. Nothing here asserts a duration.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fault_matrix import (
    DATA_PATHS,
    DEADLINE_WORDS,
    STRUCTURAL_FAULTS,
    FaultSpec,
    Outcome,
    check_once,
    conflict_keys,
    matrix_config,
    run_case,
)
from vendor_fault_cases import cases_for

from bot.approvals import Policy
from bot.check import Scheduler, check_window, open_schedulers, snapshot
from bot.clock import ManualClock
from bot.config import load_config
from bot.connectors.base import Connector, RetryPolicy, VendorHttp
from bot.errors import ConfigError, ConnectorError
from bot.lifecycle import LogNotifier, WindowClock, approve_now, plan_window
from bot.model import PlannedTaskState, Run, RunningNow, Task, TaskKind, TaskRef, Window
from bot.sandbox import SandboxServer, Simulator, make_simulators
from bot.store import Store
from bot.windows import parse_window

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
VENDORS = tuple(DATA_PATHS)
Keys = dict[str, set[tuple[str, str, str | None]]]


@dataclass
class World:
    clock: ManualClock
    sims: list[Simulator]
    baseline: Keys

    def sim(self, vendor: str) -> Simulator:
        return next(s for s in self.sims if s.vendor == vendor)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One server with the four simulators for the whole module, on a clock that stands
    still so that every case sees the data of the fault-free run."""
    clock = ManualClock(NOW)
    sims = make_simulators(clock=clock)
    with SandboxServer(sims):
        report, _ = asyncio.run(check_once(matrix_config(sims, None), clock))
        assert all(s.ok for s in report.systems), report.systems
        baseline = conflict_keys(report)
        # A matrix over systems with nothing to lose would prove nothing.
        assert all(baseline[v] for v in VENDORS), baseline
        yield World(clock, sims, baseline)


def test_the_matrix_covers_every_fault_kind_and_vendor() -> None:
    from bot.sandbox.base import FAULT_KINDS

    kinds = {spec.kind for spec in STRUCTURAL_FAULTS}
    assert set(FAULT_KINDS) <= kinds
    # Every registered vendor has schema faults of its own answers (a new vendor adds them
    # in tests/vendor_fault_cases.py).
    assert {vendor for vendor in VENDORS if cases_for(vendor)} == set(VENDORS)
    statuses = {spec.name for spec in STRUCTURAL_FAULTS if spec.name.startswith("status")}
    assert {"status 204", "status 304", "status 418", "status 599"} <= statuses


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("spec", STRUCTURAL_FAULTS, ids=lambda s: s.name.replace(" ", "-"))
async def test_one_broken_vendor_is_a_clear_error_and_the_others_are_intact(
    world: World, spec: FaultSpec, vendor: str
) -> None:
    # Every case opens its connectors afresh: kept open across 68 checks in a few seconds,
    # they would meet their own client-side rate limits (Pyramid's 1,200 a minute).
    result = await run_case(spec, world.sims, vendor, world.baseline, world.clock)
    assert result.outcome == Outcome.CLEAR, (result.outcome, result.detail, result.error)
    assert result.error
    assert "Traceback" not in result.error
    if spec.by_deadline:
        assert any(word in result.error for word in DEADLINE_WORDS), result.error


async def test_endless_body_is_read_no_further_than_the_cap(world: World) -> None:
    cap_mb = 2.0
    sim = world.sim("bmc")
    sim.faults.clear()
    sim.faults.inject("endless", path_contains=DATA_PATHS["bmc"], times=10**6)
    abandoned = sim.faults.abandoned
    config = matrix_config([sim], "bmc", max_response_mb=cap_mb, faulty_deadline=30.0)
    tracemalloc.start()
    try:
        report, schedulers = await check_once(config, world.clock)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        sim.faults.clear()
    (result,) = report.systems
    assert not result.ok
    assert "larger than 2 MB" in (result.error or "")
    cap = int(cap_mb * 2**20)
    connector = schedulers[0].connector
    assert connector is not None
    http = connector.http
    # One read chunk past the cap at most, and no second attempt at an answer that big.
    assert http.peak_body_bytes <= cap + 2**16
    assert http.bytes_read <= cap + 2**16 + 2**16  # plus the small login answer
    # Memory follows what was read: the cap, its chunks, and the check around it. The
    # body the simulator would have sent (it never ends) is not in it.
    assert peak < 3 * cap + 8 * 2**20, peak
    await _until(lambda: sim.faults.abandoned > abandoned)


async def test_a_trickle_cut_at_the_deadline_closes_its_connection(world: World) -> None:
    sim = world.sim("pyramid")
    sim.faults.clear()
    sim.faults.inject("trickle", path_contains=DATA_PATHS["pyramid"], times=10**6, interval=0.5)
    abandoned = sim.faults.abandoned
    try:
        report, _ = await check_once(matrix_config([sim], "pyramid"), world.clock)
    finally:
        sim.faults.clear()
    (result,) = report.systems
    assert not result.ok
    assert "no answer" in (result.error or "")
    # The vendor sees the client hang up: the abandoned call does not drain in the pool.
    await _until(lambda: sim.faults.abandoned > abandoned)


async def test_the_next_check_after_a_cut_off_answer_is_whole(world: World) -> None:
    spec = next(s for s in STRUCTURAL_FAULTS if s.kind == "endless")
    await run_case(spec, world.sims, "talend", world.baseline, world.clock)
    report, _ = await check_once(matrix_config(world.sims, None), world.clock)
    assert all(s.ok for s in report.systems)
    assert conflict_keys(report) == world.baseline


def test_faults_can_be_injected_over_http(world: World) -> None:
    sim = world.sim("bmc")
    sim.faults.clear()
    try:
        assert _post(sim, {"inject": [{"kind": "deep", "depth": 5, "path_contains": "/opt/"}]})
        with urllib.request.urlopen(f"{sim.base_url}/opt/api/v1/backend/etls/") as answer:
            assert answer.read() == b"[[[[[]]]]]"
        with pytest.raises(AssertionError, match="unknown fault kind 'sideways'"):
            _post(sim, {"inject": [{"kind": "sideways"}]})
        with pytest.raises(AssertionError, match="takes no speed"):
            _post(sim, {"inject": [{"kind": "trickle", "speed": 3}]})
    finally:
        sim.faults.clear()


# -- the last line of defence in the check ---------------------------------------------------
class _BrokenConnector(Connector):
    """A connector with a bug nobody foresaw: it stands for vendor code that raises what it
    should have turned into a ConnectorError, or hands back values that break arithmetic."""

    vendor = "broken"
    label = "Broken"

    def __init__(self, clock: ManualClock, *, raise_: Exception | None, far: bool) -> None:
        http = VendorHttp("broken", "http://127.0.0.1:9", clock=clock)
        super().__init__("broken", http, clock)
        self.raise_ = raise_
        self.far = far

    def _ref(self) -> TaskRef:
        return self.ref(TaskKind.TASK, "t1")

    async def list_tasks(self) -> list[Task]:
        return [Task(system=self.system, kind=TaskKind.TASK, id="t1", name="t1", paused=False)]

    async def upcoming_runs(
        self, start: datetime, end: datetime, *, durations_before: datetime | None = None
    ) -> list[Run]:
        if self.raise_ is not None:
            raise self.raise_
        # Before the window, with a duration that takes its end past the year 9999.
        duration = timedelta(days=999_999_999) if self.far else timedelta(minutes=5)
        return [Run(task=self._ref(), at=start, expected_duration=duration)]

    async def running_now(self) -> list[RunningNow]:
        return []

    async def read_state(self, ref: TaskRef) -> Task:
        return (await self.list_tasks())[0]

    async def pause(self, ref: TaskRef, reason: str) -> bool:
        return True

    async def resume(self, ref: TaskRef, prior: Task | None = None) -> bool:
        return True


def _broken(connector: Connector) -> Scheduler:
    return Scheduler("broken", "broken", "Broken", 5.0, timedelta(hours=12), connector)


@pytest.mark.parametrize(
    "exc", [KeyError("items"), RecursionError(), OverflowError("date value out of range")]
)
async def test_an_unforeseen_exception_is_that_systems_error_with_a_reference(
    world: World, exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    window = parse_window("Saturday 2-4am", tz="America/Los_Angeles", now=NOW)
    broken = _broken(_BrokenConnector(world.clock, raise_=exc, far=False))
    try:
        with caplog.at_level(logging.ERROR, logger="bot.check"):
            snap = await snapshot(broken, window, NOW)
    finally:
        await broken.aclose()
    assert not snap.result.ok
    error = snap.result.error or ""
    assert type(exc).__name__ in error
    assert "log reference" in error
    assert "Traceback" not in error
    ref = error.split("log reference ")[1].split(")")[0]
    logged = [r for r in caplog.records if ref in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None


async def test_values_that_break_the_conflict_arithmetic_fail_their_system_only(
    world: World,
) -> None:
    window = parse_window("Saturday 2-4am", tz="America/Los_Angeles", now=NOW)
    schedulers = open_schedulers(matrix_config(world.sims, None), world.clock)
    broken = _broken(_BrokenConnector(world.clock, raise_=None, far=True))
    try:
        report = await check_window(window, [*schedulers, broken], world.clock)
    finally:
        await asyncio.gather(*(s.aclose() for s in [*schedulers, broken]))
    results = {s.system: s for s in report.systems}
    assert not results["broken"].ok
    assert "OverflowError" in (results["broken"].error or "")
    assert all(results[v].ok for v in VENDORS)
    keys = conflict_keys(report)
    assert {v: keys[v] for v in VENDORS} == world.baseline


# -- the window clock's vendor calls ---------------------------------------------------------
@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("kind", ["deep", "trickle"])
async def test_a_broken_answer_to_a_pause_is_a_failed_attempt(
    world: World, tmp_path: Path, vendor: str, kind: str
) -> None:
    clock = ManualClock(NOW)
    sim = world.sim(vendor)
    schedulers = open_schedulers(matrix_config([sim], vendor), clock)
    connector = schedulers[0].connector
    assert connector is not None
    for http in getattr(connector, "shards", None) or [connector.http]:
        http.retry = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.005)
    store = Store(tmp_path / "maintbot.db", clock=clock)
    try:
        task = next(
            t
            for t in sorted(await connector.list_tasks(), key=lambda t: t.name)
            if not t.paused and t.vendor_state not in ("RUNNING", "ABORTED", "")
        )
        start = clock() + timedelta(minutes=5)
        record = plan_window(
            store,
            Window(start=start, end=start + timedelta(hours=1), tz="UTC", text="fault"),
            [(task.ref, task.name)],
            requested_by="alice",
            now=clock(),
        )
        approve_now(
            store,
            record.id,
            requested_by="alice",
            approved_by="bob",
            policy=Policy(approvers=frozenset({"bob"})),
            now=clock(),
        )
        wclock = WindowClock(
            store, {vendor: connector}, clock, LogNotifier(), deadlines={vendor: 1.0}
        )
        sim.faults.inject(kind, path_contains=DATA_PATHS[vendor], times=10**6)
        clock.advance(timedelta(minutes=5))
        report = await wclock.tick()  # returns: the broken answer did not end the tick
        sim.faults.clear()
        (row,) = store.window_tasks(record.id)
        # Given up (a refusal that will not change) or scheduled again (a timeout).
        assert row.state is PlannedTaskState.PAUSE_FAILED or row.next_attempt_at is not None
        assert row.last_error
        assert "unexpected" not in row.last_error
        if kind == "trickle":
            assert any(w in row.last_error for w in DEADLINE_WORDS), row.last_error
        assert not any(k == task.ref.key for _, k in report.paused)
        assert _vendor_paused(sim, task.ref) is task.paused  # nothing half-done
    finally:
        sim.faults.clear()
        store.close()
        await asyncio.gather(*(s.aclose() for s in schedulers))


def _vendor_paused(sim: Simulator, ref: TaskRef) -> bool:
    for item in sim.state()["tasks"]:
        if str(item["id"]) == ref.id:
            return bool(item["paused"])
    raise KeyError(ref.key)


# -- base_url with a password in it ----------------------------------------------------------
_TOML = """
[schedulers.bmc-prod]
vendor = "bmc"
base_url = "{url}"
access_key_env = "BMC_KEY"
access_secret_key_env = "BMC_SECRET"
"""


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://ops:Hunter2-secret@helix.example.com", "user name or password"),
        ("https://helix.example.com/" + "a" * 5000, "characters long"),
        ("helix.example.com", "http:// or https://"),
    ],
)
def test_a_base_url_that_is_not_a_plain_address_is_refused_without_repeating_it(
    tmp_path: Path, url: str, words: str
) -> None:
    path = tmp_path / "maintbot.toml"
    path.write_text(_TOML.format(url=url), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "base_url" in message
    assert "bmc-prod" in message
    assert words in message or "credential" in message
    assert "Hunter2-secret" not in message
    assert "a" * 100 not in message


def test_max_response_mb_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "maintbot.toml"
    good = _TOML.format(url="https://helix.example.com") + "max_response_mb = 5\n"
    path.write_text(good, encoding="utf-8")
    assert load_config(path).schedulers["bmc-prod"].max_response_mb == 5
    path.write_text(good.replace("= 5", "= 0"), encoding="utf-8")
    with pytest.raises(ConfigError, match="max_response_mb"):
        load_config(path)


async def test_a_password_in_a_url_never_reaches_an_error() -> None:
    clock = ManualClock(NOW)
    http = VendorHttp(
        "bmc-prod",
        "http://ops:Hunter2-secret@127.0.0.1:9",
        clock=clock,
        retry=RetryPolicy(attempts=1),
    )
    try:
        with pytest.raises(ConnectorError) as err:
            await http.send("GET", "/x", what="x")
    finally:
        await http.aclose()
    assert "Hunter2-secret" not in str(err.value)
    assert "cannot reach" in str(err.value)


# -- helpers ---------------------------------------------------------------------------------
def _post(sim: Simulator, spec: dict[str, object]) -> bool:
    """POST /_sandbox/faults; a refusal raises AssertionError with the simulator's words."""
    request = urllib.request.Request(
        f"{sim.base_url}/_sandbox/faults",
        data=json.dumps(spec).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return bool(json.loads(answer.read())["ok"])
    except urllib.error.HTTPError as exc:
        raise AssertionError(json.loads(exc.read())["error"]) from None


async def _until(condition: Callable[[], bool], tries: int = 200) -> None:
    """Wait (a bounded number of short polls) for the simulator's thread to see something."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the simulator never saw the client hang up")
