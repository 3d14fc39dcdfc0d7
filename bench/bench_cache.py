"""Cache benchmark: a first check against a second one moments later, per vendor.

    python bench/bench_cache.py [--scales 10,100] [--latency-ms 0] [--rounds 3]
                                [--cache-seconds 300]

The simulators run in a child process (``maintbot sandbox --scale N`` sizes), so their CPU
is not charged to the client. Each round opens the vendor's connector afresh (an empty
cache, as a CLI command starts), runs ``check "Saturday 2-4am"`` once, then again at once
with the same connector (as ``maintbot serve`` keeps it), and with ``cache_seconds = 0``
for comparison. Printed per vendor and scale: requests sent by the client (every attempt)
and wall time of each check, median and p95 over the rounds, and second / first.

Nothing is asserted; the figures are for the notes of issue 13.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

VENDORS = ("talend", "pyramid", "bmc", "huawei")


def serve(scale: int, latency_ms: float, conn: Connection) -> None:
    from bot.sandbox import SandboxServer, make_simulators

    sims = make_simulators(scale=scale, vendors=list(VENDORS))
    for sim in sims:
        sim.faults.latency_ms = latency_ms
    with SandboxServer(sims):
        conn.send({sim.vendor: (sim.config_entry(), sim.credentials()) for sim in sims})
        with contextlib.suppress(EOFError):
            conn.recv()


def requests_sent(connector: Any) -> int:
    return sum(h.requests for h in connector.http_clients())


async def two_checks(
    entry: dict[str, Any], env: dict[str, str], cache_seconds: float
) -> tuple[tuple[int, float], tuple[int, float]]:
    from bot.check import check_window, open_schedulers
    from bot.clock import system_clock
    from bot.config import Config
    from bot.windows import parse_window

    config = Config.model_validate(
        {
            "maintbot": {"deadline_seconds": 600},
            "schedulers": {"x": {**entry, "cache_seconds": cache_seconds}},
            "extra_env": env,
        }
    )
    (scheduler,) = open_schedulers(config, system_clock)
    assert scheduler.connector is not None, scheduler.error
    window = parse_window("Saturday 2-4am", tz="UTC", now=system_clock())
    found = []
    try:
        for _ in range(2):
            before = requests_sent(scheduler.connector)
            started = time.perf_counter()
            report = await check_window(window, [scheduler], system_clock)
            elapsed = time.perf_counter() - started
            failed = [s.error for s in report.systems if not s.ok]
            if failed:
                raise SystemExit(f"check failed: {failed}")
            found.append((requests_sent(scheduler.connector) - before, elapsed))
    finally:
        await scheduler.aclose()
    return found[0], found[1]


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def measure(scale: int, latency_ms: float, rounds: int, cache_seconds: float) -> None:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve, args=(scale, latency_ms, child), daemon=True)
    process.start()
    try:
        tables: dict[str, tuple[dict[str, Any], dict[str, str]]] = parent.recv()
        for vendor in VENDORS:
            entry, env = tables[vendor]
            await two_checks(entry, env, cache_seconds)  # warm-up: imports, first logins
            rows: dict[str, list[tuple[tuple[int, float], tuple[int, float]]]] = {
                "cached": [],
                "cache 0": [],
            }
            for _ in range(rounds):
                rows["cached"].append(await two_checks(entry, env, cache_seconds))
                rows["cache 0"].append(await two_checks(entry, env, 0))
            for label, samples in rows.items():
                first_req = statistics.median(a[0] for a, _ in samples)
                second_req = statistics.median(b[0] for _, b in samples)
                first_med, first_p95 = stats([a[1] for a, _ in samples])
                second_med, second_p95 = stats([b[1] for _, b in samples])
                print(
                    f"  scale {scale:>3}  {vendor:8} {label:8}"
                    f"  requests {first_req:>6.0f} -> {second_req:>6.0f}"
                    f" ({second_req / first_req:5.2f}x)"
                    f"   wall median {first_med * 1000:7.0f} -> {second_med * 1000:7.0f} ms"
                    f" ({second_med / first_med:5.2f}x)"
                    f"   p95 {first_p95 * 1000:7.0f} -> {second_p95 * 1000:7.0f} ms",
                    flush=True,
                )
    finally:
        parent.close()
        process.join(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="10,100")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache-seconds", type=float, default=300.0)
    args = parser.parse_args()
    print(
        f"first check vs second check at once, {args.latency_ms:g} ms latency, "
        f"{args.rounds} rounds, cache_seconds {args.cache_seconds:g} (and 0 as the baseline)"
    )
    for scale in (int(s) for s in args.scales.split(",")):
        asyncio.run(measure(scale, args.latency_ms, args.rounds, args.cache_seconds))


if __name__ == "__main__":
    main()
