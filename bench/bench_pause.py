"""Pausing 200 tasks on one system (prints figures, asserts nothing).

    python bench/bench_pause.py [--tasks 200] [--windows 3] [--latency-ms 40]

The product path: windows of ``--tasks`` Talend tasks are planned and approved, then the
window clock's tick at each start pauses them (read state, pause, read back) and the tick
at each end resumes them. ``--windows`` back-to-back windows send more than Talend's
published 1,800 requests a minute, so the client's rate limiter has to hold them back.
Figures: wall time of each start and end tick, peak concurrency as the simulator saw it,
and the most requests the simulator received in any sliding 60 s: the proof that the
configured limit was respected, measured on the vendor's side of the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
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
from bot.sandbox import SandboxServer, sandbox_config
from bot.sandbox.talend import TalendSimulator
from bot.store import Store

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)


class Quiet:
    async def notify(
        self, window: WindowRecord, kind: str, text: str, *, actions: Sequence[str] = ()
    ) -> None:
        return None


def most_in_any_window(stamps: list[float], period: float = 60.0) -> int:
    stamps = sorted(stamps)
    return max(
        (bisect.bisect_left(stamps, s + period) - i for i, s in enumerate(stamps)), default=0
    )


async def main(task_count: int, windows: int, latency_ms: float) -> None:
    clock = ManualClock(NOW)
    sim = TalendSimulator(clock=clock, scale=2 * task_count)
    with SandboxServer([sim]), tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db", clock=clock)
        config = sandbox_config([sim])
        limit = config.schedulers["talend"].rate_per_minute
        (scheduler,) = open_schedulers(config, clock)
        assert scheduler.connector is not None
        connector = scheduler.connector
        try:
            tasks = [t for t in await connector.list_tasks() if not t.paused][:task_count]
            refs = [(t.ref, t.name) for t in tasks]
            window_clock = WindowClock(store, {"talend": connector}, clock, Quiet())
            sim.faults.latency_ms = latency_ms
            first_request = len(sim.requests)
            sim.peak_in_flight = 0
            starts: list[float] = []
            ends: list[float] = []
            paused = resumed = 0
            began = time.perf_counter()
            for n in range(windows):
                start = clock() + timedelta(minutes=2)
                record = plan_window(
                    store,
                    Window(start=start, end=start + timedelta(hours=1), tz="UTC", text=f"b{n}"),
                    refs,
                    requested_by="alice",
                    now=clock(),
                )
                approve_now(
                    store,
                    record.id,
                    requested_by="alice",
                    approved_by="bob",
                    policy=Policy(approvers=frozenset({"bob"})),
                    now=clock(),
                )
                clock.set(start)
                t0 = time.perf_counter()
                await window_clock.tick()
                starts.append(time.perf_counter() - t0)
                clock.set(start + timedelta(hours=1))
                t0 = time.perf_counter()
                await window_clock.tick()
                ends.append(time.perf_counter() - t0)
                rows = store.window_tasks(record.id)
                paused += sum(1 for r in rows if r.paused_at is not None)
                resumed += sum(1 for r in rows if r.state.value == "resumed")
                clock.advance(timedelta(minutes=5))
            total = time.perf_counter() - began
        finally:
            await connector.aclose()
            store.close()
    measured = sim.requests[first_request:]
    puts = [r for r in measured if r.method == "PUT"]
    print(
        f"{windows} windows x {len(tasks)} Talend tasks, {latency_ms:g} ms per response, "
        f"window clock concurrency {window_clock.concurrency}"
    )
    print(
        f"  start tick (pause {len(tasks)}):  {', '.join(f'{s:.2f}' for s in starts)} s"
        f"   median {statistics.median(starts):.2f} s"
    )
    print(
        f"  end tick (resume {len(tasks)}):   {', '.join(f'{s:.2f}' for s in ends)} s"
        f"   median {statistics.median(ends):.2f} s"
    )
    print(f"  paused {paused}, resumed {resumed} (of {windows * len(tasks)} each)")
    print(f"  requests: {len(measured)} in {total:.1f} s ({len(puts)} pause/resume PUTs)")
    print(f"  peak concurrency seen by the simulator: {sim.peak_in_flight}")
    print(
        f"  most requests in any 60 s: {most_in_any_window([r.received for r in measured])}"
        f" (configured limit {limit:g} a minute)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.windows, args.latency_ms))
