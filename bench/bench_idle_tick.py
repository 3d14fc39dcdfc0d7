"""What an idle window-clock tick costs as the number of planned windows grows (prints
figures, asserts nothing).

    .venv/bin/python bench/bench_idle_tick.py [--ticks 100] [--postgres]

For 0, 200, 1,000 and 5,000 approved windows of 4 tasks planned a day or more ahead (the
first reminder is an hour before a start, so no tick has anything to do), the median and
p95 of ``WindowClock.tick()``; beside it, in the same run, the baseline: one
``Store.open_windows()``, which the tick used to call three times (every open window loaded
and validated each time) before it read only what can be due (``Store.due_windows``).
SQLite by default; ``--postgres`` on a fresh PostgreSQL database as the tests make them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bot.clock import ManualClock  # noqa: E402
from bot.lifecycle import LogNotifier, WindowClock  # noqa: E402
from bot.model import TaskKind, TaskRef, Window, WindowState  # noqa: E402
from bot.store import Store  # noqa: E402

SIZES = (0, 200, 1000, 5000)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1000)
    return out


async def measure(location: str, size: int, ticks: int) -> tuple[list[float], list[float]]:
    clock = ManualClock(datetime(2026, 11, 18, 18, 0, tzinfo=UTC))
    store = Store(location, clock=clock)
    try:
        start = clock() + timedelta(days=1)
        for w in range(size):
            refs = [TaskRef(system="talend", kind=TaskKind.TASK, id=f"w{w}t{i}") for i in range(4)]
            at = start + timedelta(minutes=w)
            store.create_window(
                Window(start=at, end=at + timedelta(hours=1), tz="UTC"),
                requested_by="alice",
                tasks=[(r, r.id) for r in refs],
                state=WindowState.APPROVED,
                approved_by="bob",
            )
        wclock = WindowClock(store, {}, clock, LogNotifier())
        tick_ms = []
        for _ in range(ticks):
            began = time.perf_counter()
            await wclock.tick()
            tick_ms.append((time.perf_counter() - began) * 1000)
            clock.advance(timedelta(seconds=1))
        await wclock.aclose()
        baseline = timed(store.open_windows, max(5, ticks // 10))
        return tick_ms, baseline
    finally:
        store.close()


async def main_async(args: argparse.Namespace) -> None:
    engine = "postgresql" if args.postgres else "sqlite"
    print(f"idle tick on {engine}, {args.ticks} ticks per size")
    print(f"  {'windows':>7}  {'tick median':>11}  {'tick p95':>9}  {'open_windows() ×1':>17}")
    for size in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            if args.postgres:
                import pg

                with pg.fresh_database() as url:
                    ticks, base = await measure(url, size, args.ticks)
            else:
                ticks, base = await measure(str(Path(tmp) / "idle.db"), size, args.ticks)
        print(
            f"  {size:>7}  {statistics.median(ticks):9.2f}ms  {pct(ticks, 0.95):7.2f}ms  "
            f"{statistics.median(base):15.2f}ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=100)
    parser.add_argument("--postgres", action="store_true")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
