"""``suggest`` over a week at sandbox scale 10 (prints figures, asserts nothing).

    python bench/bench_suggest.py [--scale 10] [--latency-ms 0] [--rounds 7] [--length 2h]

The simulators (``maintbot sandbox --scale N``) run in a child process, so their CPU is not
charged to the client. Each round times the two halves of ``Maintbot.suggest`` apart:

* the check: one each-run check over the next seven days (every run a conflict, durations
  asked for all of them), across all four simulators;
* the ranking: :func:`bot.suggest.rank` over that report (slots, sweep, top three and their
  conflicts), repeated to get a stable figure.

Then the ranking alone on the same report's runs copied n-fold (shifted in time), to show
it grows with n + k and not n × k, against a direct k × n scoring of the same slots.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import time
from datetime import timedelta
from multiprocessing.connection import Connection

from bot.check import check_window, open_schedulers
from bot.clock import system_clock
from bot.config import Config
from bot.format import length
from bot.model import Conflict, ConflictKind, ConflictReport, Window
from bot.sandbox import SandboxServer, make_simulators, sandbox_config
from bot.suggest import DEFAULT_RANGE, rank, slots
from bot.windows import parse_length


def serve(scale: int, latency_ms: float, conn: Connection) -> None:
    sims = make_simulators(scale=scale)
    for sim in sims:
        sim.faults.latency_ms = latency_ms
    with SandboxServer(sims):
        conn.send(sandbox_config(sims, deadline_seconds=120))
        with contextlib.suppress(EOFError):
            conn.recv()


def stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms"


async def one_check(config: Config) -> tuple[float, ConflictReport]:
    now = system_clock()
    week = Window(start=now, end=now + DEFAULT_RANGE, tz="America/Los_Angeles", text="week")
    schedulers = open_schedulers(config, system_clock)
    try:
        started = time.perf_counter()
        report = await check_window(week, schedulers, system_clock, each_run=True)
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))
    failed = [s.system for s in report.systems if not s.ok]
    if failed:
        raise SystemExit(f"check failed: {failed}")
    return elapsed, report


def time_rank(report: ConflictReport, slot: timedelta, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        rank(report, slot, now=report.window.start)
        samples.append(time.perf_counter() - started)
    return samples


def copied(report: ConflictReport, times: int) -> ConflictReport:
    """The report's timed runs ``times`` over, each copy shifted by a few minutes."""
    timed = [c for c in report.conflicts if c.at is not None]
    more: list[Conflict] = []
    for n in range(times):
        shift = timedelta(minutes=7 * n)
        more.extend(
            c.model_copy(update={"at": c.at + shift, "task_id": f"{c.task_id}~{n}"})
            for c in timed
            if c.at is not None
        )
    return report.model_copy(update={"conflicts": tuple(more)})


def direct(report: ConflictReport, slot: timedelta) -> float:
    """Every slot scored against every run (what the sweep avoids), timed once."""
    started = time.perf_counter()
    runs = [
        (c.at, c.expected_duration or timedelta(0))
        for c in report.conflicts
        if c.at is not None and not c.paused and c.kind is not ConflictKind.MAY_FIRE
    ]
    best = None
    for start in slots(report.window, slot, report.window.start):
        end, score = start + slot, 0.0
        for at, took in runs:
            if start <= at < end:
                score += 1
            elif at < start < at + took:
                score += (min(at + took, end) - start) / slot
        best = score if best is None else min(best, score)
    return time.perf_counter() - started


async def main(scale: int, latency_ms: float, rounds: int, slot: timedelta) -> None:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve, args=(scale, latency_ms, child), daemon=True)
    process.start()
    try:
        config: Config = parent.recv()
        await one_check(config)  # warm up: logins, imports, the simulators' caches
        checks: list[float] = []
        ranks: list[float] = []
        report = None
        for _ in range(rounds):
            elapsed, report = await one_check(config)
            checks.append(elapsed)
            ranks.extend(time_rank(report, slot, 5))
    finally:
        parent.close()
        process.join(timeout=10)
    assert report is not None
    timed = sum(1 for c in report.conflicts if c.at is not None)
    k = len(slots(report.window, slot, report.window.start))
    print(
        f"suggest {length(slot)} over 7 days, sandbox scale {scale}, {latency_ms:g} ms latency, "
        f"{rounds} rounds"
    )
    print(f"  conflicts in the range report: {len(report.conflicts)} ({timed} with a time)")
    print(f"  slots ranked: {k}")
    print(f"  check (one, each-run)     {stats(checks)}")
    print(f"  ranking                   {stats(ranks)}")
    totals = [c + statistics.median(ranks) for c in checks]
    print(f"  suggest (check + ranking) {stats(totals)}")
    print("  ranking alone as the runs grow (sweep vs every slot × every run):")
    for times in (1, 4, 16):
        bigger = copied(report, times)
        n = len(bigger.conflicts)
        sweep = statistics.median(time_rank(bigger, slot, 3))
        naive = direct(bigger, slot) if times <= 4 else float("nan")
        print(
            f"    n = {n:7d}, k = {k}: sweep {sweep * 1000:8.1f} ms   k × n {naive * 1000:9.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--length", default="2h")
    args = parser.parse_args()
    asyncio.run(main(args.scale, args.latency_ms, args.rounds, parse_length(args.length)))
