"""How long a conflict check against Talend takes, next to the obvious sequential loop.

Starts the Talend simulator in a process of its own (a real vendor does not share our CPU,
and the simulator's work should not be billed to the connector) with ``--scale`` sample
data and ``--latency-ms`` added to every response, then times ``bot.check.check_window`` for
"Saturday 2-4am" (UTC) against it, each repetition with fresh connectors as the CLI builds
them (so every check pays its token request), and a naive loop written with plain httpx:
events/search page after page, then one GET per distinct task, one request at a time. The
naive loop reads neither run history nor runs in progress, so it does less than the check.

Two scenarios: the window itself (``lookback_hours = 0``), and the window as a default
configuration checks it, with 12 hours of look-back for runs that may overlap its start;
at this density the look-back multiplies the events pages about sevenfold.

Prints figures; asserts nothing. Run: ``python bench/bench_check_talend.py [--help]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import multiprocessing
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import httpx

from bot.check import check_window, open_schedulers
from bot.clock import ManualClock
from bot.config import Config
from bot.model import Window
from bot.windows import parse_window

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)  # a Wednesday; the window is 2.5 days out
SEARCH = "/orchestration/executables/events/search"


def serve(pipe: Connection, scale: int, latency_ms: float, validate: bool) -> None:
    """The simulator's process: serve until the parent says stop."""
    from bot.sandbox.base import SandboxServer
    from bot.sandbox.talend import TalendSimulator

    sim = TalendSimulator(clock=ManualClock(NOW), scale=scale, validate=validate)
    sim.faults.latency_ms = latency_ms
    with SandboxServer([sim]):
        pipe.send((sim.config_entry(), sim.credentials()))
        pipe.recv()


def nearest_rank(values: Sequence[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(quantile * len(ordered))) - 1]


async def timed_check(config: Config, window: Window) -> tuple[float, int, int, str | None]:
    clock = ManualClock(NOW)
    schedulers = open_schedulers(config, clock)
    try:
        started = time.perf_counter()
        report = await check_window(window, schedulers, clock)
        elapsed = time.perf_counter() - started
        connector: Any = schedulers[0].connector
        requests = int(connector.requests)
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()
    system = report.systems[0]
    return elapsed, requests, len(report.conflicts), None if system.ok else system.error


def naive(
    entry: dict[str, Any], creds: dict[str, str], start: datetime, end: datetime
) -> tuple[float, int, int]:
    """Token, then every events page in turn, then one GET per distinct task in turn."""
    client_id = creds[entry["client_id_env"]]
    secret = creds[entry["client_secret_env"]]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    requests = 0
    with httpx.Client(base_url=entry["base_url"], timeout=60) as client:
        started = time.perf_counter()
        token = client.post(
            "/security/oauth/token",
            json={"grant_type": "client_credentials", "audience": entry["base_url"]},
            headers={"Authorization": f"Basic {basic}"},
        ).json()["access_token"]
        requests += 1
        headers = {"Authorization": f"Bearer {token}"}
        seen: dict[str, str] = {}
        runs = 0
        offset = 0
        while True:
            page = client.post(
                SEARCH,
                json={
                    "environmentId": entry["environment_id"],
                    "from": int(start.timestamp() * 1000),
                    "to": int(end.timestamp() * 1000),
                    "limit": 100,
                    "offset": offset,
                },
                headers=headers,
            ).json()
            requests += 1
            for item in page["items"]:
                seen.setdefault(item["id"], item["type"])
                runs += 1
            offset += 100
            if offset >= page["total"]:
                break
        for item_id, kind in seen.items():
            noun = "plans" if kind == "PLAN" else "tasks"
            client.get(f"/orchestration/executables/{noun}/{item_id}", headers=headers).json()
            requests += 1
        return time.perf_counter() - started, requests, runs


def scenario(
    name: str,
    entry: dict[str, Any],
    creds: dict[str, str],
    window: Window,
    lookback_hours: float,
    args: argparse.Namespace,
) -> None:
    table: dict[str, Any] = {**entry, "lookback_hours": lookback_hours}
    if args.concurrency:
        table["max_concurrency"] = args.concurrency
    config = Config.model_validate(
        {"maintbot": {"deadline_seconds": 120}, "schedulers": {"talend": table}, "extra_env": creds}
    )
    start = max(NOW, window.start - timedelta(hours=lookback_hours))  # as bot.check does
    print(f"\n{name}: runs from {start:%a %H:%M} to {window.end:%a %H:%M} UTC")

    asyncio.run(timed_check(config, window))  # warm-up: imports, the simulator's caches
    checks = [asyncio.run(timed_check(config, window)) for _ in range(args.reps)]
    errors = {c[3] for c in checks if c[3]}
    if errors:
        print(f"  check FAILED: {'; '.join(sorted(errors))}")
        return
    naives = [naive(entry, creds, start, window.end) for _ in range(args.naive_reps)]

    check_times = [c[0] for c in checks]
    naive_times = [n[0] for n in naives]
    print(f"  scheduled runs in the range: {naives[0][2]:,}; conflicts reported: {checks[0][2]}")
    print(f"  {'':22}{'median s':>10}{'p95 s':>10}{'requests':>10}{'reps':>6}")
    for label, times, requests in (
        ("check_window", check_times, checks[0][1]),
        ("naive sequential", naive_times, naives[0][1]),
    ):
        print(
            f"  {label:22}{statistics.median(times):>10.3f}{nearest_rank(times, 0.95):>10.3f}"
            f"{requests:>10}{len(times):>6}"
        )
    speedup = statistics.median(naive_times) / statistics.median(check_times)
    floor = 3 * args.latency_ms / 1000
    to_floor = statistics.median(check_times) / floor
    print(f"  speed-up, naive / check (medians): {speedup:6.1f}x   (target >= 10x)")
    print(
        f"  check / floor of 3 round trips ({3 * args.latency_ms:g} ms): {to_floor:6.2f}x"
        "   (target <= 3x)"
    )
    share = checks[0][1] / 1800
    print(f"  one check uses {share:.0%} of Talend's 1,800 requests a minute")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--reps", type=int, default=9, help="check repetitions per scenario")
    parser.add_argument("--naive-reps", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=0, help="max_concurrency override")
    parser.add_argument(
        "--validate", action="store_true", help="validate requests against the OpenAPI files"
    )
    parser.add_argument("--skip-lookback", action="store_true", help="window-only scenario")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(
        target=serve, args=(child, args.scale, args.latency_ms, args.validate), daemon=True
    )
    server.start()
    try:
        entry, creds = parent.recv()
        window = parse_window("Saturday 2-4am", tz="UTC", now=NOW)
        print(
            f"Talend check benchmark: scale {args.scale}, {args.latency_ms:g} ms per response, "
            f"simulator in its own process, spec validation {'on' if args.validate else 'off'}"
        )
        print(
            f"now {NOW:%a %d %b %Y %H:%M} UTC; window {window.start:%a %d %b %H:%M}-"
            f"{window.end:%H:%M} UTC"
        )
        scenario("window only (lookback_hours = 0)", entry, creds, window, 0, args)
        if not args.skip_lookback:
            scenario("default look-back (lookback_hours = 12)", entry, creds, window, 12, args)
    finally:
        parent.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()


if __name__ == "__main__":
    main()
