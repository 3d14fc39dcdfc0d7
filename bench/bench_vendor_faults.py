"""The vendor-fault matrix as figures: every fault x every vendor through the real check,
and the memory of a check against an endless body (prints, asserts nothing).

    python bench/bench_vendor_faults.py [--faults MODULE:NAME ...] [--only TEXT]

Each case is one ``check_window`` over the four simulators with one of them broken; the
outcome is what a person reading the report would conclude (see ``tests/fault_matrix.py``):
``clear error``, ``crash`` (the whole check raised), ``wrong ok`` (the broken system
reported ok with other conflicts), ``unclear error``, ``contained`` (an exception nobody
foresaw, caught by the check's last line of defence), ``others hurt`` or ``tolerated``.
Goal: 0 crashes and 0 wrong ok.

``--faults`` adds more lists of ``FaultSpec`` (e.g. schema faults: ``--faults
my_module:SCHEMA_FAULTS``, importable from ``tests/``) to the structural ones.

Memory: for each vendor, a child process runs a fault-free check (the baseline), then the
same check with that vendor streaming an endless body, and reports its peak RSS before and
after (VmHWM) and the tracemalloc peak of the second check. The cap is per answer: a
connector that has several listing calls in flight reads up to the cap on each. The
simulators run in this process, so their buffers are not charged to the client.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import multiprocessing
import resource
import sys
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fault_matrix import (  # noqa: E402 - after the path to tests/
    DATA_PATHS,
    STRUCTURAL_FAULTS,
    CaseResult,
    FaultSpec,
    Outcome,
    check_once,
    conflict_keys,
    matrix_config,
    run_case,
)

from bot.clock import ManualClock  # noqa: E402
from bot.config import DEFAULT_MAX_RESPONSE_MB, Config  # noqa: E402
from bot.sandbox import SandboxServer, make_simulators  # noqa: E402
from bot.sandbox.base import Simulator  # noqa: E402

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
SHORT = {
    Outcome.CLEAR: "ok-err",
    Outcome.CRASH: "CRASH",
    Outcome.WRONG_OK: "WRONG-OK",
    Outcome.UNCLEAR: "unclear",
    Outcome.UNEXPECTED: "contained",
    Outcome.OTHERS_HURT: "OTHERS",
    Outcome.TOLERATED: "tolerated",
}


def load_specs(names: list[str]) -> list[FaultSpec]:
    specs = list(STRUCTURAL_FAULTS)
    for name in names:
        module, _, attr = name.partition(":")
        specs.extend(getattr(importlib.import_module(module), attr))
    return specs


async def matrix(
    specs: list[FaultSpec], sims: list[Simulator], clock: ManualClock
) -> list[CaseResult]:
    report, _ = await check_once(matrix_config(sims, None), clock)
    if not all(s.ok for s in report.systems):
        raise SystemExit(f"the fault-free check failed: {report.systems}")
    baseline = conflict_keys(report)
    results = []
    for spec in specs:
        for vendor in DATA_PATHS:
            results.append(await run_case(spec, sims, vendor, baseline, clock))
    return results


def print_matrix(results: list[CaseResult]) -> None:
    vendors = list(DATA_PATHS)
    faults = list(dict.fromkeys(r.fault for r in results))
    width = max(len(f) for f in faults) + 2
    print(f"{'fault':<{width}}" + "".join(f"{v:>11}" for v in vendors))
    for fault in faults:
        row = {r.vendor: r for r in results if r.fault == fault}
        print(f"{fault:<{width}}" + "".join(f"{SHORT[row[v].outcome]:>11}" for v in vendors))
    counts = Counter(r.outcome for r in results)
    print()
    print(
        f"cases {len(results)}: crashes {counts[Outcome.CRASH]}, "
        f"wrong ok {counts[Outcome.WRONG_OK]}, others hurt {counts[Outcome.OTHERS_HURT]}, "
        f"unclear {counts[Outcome.UNCLEAR]}, contained {counts[Outcome.UNEXPECTED]}, "
        f"clear errors {counts[Outcome.CLEAR]}, tolerated {counts[Outcome.TOLERATED]}"
    )
    for r in results:
        if r.outcome not in (Outcome.CLEAR, Outcome.TOLERATED):
            print(f"  {r.fault} / {r.vendor}: {r.outcome}: {r.detail} | {r.error}")


def _rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ``ru_maxrss``: Linux carries the latter across
    exec, so a spawned child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_child(config: dict[str, Any], conn: Connection) -> None:
    """Child: a fault-free check, then (once the parent has broken the vendor) the same
    check against the endless body, with peak RSS and tracemalloc figures."""
    clock = ManualClock(NOW)
    cfg = Config.model_validate(config)
    asyncio.run(check_once(cfg, clock))
    before = _rss_mb()
    conn.send("ready")
    conn.recv()
    tracemalloc.start()
    started = time.perf_counter()
    report, schedulers = asyncio.run(check_once(cfg, clock))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    (result,) = report.systems
    http = schedulers[0].connector.http if schedulers[0].connector else None
    conn.send(
        {
            "rss_before": before,
            "rss_after": _rss_mb(),
            "traced_peak": peak / 2**20,
            "read": (http.bytes_read if http else 0) / 2**20,
            "seconds": elapsed,
            "error": result.error,
        }
    )


def memory(sims: list[Simulator], cap_mb: float) -> None:
    ctx = multiprocessing.get_context("spawn")
    print(f"\nendless body, one vendor per check, max_response_mb = {cap_mb:g}")
    print(f"{'vendor':<9}{'RSS before':>11}{'RSS peak':>10}{'traced peak':>13}{'read':>8}  error")
    for sim in sims:
        config = matrix_config([sim], sim.vendor, max_response_mb=cap_mb, faulty_deadline=30.0)
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=measure_child, args=(config.model_dump(), child))
        proc.start()
        try:
            assert parent.recv() == "ready"
            sim.faults.inject("endless", path_contains=DATA_PATHS[sim.vendor], times=10**6)
            parent.send("go")
            figures = parent.recv()
        finally:
            sim.faults.clear()
            proc.join(timeout=60)
        print(
            f"{sim.vendor:<9}{figures['rss_before']:>9.0f}MB{figures['rss_after']:>8.0f}MB"
            f"{figures['traced_peak']:>11.1f}MB{figures['read']:>6.1f}MB  "
            f"{(figures['error'] or '')[:70]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", action="append", default=[], help="MODULE:NAME of specs")
    parser.add_argument("--only", help="run the faults whose name contains this")
    args = parser.parse_args()
    specs = [s for s in load_specs(args.faults) if not args.only or args.only in s.name]
    clock = ManualClock(NOW)
    sims = make_simulators(clock=clock)
    with SandboxServer(sims):
        started = time.perf_counter()
        results = asyncio.run(matrix(specs, sims, clock))
        print(f"{len(results)} checks in {time.perf_counter() - started:.0f} s\n")
        print_matrix(results)
        memory(sims, DEFAULT_MAX_RESPONSE_MB)


if __name__ == "__main__":
    main()
