"""Pyramid's own word on a schedule's zone: the ``timeZoneId`` its executions' task items
carry (contracts §2.4, ``TaskViewData``) is the wall clock its run times are predicted in,
not the scheduler's configured ``timezone``. A 02:30 Berlin job across both of Berlin's
clock changes, against the simulator over loopback; zones Pyramid names that maintbot does
not know, or that are not text, fall back to the configured one and say so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from bot.check import check_window, open_schedulers
from bot.clock import ManualClock
from bot.model import Conflict, ConflictKind, Window
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.pyramid import PyramidSimulator

BERLIN = "Europe/Berlin"


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[PyramidSimulator]:
    simulator = PyramidSimulator(clock=clock, schedules=0)
    with SandboxServer([simulator]):
        yield simulator


async def _conflicts(sim: PyramidSimulator, clock: ManualClock, window: Window) -> list[Conflict]:
    # The sandbox configures Pyramid with the default timezone, UTC.
    schedulers = open_schedulers(sandbox_config([sim]), clock)
    assert schedulers[0].timezone == "UTC"
    try:
        report = await check_window(window, schedulers, clock)
    finally:
        for s in schedulers:
            await s.aclose()
    (system,) = report.systems
    assert system.ok, system.error
    return list(report.conflicts)


# Sat 30 Oct 2027, the day before Berlin falls back (03:00 CEST → 02:00 CET on Sunday): the
# history is all summer time, 02:30 CEST = 00:30 UTC. The window is Monday 02:00-04:00 Berlin
# (01:00-03:00 UTC), where 02:30 CET is 01:30 UTC.
AUTUMN_NOW = datetime(2027, 10, 30, 12, 0, tzinfo=UTC)
MONDAY = Window(
    start=datetime(2027, 11, 1, 1, 0, tzinfo=UTC),
    end=datetime(2027, 11, 1, 3, 0, tzinfo=UTC),
    tz=BERLIN,
    text="mon 2-4am",
)


async def test_a_0230_berlin_job_is_predicted_at_0230_after_the_autumn_change(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    clock.set(AUTUMN_NOW)
    sim.add_daily("Nightly load", time(2, 30), BERLIN)
    (conflict,) = await _conflicts(sim, clock, MONDAY)
    assert conflict.predicted
    assert conflict.kind is ConflictKind.STARTS_IN_WINDOW
    assert conflict.at == datetime(2027, 11, 1, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert conflict.detail.startswith("likely 02:30 (daily, from ")
    assert "(the schedule's zone: Europe/Berlin)" in conflict.detail


async def test_without_the_vendors_zone_the_configured_one_misses_that_run(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    # An answer without task items (an older server): the configured UTC is all there is,
    # and 00:30 UTC every day puts Monday's run an hour before the window.
    clock.set(AUTUMN_NOW)
    sim.add_daily("Nightly load", time(2, 30), BERLIN, zone_id=None)
    assert await _conflicts(sim, clock, MONDAY) == []


async def test_a_history_across_the_spring_change_is_one_daily_pattern(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    # Berlin springs forward on Sun 28 Mar 2027 (02:00 CET → 03:00 CEST); 02:30 does not
    # exist that day and Pyramid fires at 03:30 CEST. Twenty days of history straddle it.
    clock.set(datetime(2027, 4, 5, 12, 0, tzinfo=UTC))
    sim.add_daily("Nightly load", time(2, 30), BERLIN)
    tuesday = Window(
        start=datetime(2027, 4, 6, 0, 0, tzinfo=UTC),  # 02:00-04:00 CEST
        end=datetime(2027, 4, 6, 2, 0, tzinfo=UTC),
        tz=BERLIN,
    )
    (conflict,) = await _conflicts(sim, clock, tuesday)
    assert conflict.at == datetime(2027, 4, 6, 0, 30, tzinfo=UTC)  # 02:30 CEST
    # Every run of the history fits one wall-clock pattern, the skipped-hour day included.
    runs = int(conflict.detail.split("from ")[1].split(" runs")[0])
    assert runs >= 19
    # The spring-forward day itself: predicted at 03:30 CEST, as the simulator fires it.
    clock.set(datetime(2028, 3, 20, 12, 0, tzinfo=UTC))
    sim.add_daily("Spring job", time(2, 30), BERLIN)
    change_day = Window(
        start=datetime(2028, 3, 26, 0, 0, tzinfo=UTC),  # Sun 26 Mar 2028, 01:00 CET on
        end=datetime(2028, 3, 26, 3, 0, tzinfo=UTC),
        tz=BERLIN,
    )
    found = [c for c in await _conflicts(sim, clock, change_day) if c.task_name == "Spring job"]
    assert [c.at for c in found] == [datetime(2028, 3, 26, 1, 30, tzinfo=UTC)]


@pytest.mark.parametrize(
    "zone_id",
    [
        "W. Europe Standard Time",  # a Windows zone name, as a .NET server might send
        "Mars/Olympus",  # shaped like an IANA name, but none
        60,  # not text at all: no zone, and the answer is still read
        "   ",
    ],
)
async def test_a_zone_maintbot_does_not_know_falls_back_to_the_configured_one(
    sim: PyramidSimulator, clock: ManualClock, zone_id: Any, caplog: pytest.LogCaptureFixture
) -> None:
    clock.set(AUTUMN_NOW)
    sim.add_daily("Nightly load", time(2, 30), BERLIN, zone_id=zone_id)
    # Predicted in the configured UTC: 00:30 UTC, found in a window around it.
    window = Window(
        start=datetime(2027, 11, 1, 0, 0, tzinfo=UTC),
        end=datetime(2027, 11, 1, 1, 0, tzinfo=UTC),
        tz="UTC",
    )
    (conflict,) = await _conflicts(sim, clock, window)
    assert conflict.predicted
    assert conflict.at == datetime(2027, 11, 1, 0, 30, tzinfo=UTC)
    assert "the schedule's zone" not in conflict.detail
    named = isinstance(zone_id, str) and zone_id.strip()
    assert ("not an IANA zone" in caplog.text) == bool(named)


async def test_an_unknown_zone_is_said_where_the_run_stays_unknown(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    clock.set(AUTUMN_NOW)
    sim.add_daily("New load", time(2, 30), BERLIN, since=timedelta(days=2), zone_id="Mars/Olympus")
    (conflict,) = await _conflicts(sim, clock, MONDAY)
    assert conflict.kind is ConflictKind.MAY_FIRE
    assert not conflict.predicted
    assert "Pyramid names its zone 'Mars/Olympus', not a zone maintbot knows" in conflict.detail
    assert "time unknown: only" in conflict.detail
