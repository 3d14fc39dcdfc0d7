"""Slack app benchmark (prints figures, asserts nothing).

Run from the repository root::

    python bench/bench_slack.py [--concurrency 50] [--latency-ms 40] [--rounds 10]

Everything runs on loopback in this process: the sandbox schedulers (with ``--latency-ms``
added to every vendor response), the fake Slack Web API from ``tests/fakeslack.py`` and the
real bot served by aiohttp, driven by signed requests (``tests/slackclient.py``).

Figures:
* ack latency of ``/maintenance check`` with N commands sent at the same moment
  (p50 / p99 / max): what Slack's 3-second limit is measured against;
* command → full report (the ``response_url`` post received), one command at a time;
* ``check_window`` alone, in-process, as ``maintbot check`` runs it, against the same
  sandbox: the floor the Slack path adds to.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from slackclient import SlackWorld, together  # noqa: E402

from bot.check import check_window, open_schedulers  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.sandbox import sandbox_config  # noqa: E402
from bot.windows import parse_window  # noqa: E402

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)  # Wed 10:00 in Los Angeles
TEXT = "Saturday 2-4am"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def bench_acks(world: SlackWorld, concurrency: int) -> tuple[list[float], list[float]]:
    """Send ``concurrency`` checks at once; return ack latencies and command→report times."""
    users = [world.user(f"bench{i:03d}") for i in range(concurrency)]
    sent: dict[str, float] = {}

    def send(user_index: int) -> tuple[str, float]:
        started = time.monotonic()
        reply = users[user_index].slash(f"/maintenance check {TEXT}")
        sent[reply.response_id] = started
        return reply.response_id, reply.elapsed

    results = together(*(lambda i=i: send(i) for i in range(concurrency)))
    acks = [elapsed for _, elapsed in results]
    reports = []
    for response_id, _ in results:
        world.fake.wait_response(response_id, timeout=120)
        (call,) = [c for c in world.fake if c.response_id == response_id]
        reports.append(call.at - sent[response_id])
    return acks, reports


def bench_sequential(world: SlackWorld, rounds: int) -> tuple[list[float], list[float]]:
    """One command at a time; return ack latencies and command→report times."""
    alice = world.user("alice")
    acks, times = [], []
    for _ in range(rounds):
        started = time.monotonic()
        reply = alice.slash(f"/maintenance check {TEXT}")
        reply.wait(timeout=120)
        (call,) = [c for c in world.fake if c.response_id == reply.response_id]
        acks.append(reply.elapsed)
        times.append(call.at - started)
    return acks, times


async def bench_in_process(world: SlackWorld, rounds: int) -> tuple[float, list[float]]:
    clock = ManualClock(NOW)
    window = parse_window(TEXT, tz="America/Los_Angeles", now=clock())
    schedulers = open_schedulers(sandbox_config(world.simulators), clock)
    try:
        started = time.monotonic()
        await check_window(window, schedulers, clock)  # cold: logins, first connections
        cold = time.monotonic() - started
        warm = []
        for _ in range(rounds):
            started = time.monotonic()
            await check_window(window, schedulers, clock)
            warm.append(time.monotonic() - started)
        return cold, warm
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        # One command at a time first, on fresh schedulers, so the burst below (and the
        # connectors' per-minute rate limiters it fills) cannot slow these down.
        world = SlackWorld(Path(tmp) / "a", ManualClock(NOW), latency_ms=args.latency_ms)
        (Path(tmp) / "a").mkdir()
        with world:
            vendors = ", ".join(s.vendor for s in world.simulators)
            print(f"schedulers: {vendors}; vendor latency {args.latency_ms:g} ms; loopback")
            bench_sequential(world, 1)  # warm-up: logins, caches, first connections
            single_acks, sequential = bench_sequential(world, args.rounds)
            cold, warm = asyncio.run(bench_in_process(world, args.rounds))

        print(f"\none /maintenance check at a time × {args.rounds}")
        print(
            f"  ack            p50 {ms(statistics.median(single_acks))}  max {ms(max(single_acks))}"
        )
        print(
            "  command → full report (response_url post received)  "
            f"p50 {ms(statistics.median(sequential))}  max {ms(max(sequential))}"
        )
        print(f"in-process check_window (maintbot check's core), same sandbox × {args.rounds}")
        print(f"  first (cold)   {ms(cold)}")
        print(f"  warm           p50 {ms(statistics.median(warm))}  max {ms(max(warm))}")
        overhead = statistics.median(sequential) - statistics.median(warm)
        print(f"  Slack path overhead (p50 difference): {ms(overhead)}")

        world = SlackWorld(Path(tmp) / "b", ManualClock(NOW), latency_ms=args.latency_ms)
        (Path(tmp) / "b").mkdir()
        with world:
            bench_sequential(world, 1)
            acks, reports = bench_acks(world, args.concurrency)
        print(f"\n/maintenance check × {args.concurrency} sent at the same moment")
        print(
            f"  ack            p50 {ms(pct(acks, 0.5))}  p99 {ms(pct(acks, 0.99))}"
            f"  max {ms(max(acks))}"
        )
        print(
            f"  full report    p50 {ms(pct(reports, 0.5))}  p99 {ms(pct(reports, 0.99))}"
            f"  max {ms(max(reports))}"
        )
        print(
            "  (checks of the same window already in flight are joined, so the schedulers "
            "are asked once for the burst)"
        )


if __name__ == "__main__":
    main()
