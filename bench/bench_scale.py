"""Scale benchmark: one check at enterprise sizes, this tree against a baseline in one run.

    python bench/bench_scale.py [--scales 1,10,30,100] [--latency-ms 0,40]
                                [--vendors talend,pyramid] [--baseline /tmp/perf-base]

For every scale and latency the simulators (of this tree) run in a child process, as
``maintbot sandbox --scale N --latency-ms L`` would, so their CPU is not charged to the
client. Each code tree is then measured in a child process of its own (``PYTHONPATH``
pointing at it), against the same simulators, one after the other: each vendor alone, then
all four at once, as ``maintbot check "Saturday 2-4am"`` does it, with the default 10 s
deadline (``--deadline``). Printed per system:

* wall time of the check, and whether it answered (a system past its deadline is "late");
* requests sent (every attempt, as the client saw it);
* client CPU per request: the client process's CPU time over the check / requests;
* pace (this tree's adaptive concurrency): limit at the end / peak / halvings;
* depth: the longest chain of requests each sent after the previous one's answer was read,
  which is how many round trips the check waited for one after another;
* stall: the longest the event loop was held by one piece of work (a 5 ms timer's worst
  lateness), which in ``serve`` delays every Slack ack and every other vendor's answer;
* look-back: how far before the window each system was searched. A tree whose check
  learns run lengths (``check_window(lengths=...)``) is given a store of its own, so the
  warm-up checks (each system alone) look back in full and the measured ones as far as
  the longest run needs (``--no-store``: none, every check in full).

Nothing is asserted; the figures are for the notes of issue 13.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
ALL = "all four"


# -- the simulators' process ------------------------------------------------------------------
def serve(scale: int, latency_ms: float, vendors: list[str], conn: Connection) -> None:
    """Child process: run the simulators until the parent closes the pipe; send back each
    one's config table and credentials as plain data (any tree's Config can read them)."""
    from bot.sandbox import SandboxServer, make_simulators

    sims = make_simulators(scale=scale, vendors=vendors)
    for sim in sims:
        sim.faults.latency_ms = latency_ms
    with SandboxServer(sims):
        conn.send({sim.vendor: (sim.config_entry(), sim.credentials()) for sim in sims})
        with contextlib.suppress(EOFError):
            conn.recv()


# -- a tree's client process ------------------------------------------------------------------
def longest_chain(intervals: list[tuple[float, float]]) -> int:
    """The most requests that ran strictly one after another: each started after the
    previous one's body was read (a chain of non-overlapping intervals, by end time)."""
    if not intervals:
        return 0
    ordered = sorted(intervals, key=lambda iv: iv[1])
    ends: list[float] = []
    best: list[int] = []  # best[i]: longest chain ending at or before ordered[i]
    for start, end in ordered:
        before = bisect.bisect_right(ends, start)
        depth = 1 + (best[before - 1] if before else 0)
        ends.append(end)
        best.append(max(depth, best[-1] if best else 0))
    return best[-1]


def client(payload: dict[str, Any]) -> dict[str, Any]:
    """Measure the tree on ``sys.path`` against the simulators ``payload`` describes."""
    import inspect
    import tempfile

    import bot

    try:
        from bot.runtime import tune_gc  # what maintbot's command line applies
    except ImportError:  # a tree from before it
        pass
    else:
        tune_gc()
    from bot.check import check_window, open_schedulers
    from bot.clock import system_clock
    from bot.config import Config
    from bot.connectors import base
    from bot.windows import parse_window

    intervals: dict[str, list[tuple[float, float]]] = defaultdict(list)
    exchange = base.VendorHttp._exchange

    async def recorded(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await exchange(self, request, *args, **kwargs)
        finally:
            intervals[self.system].append((started, time.perf_counter()))

    base.VendorHttp._exchange = recorded  # type: ignore[method-assign]

    tables: dict[str, tuple[dict[str, Any], dict[str, str]]] = payload["tables"]
    learns = "lengths" in inspect.signature(check_window).parameters and payload["store"]
    extra: dict[str, Any] = {}
    if learns:
        from bot.store import Store

        extra["lengths"] = Store(Path(tempfile.mkdtemp(prefix="bench-scale-")) / "bench.db")

    def config(vendors: list[str]) -> Config:
        env: dict[str, str] = {}
        for v in vendors:
            env.update(tables[v][1])
        return Config.model_validate(
            {
                "maintbot": {"deadline_seconds": payload["deadline"]},
                "schedulers": {v: tables[v][0] for v in vendors},
                "extra_env": env,
            }
        )

    async def one(vendors: list[str]) -> dict[str, Any]:
        intervals.clear()
        clock = system_clock
        window = parse_window("Saturday 2-4am", tz="America/Los_Angeles", now=clock())
        schedulers = open_schedulers(config(vendors), clock)
        lags: list[float] = []

        async def sample_lag() -> None:
            # How late a 5 ms timer fires: the longest stretch the loop could not serve
            # anything else (in serve, a Slack ack or another vendor's answer).
            while True:
                due = time.perf_counter() + 0.005
                await asyncio.sleep(0.005)
                lags.append(max(0.0, time.perf_counter() - due))

        sampler = asyncio.create_task(sample_lag())
        try:
            cpu = time.process_time()
            started = time.perf_counter()
            report = await check_window(window, schedulers, clock, **extra)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu
            sampler.cancel()
            pace = {}
            for s in schedulers:
                controller = getattr(s.connector.http, "concurrency", None) if s.connector else None
                if controller is not None:
                    pace[s.name] = (
                        f"{controller.limit:.0f}/{controller.peak:.0f}/{controller.halvings}"
                    )
        finally:
            sampler.cancel()
            await asyncio.gather(*(s.aclose() for s in schedulers))
        return {
            "pace": pace,
            "wall": wall,
            "cpu": cpu,
            "ok": {s.system: s.ok for s in report.systems},
            "errors": {s.system: s.error for s in report.systems if not s.ok},
            "requests": {v: len(intervals[v]) for v in vendors},
            "depth": {v: longest_chain(intervals[v]) for v in vendors},
            "stall_ms": max(lags, default=0.0) * 1000,
            "lookback": {
                s.system: getattr(s, "lookback", None) and s.lookback.total_seconds() / 3600
                for s in report.systems
            },
        }

    async def run() -> dict[str, Any]:
        vendors: list[str] = list(tables)
        if payload["warmup"]:
            # Each alone, so each answers within its deadline: first logins, imports, the
            # simulators' caches, and (a tree that learns run lengths) the full look-back the
            # measured checks learn from.
            for v in vendors:
                await one([v])
        results = {v: await one([v]) for v in vendors}
        if len(vendors) > 1:
            results[ALL] = await one(vendors)
        return results

    results = asyncio.run(run())
    return {"tree": str(Path(bot.__file__).resolve().parent.parent), "results": results}


def measure_tree(tree: Path, payload: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--client"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"client for {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["tree"]) != tree.resolve():
        raise SystemExit(f"client imported bot from {result['tree']}, not {tree}")
    return result


# -- the parent -------------------------------------------------------------------------------
@contextlib.contextmanager
def simulators(
    scale: int, latency_ms: float, vendors: list[str]
) -> Iterator[dict[str, tuple[dict[str, Any], dict[str, str]]]]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(
        target=serve, args=(scale, latency_ms, vendors, child), daemon=True
    )
    process.start()
    try:
        yield parent.recv()
    finally:
        # A message, not only EOF: a forked child holds a copy of this end too.
        with contextlib.suppress(OSError):
            parent.send("stop")
        parent.close()
        process.join(timeout=30)


def rows(label: str, scale: int, latency: float, results: dict[str, Any]) -> Iterator[str]:
    for system, r in results.items():
        requests = sum(r["requests"].values())
        ok = all(r["ok"].values())
        late = [s for s, good in r["ok"].items() if not good]
        status = "ok" if ok else "FAILED " + ",".join(late)
        cpu_per = r["cpu"] / requests * 1000 if requests else 0.0
        depth = max(r["depth"].values()) if r["depth"] else 0
        spans = {s: h for s, h in r.get("lookback", {}).items() if h is not None}
        yield (
            f"{label:8} {scale:>5} {latency:>4g} {system:9} {r['wall']:8.2f} {requests:>7} "
            f"{cpu_per:9.3f} {depth:>6} {r.get('stall_ms', 0.0):8.0f}  {status}"
            + (f"  pace {r['pace']}" if r.get("pace") else "")
            + (
                "  look-back " + ",".join(f"{s} {h:.1f}h" for s, h in spans.items())
                if spans
                else ""
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,30,100")
    parser.add_argument("--latency-ms", default="0,40")
    parser.add_argument("--vendors", default="talend,pyramid,bmc,huawei")
    parser.add_argument("--baseline", type=Path, help="a worktree of the commit to compare")
    parser.add_argument("--deadline", type=float, default=10.0)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--no-store", action="store_true", help="no learnt look-back")
    parser.add_argument("--baseline-only", action="store_true", help="measure no other tree")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(client(json.load(sys.stdin))))
        return

    trees = [] if args.baseline_only else [("this", HERE)]
    if args.baseline:
        trees.insert(0, ("baseline", args.baseline.resolve()))
    vendors = args.vendors.split(",")
    print(
        f"{'tree':8} {'scale':>5} {'ms':>4} {'system':9} {'wall s':>8} {'reqs':>7} "
        f"{'cpu ms/req':>9} {'depth':>6} {'stall ms':>8}  status"
    )
    for scale in (int(s) for s in args.scales.split(",")):
        for latency in (float(v) for v in args.latency_ms.split(",")):
            with simulators(scale, latency, vendors) as tables:
                payload = {
                    "tables": tables,
                    "deadline": args.deadline,
                    "warmup": not args.no_warmup,
                    "store": not args.no_store,
                }
                for label, tree in trees:
                    result = measure_tree(tree, payload)
                    for line in rows(label, scale, latency, result["results"]):
                        print(line, flush=True)
                    for r in result["results"].values():
                        for system, error in r["errors"].items():
                            print(f"         {system}: {error[:150]}", flush=True)


if __name__ == "__main__":
    main()
