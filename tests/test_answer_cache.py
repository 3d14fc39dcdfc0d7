"""Answers reused between checks (``cache_seconds``): fewer requests, never a stale answer
about what is running, never older than the bound, dropped when the bot or the vendor says
something changed. Over the four simulators, over HTTP, connectors kept open between checks
as ``maintbot serve`` keeps them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.check import Scheduler, check_window, open_schedulers
from bot.clock import ManualClock
from bot.config import Config, load_config
from bot.connectors.cache import AnswerCache
from bot.errors import ConfigError
from bot.model import ConflictKind, ConflictReport, TaskKind, Window
from bot.sandbox.base import SandboxServer, Simulator
from bot.sandbox.bmc import BmcSimulator
from bot.sandbox.huawei import HuaweiSimulator
from bot.sandbox.pyramid import PyramidSimulator
from bot.sandbox.talend import TalendSimulator
from bot.windows import parse_window

BOUND = 120.0


@pytest.fixture
def sims(clock: ManualClock) -> Iterator[dict[str, Simulator]]:
    found: dict[str, Simulator] = {
        "talend": TalendSimulator(clock=clock, scale=3),
        "pyramid": PyramidSimulator(clock=clock),
        "bmc": BmcSimulator(clock=clock),
        "huawei": HuaweiSimulator(clock=clock),
    }
    with SandboxServer(list(found.values())):
        yield found


def config(sims: dict[str, Simulator], cache_seconds: float = BOUND) -> Config:
    env: dict[str, str] = {}
    schedulers = {}
    for name, sim in sims.items():
        schedulers[name] = {**sim.config_entry(), "cache_seconds": cache_seconds}
        env.update(sim.credentials())
    return Config.model_validate(
        {"maintbot": {"deadline_seconds": 30}, "schedulers": schedulers, "extra_env": env}
    )


@pytest.fixture
async def schedulers(
    sims: dict[str, Simulator], clock: ManualClock
) -> AsyncIterator[dict[str, Scheduler]]:
    opened = open_schedulers(config(sims), clock)
    yield {s.name: s for s in opened}
    for scheduler in opened:
        await scheduler.aclose()


def window(clock: ManualClock) -> Window:
    return parse_window("Saturday 2-4am", tz="UTC", now=clock())


async def check(
    schedulers: dict[str, Scheduler], sims: dict[str, Simulator], clock: ManualClock
) -> tuple[ConflictReport, dict[str, int]]:
    """One check across the four; the requests each simulator received for it."""
    before = {name: len(sim.requests) for name, sim in sims.items()}
    report = await check_window(window(clock), list(schedulers.values()), clock)
    assert all(s.ok for s in report.systems), [s.error for s in report.systems if not s.ok]
    return report, {name: len(sim.requests) - before[name] for name, sim in sims.items()}


async def uncached_check(sims: dict[str, Simulator], clock: ManualClock) -> ConflictReport:
    opened = open_schedulers(config(sims, cache_seconds=0), clock)
    try:
        report, _ = await check({s.name: s for s in opened}, sims, clock)
    finally:
        for scheduler in opened:
            await scheduler.aclose()
    return report


def running(report: ConflictReport) -> list[tuple[str, Any]]:
    return [(c.ref.key, c.at) for c in report.conflicts if c.kind is ConflictKind.RUNNING_AT_START]


def conflicts(report: ConflictReport, system: str | None = None) -> list[Any]:
    return [c for c in report.conflicts if system is None or c.system == system]


def paths(sim: Simulator, since: int, contains: str) -> list[str]:
    return [r.path for r in sim.requests[since:] if contains in r.path]


async def test_second_check_within_the_bound_costs_a_fraction_and_says_the_same(
    schedulers: dict[str, Scheduler], sims: dict[str, Simulator], clock: ManualClock
) -> None:
    first, cost1 = await check(schedulers, sims, clock)
    again, _ = await check(schedulers, sims, clock)
    assert again.conflicts == first.conflicts
    assert again.systems == first.systems
    clock.advance(timedelta(seconds=60))
    second, cost2 = await check(schedulers, sims, clock)
    # What is running is what a check with nothing cached says at the same instant (a
    # duration may differ: a run that ended in the last minute moves a p90, within the bound).
    truth = await uncached_check(sims, clock)
    assert running(second) == running(truth)
    assert [c.ref for c in second.conflicts] == [c.ref for c in truth.conflicts]
    assert [c.paused for c in second.conflicts] == [c.paused for c in truth.conflicts]
    # Talend and Huawei skip what changes slowly; Pyramid and BMC are at their floor already
    # (one request per schedule or ETL says what is running), and cost no more.
    assert cost2["talend"] * 4 <= cost1["talend"], (cost1, cost2)
    assert cost2["huawei"] * 10 <= cost1["huawei"] * 7, (cost1, cost2)
    assert cost2["pyramid"] <= cost1["pyramid"]
    assert cost2["bmc"] <= cost1["bmc"]


async def test_past_the_bound_everything_is_read_again(
    schedulers: dict[str, Scheduler], sims: dict[str, Simulator], clock: ManualClock
) -> None:
    talend = sims["talend"]
    _, cost1 = await check(schedulers, sims, clock)
    mark = len(talend.requests)
    clock.advance(timedelta(seconds=BOUND))
    _, cost2 = await check(schedulers, sims, clock)
    details = paths(talend, mark, "/orchestration/executables/")
    assert len(details) > 1  # task details read again, not only the events' first page
    for name in ("talend", "huawei"):
        assert cost2[name] * 10 >= cost1[name] * 9, (name, cost1, cost2)


async def test_running_now_is_read_at_every_check(
    schedulers: dict[str, Scheduler], sims: dict[str, Simulator], clock: ManualClock
) -> None:
    marks = {name: len(sim.requests) for name, sim in sims.items()}
    await check(schedulers, sims, clock)
    live = {
        "talend": "/processing/executables/tasks/executions",
        "pyramid": "getExecutions",
        "bmc": "/status",
        "huawei": "/records",
    }
    firsts = {n: len(paths(sims[n], marks[n], live[n])) for n in live}
    marks = {name: len(sim.requests) for name, sim in sims.items()}
    clock.advance(timedelta(seconds=30))
    await check(schedulers, sims, clock)
    seconds = {n: len(paths(sims[n], marks[n], live[n])) for n in live}
    assert all(firsts[n] > 0 for n in live), firsts
    assert seconds == firsts


async def test_a_run_that_started_between_checks_is_reported_running(
    schedulers: dict[str, Scheduler], sims: dict[str, Simulator], clock: ManualClock
) -> None:
    await check(schedulers, sims, clock)
    # Two hours on, other runs are going: the long-lived connectors must say exactly what a
    # connector opened just now (with nothing cached) says.
    clock.advance(timedelta(hours=2))
    fresh = open_schedulers(config(sims, cache_seconds=0), clock)
    try:
        for scheduler in fresh:
            kept = schedulers[scheduler.name].connector
            assert kept is not None
            assert scheduler.connector is not None
            now = {(r.task.key, r.started_at) for r in await kept.running_now()}
            truth = {(r.task.key, r.started_at) for r in await scheduler.connector.running_now()}
            assert now == truth, scheduler.name
    finally:
        for scheduler in fresh:
            await scheduler.aclose()


async def test_a_pause_made_by_the_bot_shows_at_the_next_check(
    schedulers: dict[str, Scheduler], sims: dict[str, Simulator], clock: ManualClock
) -> None:
    first, _ = await check(schedulers, sims, clock)
    for system in ("talend", "huawei"):
        target = next(c for c in conflicts(first, system) if not c.paused and c.at is not None)
        connector = schedulers[system].connector
        assert connector is not None
        assert await connector.pause(target.ref, "cache test")
        second, _ = await check(schedulers, sims, clock)
        now = [c for c in conflicts(second, system) if c.ref == target.ref]
        assert now, (system, target.task_name)
        assert all(c.paused for c in now), (system, target.task_name)
        assert await connector.resume(target.ref)
        third, _ = await check(schedulers, sims, clock)
        assert not any(c.paused for c in conflicts(third, system) if c.ref == target.ref)


async def test_a_change_the_vendor_signals_is_seen_within_the_bound(
    schedulers: dict[str, Scheduler], sims: dict[str, Simulator], clock: ManualClock
) -> None:
    first, _ = await check(schedulers, sims, clock)
    # Talend: a task deleted in TMC changes events/search's total, read on every check.
    talend = sims["talend"]
    assert isinstance(talend, TalendSimulator)
    gone = next(c for c in conflicts(first, "talend") if c.at is not None and not c.paused)
    talend.delete(gone.task_id)
    # Huawei: a desktop task disabled in the console changes its list row, so the cached
    # show is dropped and read again.
    huawei = sims["huawei"]
    assert isinstance(huawei, HuaweiSimulator)
    desk = next(
        c
        for c in conflicts(first, "huawei")
        if c.task_kind is TaskKind.DESKTOP_TASK and not c.paused and c.at is not None
    )
    huawei.find(desk.task_name).set_enabled(False, clock())
    mark = len(huawei.requests)
    clock.advance(timedelta(seconds=10))
    second, _ = await check(schedulers, sims, clock)
    assert not [c for c in conflicts(second, "talend") if c.task_id == gone.task_id]
    assert all(c.paused for c in conflicts(second, "huawei") if c.ref == desk.ref)
    assert paths(huawei, mark, f"/scheduled-tasks/{desk.task_id}") != []


async def test_cache_seconds_zero_caches_nothing(
    sims: dict[str, Simulator], clock: ManualClock
) -> None:
    opened = open_schedulers(config(sims, cache_seconds=0), clock)
    by_name = {s.name: s for s in opened}
    try:
        await check(by_name, sims, clock)  # signs in
        first, cost1 = await check(by_name, sims, clock)
        second, cost2 = await check(by_name, sims, clock)
        assert cost2 == cost1
        assert first.conflicts == second.conflicts
        assert all(s.connector is not None and len(s.connector.cache) == 0 for s in opened)
    finally:
        for scheduler in opened:
            await scheduler.aclose()


# -- the helper itself -----------------------------------------------------------------------


def test_an_answer_serves_until_the_bound_and_never_after(clock: ManualClock) -> None:
    cache = AnswerCache(clock, 60)
    cache.put(("task", "a"), "answer")
    clock.advance(timedelta(seconds=59))
    assert cache.get(("task", "a")) == "answer"
    clock.advance(timedelta(seconds=1))
    assert cache.get(("task", "a")) is None
    assert len(cache) == 0


def test_a_clock_that_went_back_makes_an_answer_stale(clock: ManualClock) -> None:
    cache = AnswerCache(clock, 60)
    cache.put(("task", "a"), "answer")
    clock.advance(timedelta(seconds=-5))
    assert cache.get(("task", "a")) is None


def test_a_different_fingerprint_drops_the_answer(clock: ManualClock) -> None:
    cache = AnswerCache(clock, 60)
    cache.put(("show", "a"), {"x": 1}, fingerprint="row-1")
    assert cache.get(("show", "a"), "row-1") == {"x": 1}
    assert cache.get(("show", "a"), "row-2") is None
    assert cache.get(("show", "a"), "row-1") is None  # dropped, not kept for the old row
    assert cache.stats.invalidated == 1


def test_final_answers_outlive_the_bound_within_a_size_bound(clock: ManualClock) -> None:
    cache = AnswerCache(clock, 60, max_entries=3)
    for i in range(3):
        cache.keep(("execution", i), "FINISHED")
    clock.advance(timedelta(days=30))
    assert cache.get(("execution", 0)) == "FINISHED"  # and now the most recently used
    cache.keep(("execution", 3), "ERROR")
    assert len(cache) == 3
    assert cache.get(("execution", 1)) is None  # the least recently used went first
    assert cache.get(("execution", 0)) == "FINISHED"


def test_zero_keeps_nothing_not_even_final_answers(clock: ManualClock) -> None:
    cache = AnswerCache(clock, 0)
    cache.put(("task", "a"), "answer")
    cache.keep(("execution", 1), "FINISHED")
    assert len(cache) == 0
    assert cache.get(("task", "a")) is None


def test_a_write_drops_one_kind_at_once(clock: ManualClock) -> None:
    cache = AnswerCache(clock, 60)
    cache.put(("events", "w1"), [1])
    cache.put(("events", "w2"), [2])
    cache.put(("task", "a"), "answer")
    cache.drop_kind("events")
    assert cache.get(("events", "w1")) is None
    assert cache.get(("events", "w2")) is None
    assert cache.get(("task", "a")) == "answer"


def test_a_negative_bound_is_refused(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="cache_seconds"):
        AnswerCache(clock, -1)


GOOD = """
[schedulers.talend]
vendor = "talend"
base_url = "https://api.eu.cloud.talend.com"
token_env = "T_PAT"
"""


@pytest.mark.parametrize("value", ["-1", '"5 minutes"', "true", "nan", "inf", "3601", "[]"])
def test_bad_cache_seconds_is_one_clear_error(tmp_path: Path, value: str) -> None:
    path = tmp_path / "maintbot.toml"
    path.write_text(GOOD + f"cache_seconds = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "cache_seconds in [schedulers.talend]" in message
    assert "from 0 (cache nothing) to 3600" in message


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("90", 90.0), ("2.5", 2.5)])
def test_cache_seconds_reaches_the_connector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: float
) -> None:
    monkeypatch.setenv("T_PAT", "pat-for-the-test")
    path = tmp_path / "maintbot.toml"
    path.write_text(GOOD + f"cache_seconds = {value}\n")
    loaded = load_config(path)
    assert loaded.schedulers["talend"].cache_seconds == expected
    clock = ManualClock(datetime(2026, 11, 18, 18, tzinfo=UTC))
    (scheduler,) = open_schedulers(loaded, clock)
    assert scheduler.connector is not None
    assert scheduler.connector.cache.bound == timedelta(seconds=expected)


def test_the_default_is_five_minutes(tmp_path: Path) -> None:
    path = tmp_path / "maintbot.toml"
    path.write_text(GOOD)
    assert load_config(path).schedulers["talend"].cache_seconds == 300


@pytest.mark.parametrize("cache_seconds", [BOUND, 0.0])
async def test_an_ended_pyramid_execution_is_not_asked_about_again(
    sims: dict[str, Simulator], clock: ManualClock, cache_seconds: float
) -> None:
    # One schedule's running execution carries no counters, so only its status call says
    # whether it is still going. Once Pyramid has said it ended, that cannot change.
    pyramid = sims["pyramid"]
    status = "/API3/tasks/getScheduleExecutionStatus"
    pyramid.faults.fail(200, path_contains=status, body='{"status": "FINISHED"}')
    opened = open_schedulers(config({"pyramid": pyramid}, cache_seconds), clock)
    try:
        (scheduler,) = opened
        assert scheduler.connector is not None
        mark = len(pyramid.requests)
        first = await scheduler.connector.running_now()
        second = await scheduler.connector.running_now()
        asked = len(paths(pyramid, mark, status))
        if cache_seconds:
            assert asked == 1
            assert second == first
        else:
            # Nothing kept: asked again, and the simulator's own answer (running) is seen.
            assert asked == 2
            assert len(second) == len(first) + 1
        # What is running is still read live: every schedule's executions, both times.
        assert len(paths(pyramid, mark, "getExecutions")) % 2 == 0
    finally:
        for s in opened:
            await s.aclose()


def test_answers_nobody_asks_for_again_do_not_stay(clock: ManualClock) -> None:
    cache = AnswerCache(clock, 60)
    for i in range(100):
        cache.put(("events", i), [i])
    cache.keep(("execution", 1), "FINISHED")
    clock.advance(timedelta(seconds=61))
    cache.put(("task", "a"), "answer")  # a later write sweeps what is past the bound
    assert len(cache) == 2
    assert cache.get(("execution", 1)) == "FINISHED"


def test_a_kind_can_be_held_to_a_few_answers(clock: ManualClock) -> None:
    cache = AnswerCache(clock, 60)
    for window in ("mon", "tue", "wed"):
        cache.put(("events", window), [window], most=2)
    cache.put(("task", "a"), "answer", most=2)
    assert cache.get(("events", "mon")) is None  # the least recently used went
    assert cache.get(("events", "tue")) == ["tue"]
    assert cache.get(("events", "wed")) == ["wed"]
    assert cache.get(("task", "a")) == "answer"
