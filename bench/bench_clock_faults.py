"""The window clock against a broken vendor and against itself. Prints figures; asserts
nothing.

    .venv/bin/python bench/bench_clock_faults.py [--runs N] [--clocks 2,3,5] [--slots N]

(i) One window holding every active task of every system, over the four simulators on
loopback. At its end Pyramid's resume answers trickle (the simulator's own ``trickle``
fault: the vendor acts, then sends its answer a byte every half second). Timed with the wall
clock, as the worker loop runs it (``tick(wait=False)``): seconds from the end tick until
every task of the three healthy systems is resumed, median and p95 over ``--runs``, and the
same with no fault, interleaved in the same run. Then the trickler's tasks: abandoned at their
deadline, audited ``unknown``, read back by a fresh clock once Pyramid answers again.

(ii) N clocks on one SQLite file (each its own Store, connectors and owner) over
``--slots`` × 2 windows, killed mid-claim now and then (the scenario of
tests/test_multi_clock.py, larger): double vendor calls, tasks left paused, windows by
final state.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_lifecycle import POLICY, Recorder
from test_multi_clock import run_clocks
from test_soak import _unthrottled

from bot.check import open_schedulers
from bot.clock import ManualClock
from bot.lifecycle import WindowClock, approve_now, plan_window
from bot.model import PlannedTaskState, Task, Window
from bot.sandbox import SandboxServer, make_simulators, sandbox_config
from bot.store import Store

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
TRICKLER = "pyramid"
DEADLINE = 5.0  # the trickler's per-call deadline here (the default is 60 s)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def one_window(tmp: Path, trickle: bool, run: int) -> tuple[float, int, dict[str, int]]:
    """Seconds until every healthy task is resumed; how many; the trickler's rows."""
    clock = ManualClock(NOW)
    sims = make_simulators(clock=clock)
    trickler_sim = next(s for s in sims if s.vendor == TRICKLER)
    with SandboxServer(sims):
        store = Store(tmp / f"w{run}-{trickle}.db", clock=clock)
        schedulers = open_schedulers(_unthrottled(sandbox_config(sims)), clock)
        connectors = {s.name: s.connector for s in schedulers if s.connector is not None}
        notes = Recorder()
        try:
            tasks: list[Task] = [
                t
                for c in connectors.values()
                for t in await c.list_tasks()
                if not t.paused and t.vendor_state not in ("RUNNING", "ABORTED", "")
            ]
            start = clock() + timedelta(minutes=5)
            record = plan_window(
                store,
                Window(start=start, end=start + timedelta(hours=1), tz="UTC", text="bench"),
                [(t.ref, t.name) for t in tasks],
                requested_by="alice",
                now=clock(),
            )
            approve_now(
                store, record.id, requested_by="alice", approved_by="bob", policy=POLICY,
                now=clock(),
            )  # fmt: skip
            wclock = WindowClock(store, connectors, clock, notes, deadlines={TRICKLER: DEADLINE})
            clock.advance(timedelta(minutes=5))
            await wclock.tick()
            if trickle:
                trickler_sim.faults.inject("trickle", path_contains="resumeSchedule", times=10_000)
            # The healthy tasks the bot paused (inert ones were left alone at the start).
            healthy = {
                r.ref.key
                for r in store.window_tasks(record.id)
                if r.state is PlannedTaskState.PAUSED and r.system != TRICKLER
            }
            clock.advance(timedelta(hours=1))
            began = time.perf_counter()
            await wclock.tick(wait=False)
            async with asyncio.timeout(120):
                while True:
                    rows = store.window_tasks(record.id)
                    done = {r.ref.key for r in rows if r.state is PlannedTaskState.RESUMED}
                    if healthy <= done:
                        break
                    await asyncio.sleep(0.005)
            seconds = time.perf_counter() - began
            await wclock.settle()
            trickler_sim.faults.clear()
            # Pyramid answers again: a fresh clock reads its tasks back after the backoff.
            clock.advance(timedelta(minutes=2))
            await WindowClock(store, connectors, clock, notes).tick()
            outcomes = [
                a.outcome
                for a in store.audit_rows(100_000, window_id=record.id)
                if a.action == "resume" and a.system == TRICKLER
            ]
            trickler = {
                "tasks": sum(t.ref.system == TRICKLER for t in tasks),
                "unknown": outcomes.count("unknown"),
                "read back": outcomes.count("no_change") + outcomes.count("ok"),
                "still paused": sum(
                    bool(item["paused"])
                    for item in trickler_sim.state()["tasks"]
                    if any(t.ref.id == str(item["id"]) for t in tasks)
                ),
            }
        finally:
            await asyncio.gather(*(s.aclose() for s in schedulers))
            store.close()
    return seconds, len(healthy), trickler


async def main(runs: int, clocks: list[int], slots: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        figures: dict[bool, list[float]] = {False: [], True: []}
        count = 0
        trickler: dict[str, int] = {}
        for run in range(runs):
            for trickle in (False, True):
                seconds, count, seen = await one_window(tmp, trickle, run)
                figures[trickle].append(seconds)
                if trickle:
                    trickler = seen
        print(
            f"(i) one window over four systems; from the end tick until the {count} tasks it "
            f"paused on the three healthy ones are resumed (wall clock, {runs} runs each):"
        )
        for trickle, label in ((False, "no fault"), (True, f"{TRICKLER} trickling")):
            values = figures[trickle]
            print(
                f"    {label:>18}: median {statistics.median(values):.3f} s, "
                f"p95 {_p95(values):.3f} s, max {max(values):.3f} s"
            )
        print(
            f"    the trickler's {trickler.get('tasks', 0)} tasks (last run): "
            f"{trickler.get('unknown', 0)} resume calls abandoned at {DEADLINE:g} s and "
            f"audited unknown, {trickler.get('read back', 0)} settled by reading back, "
            f"{trickler.get('still paused', 0)} still paused"
        )
        print(f"(ii) clocks on one database, {slots * 2} windows, kills mid-claim:")
        for n in clocks:
            (tmp / f"c{n}").mkdir()
            outcome = await run_clocks(tmp / f"c{n}", clocks=n, slots=slots, seed=7 + n)
            states = ", ".join(f"{k} {v}" for k, v in sorted(outcome.final_states.items()))
            print(
                f"    {n} clocks: {outcome.windows} windows ({states}), {outcome.tasks} tasks; "
                f"{outcome.kills} kills ({outcome.kills_mid_claim} holding a claim), "
                f"{outcome.takeovers} attempts on a claim taken over; double vendor calls "
                f"{outcome.double_calls}, tasks left paused {outcome.left_paused}, "
                f"repeated alerts {outcome.repeated_alerts}, windows ended twice "
                f"{outcome.repeated_finishes}; {outcome.ticks} ticks in {outcome.seconds:.1f} s"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clocks", default="2,3,5")
    parser.add_argument("--slots", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.runs, [int(n) for n in args.clocks.split(",")], args.slots))
