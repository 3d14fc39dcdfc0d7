"""What a check and a working clock tick cost on PostgreSQL against SQLite, in one run, with
real vendor calls (prints figures, asserts nothing).

    .venv/bin/python bench/bench_engine_costs.py [--rounds 20] [--postgres URL]

For each engine the bot is opened as ``maintbot serve --sandbox`` would open it (the four
simulators in this process, no added latency), on a fresh SQLite file or a fresh PostgreSQL
database created and dropped by the script. Then, ``--rounds`` times each, interleaved so
that drift on this shared machine falls on both engines alike:

* ``check``: ``Maintbot.check("tomorrow 2-4am")``, the four systems asked, the report
  stored and audited (what ``/maintenance check`` costs, minus Slack);
* ``start tick``: the tick that starts an approved window over two tasks of each system
  (8 pause calls, each claimed, audited before and after, confirmed);
* ``end tick``: the tick that ends it (8 resumes, the summary);
* ``idle tick``: a tick with 20 windows planned a day ahead and nothing due.

The bot's clock is a ManualClock moved by the script, so no tick waits for real time; the
vendor calls are real HTTP on 127.0.0.1. The store's share is the difference between the
engines: the vendor calls and the simulators cost the same on both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import pg  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.model import Task, Window, WindowState  # noqa: E402
from bot.service import Maintbot, open_maintbot  # noqa: E402

PHASES = ("check", "start tick", "end tick", "idle tick")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@asynccontextmanager
async def opened(location: str, clock: ManualClock) -> AsyncIterator[Maintbot]:
    for name in [k for k in os.environ if k.startswith(("SLACK_", "MAINTBOT_"))]:
        del os.environ[name]  # nothing from the developer's shell
    settings = Settings(maintbot_db=location, maintbot_tz="UTC")
    async with open_maintbot(settings, need="configured", sandbox=True, clock=clock) as bot:
        yield bot


async def usable_tasks(bot: Maintbot, per_system: int) -> list[Task]:
    """Tasks the bot can pause and resume: not paused, not a running batch."""
    tasks: list[Task] = []
    for scheduler in bot.schedulers:
        assert scheduler.connector is not None, scheduler.error
        listed = await scheduler.connector.list_tasks()
        fit = [
            t
            for t in sorted(listed, key=lambda t: t.id)
            if not t.paused
            and t.vendor_state not in ("RUNNING", "ABORTED", "")
            and (t.system != "pyramid" or t.vendor_state == "IDLE")
        ]
        tasks += fit[:per_system]
    return tasks


async def one_round(bot: Maintbot, clock: ManualClock, tasks: list[Task]) -> dict[str, float]:
    out: dict[str, float] = {}
    began = time.perf_counter()
    await bot.check("tomorrow 2-4am", by="bench", tz="UTC")
    out["check"] = time.perf_counter() - began

    start = clock() + timedelta(minutes=1)
    record = bot.store.create_window(
        Window(start=start, end=start + timedelta(minutes=10), tz="UTC", text="bench"),
        requested_by="alice",
        tasks=[(t.ref, t.name) for t in tasks],
        state=WindowState.APPROVED,
        approved_by="bob",
    )
    clock.set(start)
    began = time.perf_counter()
    report = await bot.tick()
    out["start tick"] = time.perf_counter() - began
    assert report.started == [record.id], report

    clock.set(start + timedelta(minutes=10))
    began = time.perf_counter()
    report = await bot.tick()
    out["end tick"] = time.perf_counter() - began
    assert bot.store.get_window(record.id).state is WindowState.COMPLETED, (
        bot.store.get_window(record.id).state,
        report,
    )

    clock.advance(timedelta(minutes=1))
    began = time.perf_counter()
    await bot.tick()
    out["idle tick"] = time.perf_counter() - began
    clock.advance(timedelta(minutes=1))
    return out


async def main_async(args: argparse.Namespace) -> None:
    if args.postgres:
        os.environ["MAINTBOT_TEST_POSTGRES"] = args.postgres
    figures: dict[str, dict[str, list[float]]] = {
        "sqlite": {p: [] for p in PHASES},
        "postgresql": {p: [] for p in PHASES},
    }
    with tempfile.TemporaryDirectory() as tmp, pg.fresh_database() as url:
        clocks = {
            "sqlite": ManualClock(datetime(2026, 11, 18, 18, 0, tzinfo=UTC)),
            "postgresql": ManualClock(datetime(2026, 11, 18, 18, 0, tzinfo=UTC)),
        }
        async with (
            opened(str(Path(tmp) / "bench.db"), clocks["sqlite"]) as lite,
            opened(url, clocks["postgresql"]) as post,
        ):
            bots = {"sqlite": lite, "postgresql": post}
            tasks = {name: await usable_tasks(bot, 2) for name, bot in bots.items()}
            for name, bot in bots.items():
                ahead = clocks[name]() + timedelta(days=1)
                for _ in range(20):
                    bot.store.create_window(
                        Window(start=ahead, end=ahead + timedelta(hours=1), tz="UTC"),
                        requested_by="alice",
                        tasks=[(t.ref, t.name) for t in tasks[name][:4]],
                        state=WindowState.APPROVED,
                        approved_by="bob",
                    )
                await one_round(bot, clocks[name], tasks[name])  # warm-up, not counted
            for _ in range(args.rounds):
                for name, bot in bots.items():
                    for phase, seconds in (await one_round(bot, clocks[name], tasks[name])).items():
                        figures[name][phase].append(seconds * 1000)
    count = len(tasks["sqlite"])
    print(
        f"engine costs: {args.rounds} rounds per engine, interleaved; {count} tasks over "
        f"{len({t.system for t in tasks['sqlite']})} systems; vendor calls real HTTP on loopback"
    )
    print(f"  {'phase':<11} {'engine':<11} {'median':>9} {'p95':>9} {'max':>9}")
    for phase in PHASES:
        for name in ("sqlite", "postgresql"):
            values = figures[name][phase]
            print(
                f"  {phase:<11} {name:<11} {statistics.median(values):7.1f}ms "
                f"{pct(values, 0.95):7.1f}ms {max(values):7.1f}ms"
            )
        ratio = statistics.median(figures["postgresql"][phase]) / statistics.median(
            figures["sqlite"][phase]
        )
        print(f"  {phase:<11} postgresql/sqlite (median) ×{ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres", default=None, help="server URL (default: as the tests)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
