"""Adaptive concurrency (bot/connectors/pacing.py): the AIMD rules on their own, and the
controller a real connector uses over real HTTP against the simulators' injected 429s."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot.clock import ManualClock
from bot.connectors.pacing import DEFAULT_CEILING, INITIAL, Concurrency, concurrency_for
from bot.connectors.pyramid import PyramidConfig, PyramidConnector, from_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.pyramid import DEMO_PASSWORD, DEMO_USERNAME, PyramidSimulator


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[PyramidSimulator]:
    simulator = PyramidSimulator(clock=clock, schedules=120)
    with SandboxServer([simulator]):
        yield simulator


def make(sim: PyramidSimulator, clock: ManualClock, **overrides: object) -> PyramidConnector:
    config = PyramidConfig.model_validate({**sim.config_entry(), **overrides})
    credentials = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    return from_config("pyramid", config, credentials, clock=clock)


async def answer_fast(pace: Concurrency, count: int) -> None:
    for _ in range(count):
        number = await pace.acquire()
        pace.release()
        pace.answered(number, 200, 0.01)


async def test_fast_answers_grow_the_limit_up_to_the_ceiling() -> None:
    pace = Concurrency(ceiling=20)
    assert pace.limit == INITIAL
    await answer_fast(pace, 100)
    assert pace.limit == 20
    assert pace.halvings == 0


async def test_overload_halves_once_per_round_trip_and_never_below_one() -> None:
    pace = Concurrency(ceiling=64, initial=16)
    numbers = [await pace.acquire() for _ in range(16)]
    # Sixteen 429s from requests sent under the same limit are one signal, not sixteen.
    for number in numbers:
        pace.release()
        pace.answered(number, 429, 0.01)
    assert pace.limit == 8
    assert pace.halvings == 1
    for _ in range(10):
        number = await pace.acquire()
        pace.release()
        pace.answered(number, 503, 0.01)
    assert pace.limit == 1
    assert not pace.slow_start


async def test_a_marked_rise_in_latency_halves_but_one_slow_listing_does_not() -> None:
    pace = Concurrency(ceiling=64, initial=16)
    await answer_fast(pace, 20)
    grown = pace.limit
    number = await pace.acquire()
    pace.release()
    pace.answered(number, 200, 1.5)  # one large answer among fast ones
    assert pace.limit > grown
    for _ in range(30):
        number = await pace.acquire()
        pace.release()
        pace.answered(number, 200, 2.0)  # the vendor is queueing now
    assert pace.halvings >= 1
    assert pace.limit < grown


async def test_waiters_beyond_the_limit_wait_until_a_slot_frees() -> None:
    pace = Concurrency(ceiling=2, initial=2)
    first, second = await pace.acquire(), await pace.acquire()
    third = asyncio.ensure_future(pace.acquire())
    await asyncio.sleep(0)
    assert not third.done()
    pace.release()
    assert await asyncio.wait_for(third, 1) > max(first, second)
    assert pace.in_flight == 2


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    pace = Concurrency(ceiling=1, initial=1)
    await pace.acquire()
    cancelled = asyncio.ensure_future(pace.acquire())
    waiting = asyncio.ensure_future(pace.acquire())
    await asyncio.sleep(0)
    pace.release()
    cancelled.cancel()
    await asyncio.sleep(0)
    assert await asyncio.wait_for(waiting, 1) > 0


def test_one_controller_per_endpoint_and_process() -> None:
    a = concurrency_for("p-shared", "http://127.0.0.1:1", 30)
    assert concurrency_for("p-shared", "http://127.0.0.1:1", 30) is a
    assert concurrency_for("p-shared", "http://127.0.0.1:2", 30) is not a
    # A reloaded config with a lower ceiling applies at once.
    assert concurrency_for("p-shared", "http://127.0.0.1:1", 4) is a
    assert a.limit <= 4


async def test_429s_from_the_vendor_halve_the_concurrency_and_it_grows_back(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    conn = make(sim, clock)
    pace = conn.http.concurrency
    assert pace is not None
    assert pace.ceiling == DEFAULT_CEILING  # no max_concurrency in the table
    try:
        await conn.running_now()  # fast answers: slow start grows the limit
        grown = pace.limit
        assert grown > INITIAL
        sim.faults.rate_limit(times=6, retry_after=0, path_contains="getExecutions")
        await conn.running_now()  # every 429 was retried, so the check still answers
        assert pace.halvings >= 1
        assert pace.limit < grown
        after_429 = pace.limit
        for _ in range(3):
            await conn.running_now()
        assert pace.limit > after_429
    finally:
        await conn.aclose()


async def test_max_concurrency_in_the_table_is_the_ceiling(
    sim: PyramidSimulator, clock: ManualClock
) -> None:
    conn = make(sim, clock, max_concurrency=5)
    try:
        await conn.running_now()
        assert conn.http.concurrency is not None
        assert conn.http.concurrency.limit <= 5
        assert conn.http.peak_in_flight <= 5
    finally:
        await conn.aclose()


async def test_slowness_alone_never_halves_below_the_starting_limit() -> None:
    # Answers also slow when this process's own loop is busy; only the vendor's 429/503
    # may take the limit lower.
    pace = Concurrency(ceiling=64, initial=32)
    await answer_fast(pace, 5)
    for _ in range(200):
        number = await pace.acquire()
        pace.release()
        pace.answered(number, 200, 3.0)
    assert pace.limit >= INITIAL
    number = await pace.acquire()
    pace.release()
    pace.answered(number, 429, 3.0)
    assert pace.limit < INITIAL
