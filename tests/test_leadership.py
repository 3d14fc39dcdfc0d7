"""One window clock among the replicas on a database: the ``window-clock`` lease in the
store (on both engines) decides which running clock ticks; the others stand by and take over
once a dead leader's lease runs out, or at once when it stops cleanly."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from test_lifecycle import Recorder

from bot.clock import ManualClock
from bot.lifecycle import HEARTBEAT_KEY, WindowClock
from bot.lifecycle.loop import LEAD
from bot.store import Store

pytestmark = pytest.mark.engines("sqlite", "postgresql")

TTL = timedelta(seconds=30)


def test_one_owner_holds_the_lease_until_it_runs_out(store: Store, clock: ManualClock) -> None:
    assert store.try_lead(LEAD, "a", now=clock(), ttl=TTL)
    assert not store.try_lead(LEAD, "b", now=clock(), ttl=TTL)
    clock.advance(timedelta(seconds=20))
    assert store.try_lead(LEAD, "a", now=clock(), ttl=TTL)  # renewed to 50 s
    clock.advance(timedelta(seconds=29))
    assert not store.try_lead(LEAD, "b", now=clock(), ttl=TTL)  # a's renewal still holds
    holder = store.leader(LEAD)
    assert holder is not None
    owner, _since, until = holder
    assert owner == "a"
    assert until == clock() + timedelta(seconds=1)
    # a stops renewing (it died): once its lease has run out, b takes it over.
    clock.advance(timedelta(seconds=1))
    assert store.try_lead(LEAD, "b", now=clock(), ttl=TTL)
    assert not store.try_lead(LEAD, "a", now=clock(), ttl=TTL)
    holder = store.leader(LEAD)
    assert holder is not None
    assert holder[0] == "b"
    assert holder[1] == clock()  # held since the takeover, not since a's first lease
    # A clean stop gives it up: the next to ask leads at once.
    store.release_lead(LEAD, "a")  # not a's to give: nothing changes
    assert store.leader(LEAD) is not None
    store.release_lead(LEAD, "b")
    assert store.leader(LEAD) is None
    assert store.try_lead(LEAD, "a", now=clock(), ttl=TTL)


def test_of_many_replicas_asking_at_once_exactly_one_leads(
    db_location: str, clock: ManualClock
) -> None:
    stores = [Store(db_location, clock=clock) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    won: list[str] = []

    def ask(number: int) -> None:
        barrier.wait()
        if stores[number].try_lead(LEAD, f"replica-{number}", now=clock(), ttl=TTL):
            won.append(f"replica-{number}")

    try:
        threads = [threading.Thread(target=ask, args=(n,)) for n in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(won) == 1
        holder = stores[0].leader(LEAD)
        assert holder is not None
        assert holder[0] == won[0]
    finally:
        for each in stores:
            each.close()


async def _until(predicate: object, what: str, turns: int = 2000) -> None:
    for _ in range(turns):
        if callable(predicate) and predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def test_only_the_leader_ticks_and_a_standby_takes_over_when_it_dies(
    db_location: str, clock: ManualClock
) -> None:
    stores = [Store(db_location, clock=clock) for _ in range(2)]
    clocks = [
        WindowClock(s, {}, clock, Recorder(), owner=f"replica-{n}") for n, s in enumerate(stores)
    ]
    stops = [asyncio.Event() for _ in clocks]
    first = asyncio.create_task(clocks[0].run(stops[0], interval=0.01, lead_ttl=TTL))
    await _until(lambda: clocks[0].leading, "the first clock to lead")
    second = asyncio.create_task(clocks[1].run(stops[1], interval=0.01, lead_ttl=TTL))
    try:
        await _until(lambda: stores[1].get_kv(HEARTBEAT_KEY) is not None, "a heartbeat")
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert clocks[0].leading
        assert not clocks[1].leading  # standing by
        # The leader dies. A kill -9 runs no clean-up, so this loop must not give its lease
        # up on the way out (a cancelled loop would): it forgets it leads, then stops.
        clocks[0].leading = False
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        holder = stores[1].leader(LEAD)
        assert holder is not None
        assert holder[0] == "replica-0"
        await asyncio.sleep(0.05)
        assert not clocks[1].leading  # its lease has not run out yet
        clock.advance(TTL)
        await _until(lambda: clocks[1].leading, "the standby to take over")
        holder = stores[1].leader(LEAD)
        assert holder is not None
        assert holder[0] == "replica-1"
        # A clean stop gives the lead up at once.
        stops[1].set()
        await second
        assert stores[0].leader(LEAD) is None
    finally:
        for stop in stops:
            stop.set()
        for task in (first, second):
            if not task.done():
                task.cancel()
        await asyncio.gather(first, second, return_exceptions=True)
        for each in stores:
            each.close()


async def test_a_clock_cancelled_at_any_moment_of_its_wait_stops(
    store: Store, clock: ManualClock
) -> None:
    """A cancellation that arrives while the clock awaits its own cancelled wake-up future
    used to be taken for that future's and swallowed: the clock ran on and whoever awaited
    it hung. Cancelled at each of the first loop iterations of many runs, it must end
    within a bounded number of iterations (counted, not timed)."""
    stuck = []
    for round_ in range(120):
        wclock = WindowClock(store, {}, clock, Recorder(), owner=f"replica-{round_}")
        stop = asyncio.Event()
        task = asyncio.create_task(wclock.run(stop, interval=0.0005, lead_ttl=TTL))
        for _ in range(round_ % 12):
            await asyncio.sleep(0)
        await asyncio.sleep(0.0005 * (round_ % 3))
        task.cancel()
        for _ in range(20_000):
            if task.done():
                break
            await asyncio.sleep(0)
        if not task.done():
            stuck.append(round_)
            stop.set()  # what the swallowed cancellation should have done
        await asyncio.gather(task, return_exceptions=True)
        store.release_lead(LEAD, wclock.owner)
    assert stuck == []
