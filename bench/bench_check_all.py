"""Fan-out benchmark: one check across the four simulators (prints figures, asserts nothing).

    python bench/bench_check_all.py [--latency-ms 40] [--rounds 5]

Sizes are the realistic ones of issue 3: Talend with >= 5,000 scheduled runs in the window,
Pyramid 300 schedules, BMC 200 ETLs, Huawei ~500 tasks across both families; every
simulator adds ``--latency-ms`` to each response. Measured in the same run:

* all four at once, as ``maintbot check`` does it;
* each system alone (the slowest is the floor the fan-out is compared with, target <= 1.3x);
* the four one after another (what a sequential script would take).

The simulators run in a child process, as ``maintbot sandbox`` would, so their CPU time is
not charged to the client being measured (one Python process serving ~1,100 requests while
also issuing them measures the GIL, not the fan-out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection

from bot.check import Scheduler, check_window, open_schedulers
from bot.clock import Clock, system_clock
from bot.config import Config
from bot.sandbox import SandboxServer, sandbox_config
from bot.sandbox.base import Simulator
from bot.sandbox.bmc import BmcSimulator
from bot.sandbox.huawei import HuaweiSimulator
from bot.sandbox.pyramid import PyramidSimulator
from bot.sandbox.talend import TalendSimulator
from bot.windows import parse_window


def simulators() -> list[Simulator]:
    return [
        TalendSimulator(scale=85),
        PyramidSimulator(schedules=300),
        BmcSimulator(etls=200),
        HuaweiSimulator(scale=21),
    ]


def serve(latency_ms: float, conn: Connection) -> None:
    """Child process: run the simulators until the parent closes the pipe; send back the
    config of each alone and of all four together."""
    sims = simulators()
    for sim in sims:
        sim.faults.latency_ms = latency_ms
    with SandboxServer(sims):
        configs = {sim.vendor: sandbox_config([sim], deadline_seconds=60) for sim in sims}
        configs["all"] = sandbox_config(sims, deadline_seconds=60)
        conn.send(configs)
        with contextlib.suppress(EOFError):
            conn.recv()


async def timed_check(config: Config, clock: Clock) -> tuple[float, dict[str, int], int]:
    window = parse_window("Saturday 2-4am", tz="America/Los_Angeles", now=clock())
    schedulers: list[Scheduler] = open_schedulers(config, clock)
    try:
        started = time.perf_counter()
        report = await check_window(window, schedulers, clock)
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))
    failed = [s for s in report.systems if not s.ok]
    if failed:
        raise SystemExit(f"check failed: {failed}")
    requests = {s.name: s.connector.http.requests for s in schedulers if s.connector}
    return elapsed, requests, len(report.conflicts)


def stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms"


async def main(latency_ms: float, rounds: int) -> None:
    clock = system_clock
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve, args=(latency_ms, child), daemon=True)
    process.start()
    try:
        configs: dict[str, Config] = parent.recv()
        vendors = [v for v in configs if v != "all"]
        # Warm up: first logins, the simulators' caches, imports.
        await timed_check(configs["all"], clock)

        together: list[float] = []
        alone: dict[str, list[float]] = {v: [] for v in vendors}
        one_after_another: list[float] = []
        requests: dict[str, int] = {}
        conflicts = 0
        for _ in range(rounds):
            elapsed, requests, conflicts = await timed_check(configs["all"], clock)
            together.append(elapsed)
            sequential = 0.0
            for vendor in vendors:
                elapsed_one, _, _ = await timed_check(configs[vendor], clock)
                alone[vendor].append(elapsed_one)
                sequential += elapsed_one
            one_after_another.append(sequential)
    finally:
        parent.close()
        process.join(timeout=10)

    print(f"check across four simulators, {latency_ms:g} ms latency per response, {rounds} rounds")
    print(f"  requests per check: {requests}  ({sum(requests.values())} in all)")
    print(f"  conflicts found: {conflicts}")
    print(f"  all four at once      {stats(together)}")
    for vendor, samples in alone.items():
        print(f"  {vendor:8} alone        {stats(samples)}")
    print(f"  one after another     {stats(one_after_another)}")
    slowest = max(statistics.median(s) for s in alone.values())
    median_together = statistics.median(together)
    print(f"  fan-out / slowest alone:   {median_together / slowest:.2f}x (target <= 1.3x)")
    sequential_ratio = statistics.median(one_after_another) / median_together
    print(f"  one after another / fan-out: {sequential_ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.latency_ms, args.rounds))
