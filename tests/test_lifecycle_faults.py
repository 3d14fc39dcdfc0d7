"""One scheduler answering slowly, or not at all, during a real window: the others' tasks
come back on time, and the stuck one is read back and settled once it recovers.

The stuck vendor is one of the four simulators with a middleware of its own around its
pause/resume calls (the vendor's handler and its recording stay as they are):

* ``after``: the vendor acts, then trickles its answer a byte at a time and never finishes
  (what was measured: the pause took effect, the answer never came);
* ``before``: the vendor holds the request without acting until the client hangs up.

Time is a ManualClock; only the hard per-call deadline is real time, kept short here.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from test_lifecycle import Env, audit_outcomes, fast_retries, is_write

from bot.check import open_schedulers
from bot.clock import ManualClock
from bot.lifecycle import WindowClock
from bot.model import PlannedTaskState, Task, WindowState
from bot.sandbox import SIMULATORS, SandboxServer, Simulator, sandbox_config
from bot.sandbox.base import RecordedRequest
from bot.store import Store

S = PlannedTaskState
VENDORS = tuple(SIMULATORS)
STUCK_DEADLINE = 1.0  # seconds: the stuck vendor's hard per-call deadline at the end
# Its deadline at the start: long enough for a call to reach the simulator (in a thread of
# this process) on a loaded machine, so the pause is applied before the answer is withheld;
# 0.3 s sometimes was not, and the test then saw a pause that was never made.
START_DEADLINE = 1.0
HEALTHY_DEADLINE = 30.0


def _writes_task(vendor: str, method: str, path: str) -> bool:
    """Whether a request is one of the vendor's pause/resume calls."""
    if vendor == "talend":
        return method == "PUT" and path.endswith("/pause")
    if vendor == "pyramid":
        return path.endswith(("suspendSchedule", "resumeSchedule"))
    if vendor == "bmc":
        return method == "POST" and path.endswith(("/stop", "/run", "/schedule"))
    return method in ("PATCH", "PUT")  # huawei


class _Stalls:
    """Mixin for a simulator: while ``stall`` is set, its pause/resume answers stall."""

    vendor: str
    stall: str | None = None  # "after" | "before"
    stalled: int = 0
    # Requests held without the vendor acting (``before``): recorded, but never applied.
    swallowed: list[tuple[str, str, bytes]]

    def make_app(self) -> web.Application:
        app: web.Application = super().make_app()  # type: ignore[misc]
        app.middlewares.append(self._stall_middleware)
        self.swallowed = []
        return app

    @web.middleware
    async def _stall_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        mode = self.stall
        if mode is None or not _writes_task(self.vendor, request.method, request.path):
            response: web.StreamResponse = await handler(request)
            return response
        self.stalled += 1
        if mode == "before":
            self.swallowed.append((request.method, request.path, await request.read()))
            await _until_hung_up(request)
            return web.Response(status=503)
        real = await handler(request)
        body = real.body if isinstance(real, web.Response) else b""
        body = body if isinstance(body, bytes) else b""
        stream = web.StreamResponse(status=real.status)
        stream.content_type = real.content_type
        stream.content_length = len(body) + 1_000_000  # an answer that never completes
        await stream.prepare(request)
        for i in range(len(body)):
            if request.transport is None or request.transport.is_closing():
                break
            await stream.write(body[i : i + 1])
            await asyncio.sleep(0.2)
        await _until_hung_up(request)
        return stream


async def _until_hung_up(request: web.Request) -> None:
    # aiohttp gives a handler no event for "the client hung up"; polling is the way.
    while request.transport is not None and not request.transport.is_closing():  # noqa: ASYNC110
        await asyncio.sleep(0.02)


def stalling_simulators(clock: ManualClock) -> list[Simulator]:
    sims: list[Simulator] = []
    for target in SIMULATORS.values():
        module_name, class_name = target.split(":")
        base = getattr(importlib.import_module(module_name), class_name)
        cls = type(f"Stalling{class_name}", (_Stalls, base), {})
        sims.append(cls(clock=clock))
    return sims


def effective_writes(env: Env, task: Task) -> int:
    """Pause/resume calls for ``task`` that reached the vendor's handler."""
    sim: Any = env.sims[task.ref.system]
    held = [RecordedRequest(method, path, {}, {}, body) for method, path, body in sim.swallowed]
    return len(env.writes(task.ref)) - sum(is_write(task.ref, r) for r in held)


@pytest.fixture
async def env(clock: ManualClock, store: Store) -> AsyncIterator[Env]:
    sims = stalling_simulators(clock)
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


async def _tasks(env: Env, stuck: str) -> dict[str, list[Task]]:
    # More stuck tasks than a lane runs at once (concurrency 2 below): on the old clock
    # they took every slot and the healthy vendors' tasks queued behind them.
    return {system: await env.active(system, 3 if system == stuck else 2) for system in VENDORS}


def _clock(env: Env, stuck: str, deadline: float) -> WindowClock:
    return env.window_clock(
        concurrency=2, vendor_deadline=HEALTHY_DEADLINE, deadlines={stuck: deadline}
    )


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(3000):  # a bound, not a timing assertion
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.parametrize("stuck", VENDORS)
async def test_a_stuck_vendor_holds_up_only_its_own_tasks(env: Env, stuck: str) -> None:
    by_system = await _tasks(env, stuck)
    tasks = [t for ts in by_system.values() for t in ts]
    healthy = [t for t in tasks if t.ref.system != stuck]
    record = env.plan(tasks)
    sim: Any = env.sims[stuck]

    # The start: the stuck vendor pauses its tasks but never finishes answering.
    sim.stall = "after"
    report = await env.at(_clock(env, stuck, START_DEADLINE), timedelta(minutes=30))
    assert sorted(k for _, k in report.paused) == sorted(t.ref.key for t in healthy)
    assert sorted(k for _, k in report.unknown) == sorted(t.ref.key for t in by_system[stuck])
    assert all(env.paused(t.ref) for t in tasks)  # it did act
    start = env.notes.of("start")[-1]
    assert "Pause not confirmed yet (the scheduler was slow; reading back) (3)" in start.text
    for t in by_system[stuck]:
        assert audit_outcomes(env.store, record, t.ref, "pause") == ["attempt", "unknown"]
        row = env.rows(record)[t.ref.key]
        assert row.state is S.PAUSING
        assert row.claimed_by is None  # released for read-back
        assert row.last_error is not None
        assert f"did not answer within {START_DEADLINE:g} s" in row.last_error
    # It recovers; the next attempt reads back, finds the bot's pause and calls nothing.
    sim.stall = None
    report = await env.at(_clock(env, stuck, START_DEADLINE), timedelta(minutes=1))
    assert sorted(k for _, k in report.paused) == sorted(t.ref.key for t in by_system[stuck])
    assert all(env.rows(record)[t.ref.key].state is S.PAUSED for t in tasks)

    # The end, with the stuck vendor stuck again: the others' tasks come back while its
    # calls are still hanging.
    sim.stall = "after"
    wclock = _clock(env, stuck, STUCK_DEADLINE)
    env.clock.advance(timedelta(minutes=59))  # the end
    await wclock.tick(wait=False)
    await _until(
        lambda: all(env.rows(record)[t.ref.key].state is S.RESUMED for t in healthy),
        "healthy tasks resumed",
    )
    assert not any(env.paused(t.ref) for t in healthy)
    stuck_rows = [env.rows(record)[t.ref.key] for t in by_system[stuck]]
    assert {r.state for r in stuck_rows} <= {S.PAUSED, S.RESUMING}
    assert any(r.state is S.RESUMING and r.claimed_by == wclock.owner for r in stuck_rows)
    assert sim.stalled > 3  # its resume calls are out, unanswered
    await wclock.settle()
    for t in by_system[stuck]:
        assert audit_outcomes(env.store, record, t.ref, "resume") == ["attempt", "unknown"]
        assert env.rows(record)[t.ref.key].state is S.RESUMING
    assert env.state(record) is WindowState.ACTIVE
    # The next tick (the lanes wake the loop when they finish) sends the end alert.
    assert (await wclock.tick()).kinds() == ["end"]
    end = env.notes.of("end")[-1]
    assert "Resume not confirmed yet (the scheduler was slow; reading back) (3)" in end.text

    # It recovers: read back, found running (the abandoned call had acted), settled.
    sim.stall = None
    report = await env.at(wclock, timedelta(minutes=1))
    assert sorted(k for _, k in report.resumed) == sorted(t.ref.key for t in by_system[stuck])
    assert report.finished == [(record.id, WindowState.COMPLETED)]
    assert not any(env.paused(t.ref) for t in tasks)
    for t in tasks:
        assert effective_writes(env, t) == 2, t.ref.key  # one pause, one resume
    for t in by_system[stuck]:
        assert audit_outcomes(env.store, record, t.ref, "resume") == [
            "attempt",
            "unknown",
            "attempt",
            "no_change",
        ]
    assert env.notes.kinds(record.id).count("end") == 1
    assert env.notes.kinds(record.id)[-1] == "resolved"


@pytest.mark.parametrize("stuck", ["talend", "huawei"])
async def test_a_call_the_vendor_never_acted_on_is_made_again_once_it_recovers(
    env: Env, stuck: str
) -> None:
    (task,) = await env.active(stuck)
    record = env.plan([task])
    wclock = _clock(env, stuck, START_DEADLINE)
    await env.at(wclock, timedelta(minutes=30))
    assert env.paused(task.ref)
    sim: Any = env.sims[stuck]
    sim.stall = "before"  # holds the resume without acting
    report = await env.at(wclock, timedelta(hours=1))
    assert report.unknown == [(record.id, task.ref.key)]
    assert env.paused(task.ref)
    # Until its read-back time nobody touches it, however often the clock ticks.
    assert (await wclock.tick()).resumed == []
    assert len(sim.swallowed) == 1
    sim.stall = None
    report = await env.at(wclock, timedelta(minutes=1))
    assert report.resumed == [(record.id, task.ref.key)]
    assert not env.paused(task.ref)
    assert effective_writes(env, task) == 2
    assert audit_outcomes(env.store, record, task.ref, "resume") == [
        "attempt",
        "unknown",
        "attempt",
        "ok",
    ]
    assert env.state(record) is WindowState.COMPLETED


async def test_a_read_back_that_fails_keeps_a_pause_to_read_back(env: Env) -> None:
    # Pyramid reports no pause reason: a task found paused after a failed read-back is the
    # bot's only because the row still says a pause of its own may be on it.
    (task,) = await env.active("pyramid")
    record = env.plan([task])
    sim: Any = env.sims["pyramid"]
    sim.stall = "after"
    wclock = _clock(env, "pyramid", 0.3)
    report = await env.at(wclock, timedelta(minutes=30))
    assert report.unknown == [(record.id, task.ref.key)]
    sim.stall = None
    sim.faults.fail(503, times=10_000)  # now nothing answers, not even a read
    for _ in range(20):  # far past the 15-minute grace
        await env.at(wclock, timedelta(minutes=2))
    row = env.rows(record)[task.ref.key]
    assert row.state is S.PAUSING  # never reported "not paused": it may be paused
    assert env.notes.of("pause_failed") == []
    sim.faults.clear()
    report = await env.at(wclock, timedelta(minutes=15))
    assert report.paused == [(record.id, task.ref.key)]
    report = await env.at(wclock, timedelta(minutes=30))
    assert report.resumed == [(record.id, task.ref.key)]
    assert not env.paused(task.ref)
    assert effective_writes(env, task) == 2


def test_deadlines_must_be_positive(store: Store, clock: ManualClock) -> None:
    from bot.errors import LifecycleError
    from bot.lifecycle import LogNotifier

    with pytest.raises(LifecycleError, match="more than 0 seconds"):
        WindowClock(store, {}, clock, LogNotifier(), deadlines={"talend": 0})
    with pytest.raises(LifecycleError, match="more than 0 seconds"):
        WindowClock(store, {}, clock, LogNotifier(), vendor_deadline=-1)
