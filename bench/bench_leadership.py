"""Leader takeover benchmark (prints figures, asserts nothing).

Run from the repository root (PostgreSQL at 127.0.0.1:5432 with trust auth, as on these
machines; ``--engine sqlite`` for a file)::

    python bench/bench_leadership.py [--engine postgresql] [--rounds 10] [--ttl 2] [--interval 0.2]

Two window clocks run their real loops (system clock) on one database. Each round the
leader dies without giving its lease up, as a kill -9 leaves it, and the time until the
standby leads is measured. The baseline, measured in the same run, is a clean stop (the
lease given up), and the bound to compare with is ``ttl + interval``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from datetime import timedelta  # noqa: E402

from bot.clock import system_clock  # noqa: E402
from bot.lifecycle import LogNotifier, WindowClock  # noqa: E402
from bot.store import Store  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def until(predicate: Any, limit: float = 60.0) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > limit:
            raise TimeoutError("no takeover")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def one_round(location: str, ttl: float, interval: float, *, clean: bool) -> float:
    stores = [Store(location, clock=system_clock) for _ in range(2)]
    clocks = [WindowClock(s, {}, system_clock, LogNotifier()) for s in stores]
    stops = [asyncio.Event(), asyncio.Event()]
    lease = timedelta(seconds=ttl)
    loops = [
        asyncio.create_task(c.run(stop, interval=interval, lead_ttl=lease))
        for c, stop in zip(clocks, stops, strict=True)
    ]
    try:
        await until(lambda: any(c.leading for c in clocks))
        leader = 0 if clocks[0].leading else 1
        other = 1 - leader
        if clean:
            stops[leader].set()
            started = time.monotonic()
            await loops[leader]
        else:
            clocks[leader].leading = False  # dies without giving the lease up
            started = time.monotonic()
            loops[leader].cancel()
        await until(lambda: clocks[other].leading)
        return time.monotonic() - started
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*loops, return_exceptions=True)
        for each in stores:
            each.close()


async def run(args: argparse.Namespace, location: str) -> None:
    killed, stopped = [], []
    for _ in range(args.rounds):
        killed.append(await one_round(location, args.ttl, args.interval, clean=False))
        stopped.append(await one_round(location, args.ttl, args.interval, clean=True))
    bound = args.ttl + args.interval
    print(f"engine {args.engine}; lease {args.ttl:g} s, clock turn {args.interval:g} s")
    for name, values in (("leader killed", killed), ("clean stop (baseline)", stopped)):
        print(
            f"  {name:<22} takeover median {statistics.median(values):6.2f} s  "
            f"p95 {pct(values, 0.95):6.2f} s  max {max(values):6.2f} s  "
            f"(bound {bound:g} s; ×{statistics.median(values) / statistics.median(stopped):5.1f}"
            " baseline)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--ttl", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args()
    if args.engine == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(args, str(Path(tmp) / "lead.db")))
        return
    import pg

    with pg.fresh_database() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
