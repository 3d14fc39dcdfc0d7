"""Replicas soak: three ``maintbot serve`` processes (or ``--mode worker``) on one PostgreSQL
database, the leader SIGKILLed at a random moment of each window's start and of its end,
many rounds (prints figures, asserts nothing).

Run from the repository root (PostgreSQL at 127.0.0.1:5432 with trust auth, as on these
machines, or MAINTBOT_TEST_POSTGRES)::

    .venv/bin/python bench/soak_replicas.py [--rounds 5] [--seed N] [--ticks 200]
        [--mode serve|worker]

The scenario is tests/test_replicas.py's ``run_replicas``: per round two windows over two
tasks of each of the four simulators (in-process), 1.5 s ahead and 5 s long, a 2 s clock
lease, 1 s per-call deadlines (2 s claim leases), a clock turn of 0.2 s; after each kill a
new replica is started. ``serve`` replicas alert to a fake Slack on loopback and are each
sent a signed ``/maintenance status`` once per round, leader and standbys alike. Takeover
time runs from the SIGKILL to the moment the store shows
another owner's ``window-clock`` lease (polled every 10 ms), so its bound is the lease
plus one turn plus the poll.

Then the cost of one idle clock turn (the lease renewed, then a tick that finds nothing due
among 20 approved windows of 4 tasks a day ahead) on PostgreSQL and on a SQLite file, in
the same run, both on this host (PostgreSQL's figures are loopback round trips).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import pg  # noqa: E402
from test_replicas import run_replicas  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.lifecycle import LogNotifier, WindowClock  # noqa: E402
from bot.lifecycle.loop import LEAD  # noqa: E402
from bot.model import TaskKind, TaskRef, Window, WindowState  # noqa: E402
from bot.store import Store  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def tick_cost(location: str, n: int) -> list[float]:
    """Milliseconds per idle clock turn (try_lead + tick) on the store at ``location``."""
    clock = ManualClock(datetime(2026, 11, 18, 18, 0, tzinfo=UTC))
    store = Store(location, clock=clock)
    try:
        start = clock() + timedelta(days=1)
        for w in range(20):
            refs = [TaskRef(system="talend", kind=TaskKind.TASK, id=f"w{w}t{i}") for i in range(4)]
            store.create_window(
                Window(start=start, end=start + timedelta(hours=1), tz="UTC"),
                requested_by="alice",
                tasks=[(r, r.id) for r in refs],
                state=WindowState.APPROVED,
                approved_by="bob",
            )
        wclock = WindowClock(store, {}, clock, LogNotifier())
        times = []
        for _ in range(n):
            began = time.perf_counter()
            assert store.try_lead(LEAD, wclock.owner, now=clock(), ttl=timedelta(seconds=30))
            await wclock.tick()
            times.append((time.perf_counter() - began) * 1000)
            clock.advance(timedelta(seconds=1))
        await wclock.aclose()
        return times
    finally:
        store.close()


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, pg.fresh_database() as url:
        out = await run_replicas(Path(tmp), url, rounds=args.rounds, seed=args.seed, mode=args.mode)
    print(
        f"replicas soak: {out.rounds} rounds, 3 `maintbot {args.mode}` replicas on PostgreSQL, "
        f"{out.tasks} tasks (4 systems), {out.seconds:.0f} s"
    )
    print(
        f"  leader kills survived: {out.kills} ({out.kills_mid_claim} while it held a task "
        f"claim; {out.recovered} pauses/resumes taken over from a dead clock's claim, "
        f"{out.lost_claims} lost-claim audits)"
    )
    print(f"  windows run: {out.windows}; final states: {dict(out.final_states)}")
    print(f"  tasks left paused: {out.left_paused}; window rows not resumed: {out.unresumed_rows}")
    print(
        f"  double calls: {out.double_calls} (tasks called twice for one window: "
        f"{out.tasks_called_twice}); vendor writes {out.writes} for "
        f"{2 * out.tasks * out.rounds} expected"
    )
    t = out.takeovers
    print(
        f"  takeover after SIGKILL (kill → another owner's lease in the store): median "
        f"{statistics.median(t):.2f} s, p95 {pct(t, 0.95):.2f} s, max {max(t):.2f} s "
        "(bound: lease 2 s + turn 0.2 s)"
    )
    print(f"  owners named in the audit (pause/resume/finish): {len(out.owners)}")
    print(f"  tracebacks in the replicas' output: {out.tracebacks}")
    if args.mode == "serve":
        roots = sorted(set(out.thread_roots.values()))
        print(
            f"  Slack: {out.slack_answered} of {out.slack_asked} signed commands answered "
            f"(leader and standbys); thread roots per window in the alerts channel: {roots}; "
            f"{out.alert_posts} alert messages there"
        )
    with tempfile.TemporaryDirectory() as tmp, pg.fresh_database() as url:
        sqlite = await tick_cost(str(Path(tmp) / "tick.db"), args.ticks)
        postgres = await tick_cost(url, args.ticks)
    print(f"idle clock turn (try_lead + tick, 20 open windows), {args.ticks} turns each:")
    for name, values in (("sqlite", sqlite), ("postgresql", postgres)):
        print(
            f"  {name:<10} median {statistics.median(values):6.2f} ms  "
            f"p95 {pct(values, 0.95):6.2f} ms  max {max(values):6.2f} ms"
        )
    ratio = statistics.median(postgres) / statistics.median(sqlite)
    print(f"  postgresql/sqlite (median): ×{ratio:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261211)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--mode", choices=("serve", "worker"), default="serve")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
