"""How long do a window's start and end take, and what does an idle tick cost? Prints
figures; asserts nothing.

    /work/venv/bin/python bench/bench_lifecycle.py [--windows N] [--rounds N]

Against the four simulators on loopback (no added latency): one window holding every active
task of every system is started (read, pause, read back each task, then the start alert with
what is running) and ended (read, resume, read back, then the end alert with skipped runs),
timed with the wall clock. Then the cost of a tick with nothing due, with N windows planned
ahead, which is what the worker pays every few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.approvals import Policy
from bot.check import open_schedulers
from bot.clock import ManualClock
from bot.lifecycle import WindowClock, approve_now, plan_window
from bot.model import Window, WindowRecord
from bot.sandbox import SandboxServer, make_simulators, sandbox_config
from bot.store import Store

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
POLICY = Policy(approvers=frozenset({"bob"}))


class Quiet:
    async def notify(
        self, window: WindowRecord, kind: str, text: str, *, actions: Sequence[str] = ()
    ) -> None:
        return None


async def main(windows: int, rounds: int) -> None:
    clock = ManualClock(NOW)
    sims = make_simulators(clock=clock)
    with SandboxServer(sims), tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db", clock=clock)
        schedulers = open_schedulers(sandbox_config(sims), clock)
        connectors = {s.name: s.connector for s in schedulers if s.connector is not None}
        try:
            tasks = [
                (t.ref, t.name)
                for c in connectors.values()
                for t in await c.list_tasks()
                if not t.paused
            ]
            start = clock() + timedelta(minutes=5)
            big = plan_window(
                store,
                Window(start=start, end=start + timedelta(hours=1), tz="UTC", text="bench"),
                tasks,
                requested_by="alice",
                now=clock(),
            )
            approve_now(
                store, big.id, requested_by="alice", approved_by="bob", policy=POLICY, now=clock()
            )
            wclock = WindowClock(store, connectors, clock, Quiet())
            clock.set(start)
            began = time.perf_counter()
            report = await wclock.tick()
            started = time.perf_counter() - began
            clock.set(start + timedelta(hours=1))
            began = time.perf_counter()
            ended = await wclock.tick()
            finished = time.perf_counter() - began
            print(
                f"start of one window with {len(tasks)} tasks on {len(connectors)} systems: "
                f"{started:.2f} s ({len(report.paused)} paused, "
                f"{len(report.already_paused) + len(report.pause_failed)} left alone or failed)"
            )
            print(f"its end: {finished:.2f} s ({len(ended.resumed)} resumed)")

            for i in range(windows):
                at = clock() + timedelta(days=1, minutes=10 * i)
                record = plan_window(
                    store,
                    Window(start=at, end=at + timedelta(hours=1), tz="UTC"),
                    tasks[i % len(tasks) : i % len(tasks) + 3],
                    requested_by="alice",
                    now=clock(),
                )
                approve_now(
                    store, record.id, requested_by="alice", approved_by="bob", policy=POLICY,
                    now=clock(),
                )  # fmt: skip
            timings = []
            for _ in range(rounds):
                began = time.perf_counter()
                await wclock.tick()
                timings.append(time.perf_counter() - began)
            timings.sort()
            print(
                f"idle tick with {windows} windows planned ahead: median "
                f"{statistics.median(timings) * 1000:.1f} ms, p95 "
                f"{timings[int(len(timings) * 0.95) - 1] * 1000:.1f} ms"
            )
        finally:
            await asyncio.gather(*(s.aclose() for s in schedulers))
            store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.windows, args.rounds))
