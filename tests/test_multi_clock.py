"""Several window clocks on one database: each task is paused once and resumed once per
window, nothing is left paused, every alert is sent once and every window ends once.

In-process clocks each have their own Store object on the same SQLite file, their own
connectors and their own owner id, and tick concurrently on one event loop; a "kill"
cancels a clock's tick wherever it is and drops the clock, as a killed process would (its
claims stay until their leases run out). Then the same with real ``maintbot worker``
processes, one of them SIGKILLed while it holds a claim.

A killed owner's request may still be on its way to the vendor; the lease (twice the
per-call deadline) is what covers that in production. Here the ManualClock jumps past
leases in a moment of real time, so after a kill the run waits until the simulators have
nothing in flight before time moves on: that is the model of "the lease outlived the call".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from test_lifecycle import POLICY, Recorder, fast_retries, is_write
from test_lifecycle_faults import stalling_simulators
from test_soak import _steady, _unthrottled

from bot.check import Scheduler, open_schedulers
from bot.cli import write_sandbox_config
from bot.clock import ManualClock
from bot.config import Config
from bot.connectors.base import Connector
from bot.lifecycle import Notifier, WindowClock, approve_now, plan_window
from bot.model import PlannedTaskState, Task, Window, WindowRecord, WindowState
from bot.sandbox import SandboxServer, Simulator, make_simulators, sandbox_config
from bot.store import Store

S = PlannedTaskState
REPO = Path(__file__).resolve().parent.parent


# -- one "process": a store object, connectors and a clock -----------------------------------
@dataclass
class Member:
    store: Store
    schedulers: list[Scheduler]
    wclock: WindowClock

    async def close(self) -> None:
        await self.wclock.aclose()
        await asyncio.gather(*(s.aclose() for s in self.schedulers))
        self.store.close()


def member(path: Path, config: Config, clock: ManualClock, notes: Notifier) -> Member:
    store = Store(path, clock=clock)
    schedulers = open_schedulers(config, clock)
    connectors: dict[str, Connector] = {
        s.name: s.connector for s in schedulers if s.connector is not None
    }
    fast_retries(connectors)
    return Member(store, schedulers, WindowClock(store, connectors, clock, notes))


async def quiescent(sims: Sequence[Simulator]) -> None:
    """Until no simulator is serving a request (twice in a row, a few turns apart)."""
    calm = 0
    for _ in range(2000):
        calm = calm + 1 if all(s.in_flight == 0 for s in sims) else 0
        if calm >= 3:
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the simulators never went quiet")


def writes(sims: dict[str, Simulator], task: Task) -> int:
    return sum(is_write(task.ref, r) for r in sims[task.ref.system].requests)


def sim_paused(sims: dict[str, Simulator], task: Task) -> bool:
    for item in sims[task.ref.system].state()["tasks"]:
        if str(item["id"]) == task.ref.id:
            return bool(item["paused"])
    raise KeyError(task.ref.key)


# -- the scenario (also run, larger, by bench/bench_clock_faults.py) ---------------------------
@dataclass
class Outcome:
    clocks: int
    windows: int
    tasks: int
    kills: int = 0
    kills_mid_tick: int = 0
    kills_mid_claim: int = 0  # killed while holding a task claim (its lease then ran out)
    takeovers: int = 0
    ticks: int = 0
    double_calls: int = 0  # vendor writes beyond one pause and one resume per task per window
    left_paused: int = 0
    unsettled_rows: int = 0
    repeated_alerts: int = 0
    missing_alerts: int = 0  # start or end alerts never sent
    repeated_finishes: int = 0
    final_states: Counter[str] = field(default_factory=Counter)
    row_states: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


async def run_clocks(
    tmp: Path, *, clocks: int, slots: int, seed: int, kill_rate: float = 0.5
) -> Outcome:
    """``clocks`` clocks over ``slots`` × 2 windows (two at a time, on disjoint tasks, one
    after another), killing a clock mid-tick now and then."""
    began = time.monotonic()
    rng = random.Random(seed)
    clock = ManualClock(datetime(2026, 11, 18, 18, 0, tzinfo=UTC))
    sims_list = make_simulators(clock=clock)
    sims = {s.vendor: s for s in sims_list}
    notes = Recorder()
    path = tmp / "clocks.db"
    with SandboxServer(sims_list):
        config = _unthrottled(sandbox_config(sims_list))
        planner = member(path, config, clock, notes)
        live: list[Member] = []
        try:
            pool: list[Task] = []
            for scheduler in planner.schedulers:
                assert scheduler.connector is not None
                listed = await scheduler.connector.list_tasks()
                usable = sorted(
                    (t for t in listed if not t.paused and _steady(t, sims[t.ref.system])),
                    key=lambda t: t.id,
                )
                pool += usable[:3]
            records: list[WindowRecord] = []
            t0 = clock()
            for slot in range(slots):
                start = t0 + timedelta(minutes=40 + 100 * slot)
                chosen = rng.sample(pool, k=min(len(pool), 6))
                for part in (chosen[:3], chosen[3:]):
                    window = Window(start=start, end=start + timedelta(hours=1), tz="UTC")
                    record = plan_window(
                        planner.store,
                        window,
                        [(t.ref, t.name) for t in part],
                        requested_by="alice",
                        now=t0,
                    )
                    approve_now(
                        planner.store,
                        record.id,
                        requested_by="alice",
                        approved_by="bob",
                        policy=POLICY,
                        now=t0,
                    )
                    records.append(record)
            outcome = Outcome(clocks=clocks, windows=len(records), tasks=len(pool))
            live = [member(path, config, clock, notes) for _ in range(clocks)]
            finish = max(r.end for r in records) + timedelta(minutes=30)
            while clock() < finish or planner.store.open_windows():
                clock.advance(timedelta(minutes=rng.choice([1, 3, 5, 10])))
                # Until one kill has caught a clock holding a claim, try at every step.
                kill = not outcome.kills_mid_claim or rng.random() < kill_rate
                victim = rng.randrange(clocks) if kill else None
                ticks = [asyncio.ensure_future(m.wclock.tick()) for m in live]
                if victim is not None:
                    # Kill it while it holds a claim or sends an alert, if it gets to.
                    target = live[victim].wclock
                    for _ in range(200):
                        if ticks[victim].done() or target.busy:
                            break
                        await asyncio.sleep(0)
                    if target.busy:
                        for _ in range(rng.randint(0, 30)):
                            await asyncio.sleep(0)
                        held = any(
                            r.claimed_by == target.owner
                            for rec in records
                            for r in planner.store.window_tasks(rec.id)
                        )
                        outcome.kills_mid_tick += not ticks[victim].done()
                        outcome.kills_mid_claim += held and not ticks[victim].done()
                        ticks[victim].cancel()
                    else:
                        victim = None  # an idle tick: killing it would prove nothing
                results = await asyncio.gather(*ticks, return_exceptions=True)
                for i, result in enumerate(results):
                    if isinstance(result, BaseException) and i != victim:
                        raise result
                outcome.ticks += len(ticks)
                if victim is not None:
                    outcome.kills += 1
                    await live[victim].close()
                    live[victim] = member(path, config, clock, notes)
                    await quiescent(sims_list)
                if clock() > finish + timedelta(days=1):
                    break  # never expected: the assertions below say what is left
            rows = [r for rec in records for r in planner.store.window_tasks(rec.id)]
            audit = planner.store.audit_rows(1_000_000)
            finals = Counter(planner.store.get_window(rec.id).state.value for rec in records)
        finally:
            for m in live:
                await m.close()
            await planner.close()
        per_task = Counter(r.ref.key for r in rows if r.paused_at is not None)
        for task in pool:
            outcome.double_calls += max(0, writes(sims, task) - 2 * per_task[task.ref.key])
            outcome.left_paused += sim_paused(sims, task)
    outcome.unsettled_rows = sum(r.state is not S.RESUMED for r in rows)
    outcome.row_states = Counter(r.state.value for r in rows)
    outcome.final_states = finals
    sent = Counter((n.window_id, n.kind) for n in notes.sent)
    # Two reminders (an hour and ten minutes ahead) per window; every other kind once.
    outcome.repeated_alerts = sum(
        n - (2 if kind == "reminder" else 1)
        for (_, kind), n in sent.items()
        if n > (2 if kind == "reminder" else 1)
    )
    finishes = Counter(a.window_id for a in audit if a.action == "finish")
    outcome.repeated_finishes = sum(n - 1 for n in finishes.values() if n > 1)
    outcome.takeovers = sum(
        1
        for a in audit
        if a.action in ("pause", "resume")
        and a.outcome == "attempt"
        and a.detail is not None
        and a.detail.get("recovering")
    )
    outcome.missing_alerts = sum(
        (rec.id, kind) not in sent for rec in records for kind in ("start", "end")
    )
    outcome.seconds = time.monotonic() - began
    return outcome


async def test_three_clocks_with_kills_call_each_vendor_once_per_window(tmp_path: Path) -> None:
    outcome = await run_clocks(tmp_path, clocks=3, slots=2, seed=20261202)
    assert outcome.kills_mid_claim > 0
    assert outcome.takeovers > 0  # killed claims were taken over (after their leases)
    assert outcome.double_calls == 0
    assert outcome.left_paused == 0
    assert outcome.unsettled_rows == 0
    assert outcome.final_states == Counter({WindowState.COMPLETED.value: outcome.windows})
    assert outcome.repeated_alerts == 0
    assert outcome.missing_alerts == 0
    assert outcome.repeated_finishes == 0


# -- claims and leases, one step at a time ------------------------------------------------------
@pytest.fixture
async def pair(
    tmp_path: Path, clock: ManualClock
) -> AsyncIterator[tuple[dict[str, Simulator], Member, Member, Recorder]]:
    sims_list = stalling_simulators(clock)
    notes = Recorder()
    with SandboxServer(sims_list):
        config = sandbox_config(sims_list)
        first = member(tmp_path / "m.db", config, clock, notes)
        second = member(tmp_path / "m.db", config, clock, notes)
        try:
            yield {s.vendor: s for s in sims_list}, first, second, notes
        finally:
            await first.close()
            await second.close()


async def _active_task(m: Member, system: str, sims: dict[str, Simulator]) -> Task:
    connector = m.wclock.connectors[system]
    listed = await connector.list_tasks()
    return sorted(
        (t for t in listed if not t.paused and _steady(t, sims[system])), key=lambda t: t.id
    )[0]


def _plan(store: Store, tasks: Sequence[Task], now: datetime) -> WindowRecord:
    start = now + timedelta(minutes=30)
    record = plan_window(
        store,
        Window(start=start, end=start + timedelta(hours=1), tz="UTC"),
        [(t.ref, t.name) for t in tasks],
        requested_by="alice",
        now=now,
    )
    return approve_now(
        store, record.id, requested_by="alice", approved_by="bob", policy=POLICY, now=now
    )


async def test_a_live_claim_is_left_alone_until_its_lease_runs_out(
    pair: tuple[dict[str, Simulator], Member, Member, Recorder], clock: ManualClock
) -> None:
    sims, first, second, _ = pair
    task = await _active_task(first, "talend", sims)
    record = _plan(first.store, [task], clock())
    first.wclock.deadlines = {"talend": 1.0}  # lease: 2 s of the injected clock
    talend: Any = sims["talend"]
    talend.stall = "after"  # the pause takes effect; its answer never completes
    clock.advance(timedelta(minutes=30))
    running = asyncio.ensure_future(first.wclock.tick())
    for _ in range(2000):
        (row,) = first.store.window_tasks(record.id)
        if talend.stalled:
            break
        await asyncio.sleep(0.002)
    assert row.state is S.PAUSING
    assert row.claimed_by == first.wclock.owner
    assert row.lease_until == clock() + timedelta(seconds=2)
    # The other clock sees a live claim: it neither calls the vendor nor writes the row.
    before = len(talend.requests)
    report = await second.wclock.tick()
    assert report.paused == []
    assert len(talend.requests) == before
    assert second.store.window_tasks(record.id) == [row]
    # The owner stalls past its lease: now the other clock takes over, reads back, and
    # finds the pause done, so it calls nothing more.
    clock.advance(timedelta(seconds=3))
    talend.stall = None
    report = await second.wclock.tick()
    assert report.paused == [(record.id, task.ref.key)]
    (taken,) = second.store.window_tasks(record.id)
    assert taken.state is S.PAUSED
    assert taken.claimed_by is None
    # The first clock's call is cut off by its deadline; its claim is gone, so it writes
    # no outcome, only an audit row saying so.
    await running
    (after,) = first.store.window_tasks(record.id)
    assert after == taken
    lost = [
        a for a in first.store.audit_rows(100, window_id=record.id) if a.outcome == "lost_claim"
    ]
    assert len(lost) == 1
    assert lost[0].detail is not None
    assert lost[0].detail["held_by"] is None
    assert sum(is_write(task.ref, r) for r in talend.requests) == 1


async def test_claims_are_owned_and_leased_in_the_store(
    pair: tuple[dict[str, Simulator], Member, Member, Recorder], clock: ManualClock
) -> None:
    sims, first, second, _ = pair
    task = await _active_task(first, "bmc", sims)
    record = _plan(first.store, [task], clock())
    (row,) = first.store.window_tasks(record.id)
    now = clock()
    lease = now + timedelta(minutes=2)
    assert first.store.claim_task(row, S.PAUSING, owner="a", now=now, lease_until=lease)
    seen = second.store.get_planned_task(row.id)
    assert (seen.claimed_by, seen.lease_until) == ("a", lease)
    # A stale view, a live lease, or another owner's renewal: all refused.
    assert not second.store.claim_task(row, S.PAUSING, owner="b", now=now, lease_until=lease)
    assert not second.store.claim_task(seen, S.PAUSING, owner="b", now=now, lease_until=lease)
    assert second.store.renew_leases("b", [row.id], lease) == set()
    assert not second.store.transition_task(row.id, S.PAUSING, S.PAUSED, owner="b")
    assert first.store.renew_leases("a", [row.id, 999], now + timedelta(minutes=3)) == {row.id}
    # Once the lease has run out, exactly one of two clocks takes it.
    later = now + timedelta(minutes=4)
    seen = second.store.get_planned_task(row.id)
    takes = [
        s.claim_task(seen, S.PAUSING, owner=o, now=later, lease_until=later + timedelta(minutes=2))
        for s, o in ((second.store, "b"), (first.store, "c"))
    ]
    assert takes == [True, False]
    assert second.store.get_planned_task(row.id).claimed_by == "b"
    # A row with no owner (as a schema-3 database left it) is an expired claim.
    assert first.store.transition_task(
        row.id, S.PAUSING, S.PAUSING, claimed_by=None, lease_until=None
    )
    free = first.store.get_planned_task(row.id)
    assert first.store.claim_task(free, S.PAUSING, owner="d", now=now, lease_until=lease)


async def test_one_task_is_never_paused_and_resumed_at_once_by_two_windows(
    pair: tuple[dict[str, Simulator], Member, Member, Recorder], clock: ManualClock
) -> None:
    sims, first, _, _ = pair
    task = await _active_task(first, "huawei", sims)
    one = _plan(first.store, [task], clock())
    two = _plan(first.store, [task], clock())
    (a,) = first.store.window_tasks(one.id)
    (b,) = first.store.window_tasks(two.id)
    now = clock()
    lease = now + timedelta(minutes=2)
    assert first.store.claim_task(a, S.PAUSING, owner="x", now=now, lease_until=lease)
    assert not first.store.claim_task(b, S.PAUSING, owner="y", now=now, lease_until=lease)
    assert first.store.get_planned_task(b.id).state is S.PLANNED


# -- real worker processes --------------------------------------------------------------------
def _worker(config: Path, db: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(db.parent),
        "PYTHONPATH": str(REPO),
        "MAINTBOT_DB": str(db),
        "MAINTBOT_CONFIG": str(config),
        # The clock's lead as short as the 3 s claim leases below, so the takeover after
        # the kill stays in reach of the test's windows.
        "MAINTBOT_CLOCK_LEASE_SECONDS": "3",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--config", str(config), "--interval", "0.2"],
        cwd=db.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def test_worker_processes_with_one_killed_mid_claim(tmp_path: Path) -> None:
    sims_list = make_simulators()  # the real clock: the workers run on it
    sims = {s.vendor: s for s in sims_list}
    for sim in sims_list:
        sim.faults.latency_ms = 60  # so that a claim is held long enough to be killed in
    with SandboxServer(sims_list):
        base = sandbox_config(sims_list)
        # A short per-call deadline (and so a 3 s lease) keeps the takeover in reach.
        config = base.model_copy(
            update={
                "schedulers": {
                    name: cfg.model_copy(update={"deadline_seconds": 1.5})
                    for name, cfg in base.schedulers.items()
                }
            }
        )
        config_path = tmp_path / "maintbot.toml"
        write_sandbox_config(config_path, config)
        db = tmp_path / "maintbot.db"
        store = Store(db)
        workers: list[subprocess.Popen[bytes]] = []
        logs = [(tmp_path / f"w{i}.log").open("wb") for i in range(3)]
        try:
            schedulers = open_schedulers(config, store.clock)
            try:
                tasks = [
                    await _active_task_of(s.connector, sims) for s in schedulers if s.connector
                ]
            finally:
                await asyncio.gather(*(s.aclose() for s in schedulers))
            workers = [_worker(config_path, db, log) for log in logs]
            now = datetime.now(UTC)
            start = now + timedelta(seconds=4)  # after the workers' start-up
            records = [
                store.create_window(
                    Window(
                        start=start + timedelta(seconds=i),
                        end=start + timedelta(seconds=9),
                        tz="UTC",
                    ),
                    requested_by="alice",
                    tasks=[(t.ref, t.name) for t in tasks[i::2]],
                    state=WindowState.APPROVED,
                    approved_by="bob",
                )
                for i in range(2)
            ]
            killed = await _kill_a_claim_holder(store, records, workers)
            for _ in range(250):  # 25 s at most
                if not store.open_windows():
                    break
                await asyncio.sleep(0.1)
            states = [store.get_window(r.id).state for r in records]
        finally:
            for w in workers:
                if w.poll() is None:
                    w.send_signal(signal.SIGTERM)
            for w in workers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    w.wait(10)
                if w.poll() is None:
                    w.kill()
                    w.wait()
            for log in logs:
                log.close()
        rows = [r for rec in records for r in store.window_tasks(rec.id)]
        audit = store.audit_rows(10_000)
        store.close()
    output = "".join((tmp_path / f"w{i}.log").read_text() for i in range(3))
    assert states == [WindowState.COMPLETED] * 2, output
    assert all(r.state is S.RESUMED for r in rows), [(r.task_id, r.state) for r in rows]
    for task in tasks:
        assert writes(sims, task) == 2, task.ref.key  # one pause and one resume
        assert not sim_paused(sims, task)
    assert all(r.claimed_by is None for r in rows)
    recovering = [a for a in audit if a.detail and a.detail.get("recovering")]
    assert recovering, f"worker {killed}'s claim was never taken over"
    assert [a for a in audit if a.outcome == "lost_claim"] == []
    assert "Traceback" not in output


async def _active_task_of(connector: Connector, sims: dict[str, Simulator]) -> Task:
    listed = await connector.list_tasks()
    usable = [t for t in listed if not t.paused and _steady(t, sims[t.ref.system])]
    return sorted(usable, key=lambda t: t.id)[0]


async def _kill_a_claim_holder(
    store: Store, records: Sequence[WindowRecord], workers: Sequence[subprocess.Popen[bytes]]
) -> str:
    """SIGKILL the worker holding a claim, the moment one is seen; returns its pid."""
    by_pid = {str(w.pid): w for w in workers}
    for _ in range(3000):
        for record in records:
            for row in store.window_tasks(record.id):
                if row.claimed_by and row.state in (S.PAUSING, S.RESUMING):
                    pid = row.claimed_by.split(":")[-2]
                    by_pid[pid].send_signal(signal.SIGKILL)
                    by_pid[pid].wait(5)
                    return pid
        await asyncio.sleep(0.005)
    raise AssertionError("no worker ever held a claim: " + json.dumps([w.poll() for w in workers]))
