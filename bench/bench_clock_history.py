"""What the window clock's run-start recording costs (prints figures, asserts nothing).

    python bench/bench_clock_history.py [--scales 1 10 100] [--rounds 5]

Per BMC scale: the requests one reading makes (the ETL list and a status per ETL), its
wall time (median and p95 of ``--rounds``), and an idle tick with a reading due against
one without (the baseline: the spacing has not passed), as a ratio. The simulator runs in
this process, so its CPU is in the wall times: they are an upper bound, and the request
count is the figure that chooses the spacing (bot/lifecycle/history.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.check import open_schedulers
from bot.clock import ManualClock
from bot.lifecycle import LogNotifier, WindowClock
from bot.lifecycle.history import HISTORY_EVERY
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.bmc import BmcSimulator
from bot.store import Store


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def _measure(scale: int, rounds: int, folder: Path) -> tuple[int, list[float], list[float]]:
    clock = ManualClock(datetime(2026, 11, 18, 18, 0, tzinfo=UTC))
    bmc = BmcSimulator(clock=clock, scale=scale)
    with SandboxServer([bmc]):
        schedulers = open_schedulers(sandbox_config([bmc]), clock)
        connectors = {s.name: s.connector for s in schedulers if s.connector is not None}
        store = Store(folder / f"bench-{scale}.db", clock=clock)
        wclock = WindowClock(store, connectors, clock, LogNotifier())
        reading: list[float] = []
        idle: list[float] = []
        requests = 0
        try:
            for _ in range(rounds):
                clock.advance(HISTORY_EVERY)
                before = len(bmc.requests)
                started = time.perf_counter()
                await wclock.tick()
                reading.append(time.perf_counter() - started)
                requests = len(bmc.requests) - before
                clock.advance(timedelta(seconds=5))
                started = time.perf_counter()
                await wclock.tick()
                idle.append(time.perf_counter() - started)
        finally:
            for s in schedulers:
                await s.aclose()
            store.close()
    return requests, reading, idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"spacing: one reading per system every {HISTORY_EVERY}")
    print("scale  requests/read  read median  read p95  idle tick median  ratio  req/s avg")
    with tempfile.TemporaryDirectory() as folder:
        for scale in args.scales:
            requests, reading, idle = asyncio.run(_measure(scale, args.rounds, Path(folder)))
            med, p95, base = statistics.median(reading), _p95(reading), statistics.median(idle)
            rate = requests / HISTORY_EVERY.total_seconds()
            print(
                f"{scale:>5}  {requests:>13}  {med * 1000:>9.1f}ms  {p95 * 1000:>6.1f}ms  "
                f"{base * 1000:>14.2f}ms  {med / base:>5.0f}x  {rate:>9.2f}"
            )


if __name__ == "__main__":
    main()
