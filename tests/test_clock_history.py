"""The window clock records BMC's run starts on its ticks (bot/lifecycle/history.py): a
moving ManualClock and the BMC simulator, whose waiting ETLs run daily, give recorded starts
and then a predicted run with no check in between; reads are spaced, and a BMC that fails
or hangs leaves the tick as it was."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot.check import Scheduler, check_window, open_schedulers
from bot.clock import ManualClock
from bot.connectors.base import RetryPolicy
from bot.lifecycle import LogNotifier, WindowClock
from bot.lifecycle.history import HISTORY_EVERY
from bot.model import ConflictKind, Window
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.bmc import BmcSimulator
from bot.store import Store

ETL = "VMware vCenter extractor (prod)"


@dataclass
class World:
    clock: ManualClock
    store: Store
    bmc: BmcSimulator
    schedulers: list[Scheduler]

    def window_clock(self, **options: Any) -> WindowClock:
        connectors = {s.name: s.connector for s in self.schedulers if s.connector is not None}
        return WindowClock(self.store, connectors, self.clock, LogNotifier(), **options)

    def status_reads(self) -> int:
        return sum(1 for r in self.bmc.requests if r.path.endswith("/status"))


@pytest.fixture
async def world(clock: ManualClock, store: Store) -> AsyncIterator[World]:
    bmc = BmcSimulator(clock=clock)
    with SandboxServer([bmc]):
        schedulers = open_schedulers(sandbox_config([bmc]), clock)
        for s in schedulers:
            assert s.connector is not None
            s.connector.http.retry = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.005)
        try:
            yield World(clock, store, bmc, schedulers)
        finally:
            for s in schedulers:
                await s.aclose()


@pytest.mark.engines("sqlite", "postgresql")
async def test_ticks_over_days_record_starts_and_a_run_is_then_predicted(world: World) -> None:
    etl = world.bmc.by_name(ETL)
    key = f"bmc:etl:{etl.etl_id}"
    wclock = world.window_clock()
    report = await wclock.tick()
    assert report.summary() == "nothing due"  # recording is no part of the tick's outcome
    first = wclock.history_reads["bmc"]
    assert first.error is None
    assert first.seen >= 1
    assert first.added == first.seen
    assert len(world.store.run_starts("bmc")[key]) == 1

    # Five days of the bot running, ticking every 6 hours: each day's run is recorded.
    for _ in range(20):
        world.clock.advance(timedelta(hours=6))
        await wclock.tick()
        assert wclock.history_reads["bmc"].error is None
    starts = world.store.run_starts("bmc")[key]
    assert len(starts) == 6
    gaps = {round((b - a) / timedelta(hours=1)) for a, b in itertools.pairwise(starts)}
    assert gaps == {24}

    # No check ran in those days, yet the next one predicts the daily run.
    nxt = starts[-1] + timedelta(days=1)
    window = Window(start=nxt - timedelta(minutes=30), end=nxt + timedelta(minutes=30), tz="UTC")
    checked = await check_window(window, world.schedulers, world.clock, history=world.store)
    (conflict,) = [c for c in checked.conflicts if c.task_id == str(etl.etl_id)]
    assert conflict.predicted
    assert conflict.kind is ConflictKind.STARTS_IN_WINDOW
    assert "(daily, from " in conflict.detail


async def test_reads_are_spaced_per_system_not_made_on_every_tick(world: World) -> None:
    wclock = world.window_clock()
    await wclock.tick()
    after_first = world.status_reads()
    assert after_first > 0
    # Ticks every few seconds within the spacing: no further request to BMC.
    for _ in range(10):
        world.clock.advance(timedelta(seconds=55))
        await wclock.tick()
    assert world.status_reads() == after_first
    world.clock.advance(HISTORY_EVERY)
    await wclock.tick()
    assert world.status_reads() == 2 * after_first
    # A shorter spacing, where an operator wants one, is honoured the same way.
    wclock.history_every = timedelta(minutes=1)
    world.clock.advance(timedelta(minutes=1))
    await wclock.tick()
    assert world.status_reads() == 3 * after_first


@pytest.mark.engines("sqlite", "postgresql")
async def test_a_failing_bmc_leaves_the_tick_alone_and_is_tried_again_later(
    world: World,
) -> None:
    wclock = world.window_clock()
    world.bmc.faults.fail(503, times=50)
    report = await wclock.tick()  # does not raise
    assert report.summary() == "nothing due"
    failed = wclock.history_reads["bmc"]
    assert failed.error is not None
    assert "503" in failed.error
    assert world.store.run_starts("bmc") == {}
    asked = len(world.bmc.requests)
    world.clock.advance(timedelta(minutes=1))
    await wclock.tick()
    assert len(world.bmc.requests) == asked  # not hammered on every tick
    world.bmc.faults.clear()
    world.clock.advance(HISTORY_EVERY)
    await wclock.tick()
    assert wclock.history_reads["bmc"].error is None
    assert world.store.run_starts("bmc") != {}


async def test_a_hanging_bmc_does_not_hold_up_the_tick(world: World) -> None:
    wclock = world.window_clock(deadlines={"bmc": 0.3})
    world.bmc.faults.latency_ms = 5_000
    await wclock.tick(wait=False)  # as the loop ticks: returns with the read in flight
    job = wclock._history_jobs["bmc"]
    assert not job.done()
    await job
    read = wclock.history_reads["bmc"]
    assert read.error is not None
    assert "did not answer within 0.3 s" in read.error
    world.bmc.faults.latency_ms = 0
    await wclock.aclose()


async def test_days_the_bot_was_down_are_gaps_the_prediction_survives(world: World) -> None:
    """BMC keeps only the latest start: the days the bot did not run are never seen, and
    read as missed runs. Two of them after ten days a daily pattern survives (at most a
    fifth of the runs due may be missed); three in a row end its stretch, and the
    prediction says it has no pattern rather than guess."""
    etl = world.bmc.by_name(ETL)
    key = f"bmc:etl:{etl.etl_id}"
    wclock = world.window_clock()
    for _ in range(10):
        await wclock.tick()
        world.clock.advance(timedelta(days=1))
    world.clock.advance(timedelta(days=2))  # down for two days
    await wclock.tick()
    assert len(world.store.run_starts("bmc")[key]) == 11

    async def predicted() -> str:
        nxt = world.store.run_starts("bmc")[key][-1] + timedelta(days=1)
        window = Window(
            start=nxt - timedelta(minutes=30), end=nxt + timedelta(minutes=30), tz="UTC"
        )
        report = await check_window(window, world.schedulers, world.clock, history=world.store)
        (conflict,) = [c for c in report.conflicts if c.task_id == str(etl.etl_id)]
        return conflict.detail

    assert "(daily, from 11 runs)" in await predicted()
    world.clock.advance(timedelta(days=4))  # down again, three days unseen this time
    await wclock.tick()
    detail = await predicted()
    assert "predicted from run history" not in detail
    assert "time unknown: " in detail
