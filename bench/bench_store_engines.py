"""What do a few store operations cost on SQLite and on PostgreSQL, in one run? Prints
median and p95 per operation and engine, and the ratio PostgreSQL/SQLite; asserts nothing.

    .venv/bin/python bench/bench_store_engines.py [--n 300] [--postgres URL]

SQLite is a fresh file in a temporary directory (WAL, synchronous=NORMAL as the store sets
it); PostgreSQL a fresh database on ``--postgres`` (default: MAINTBOT_TEST_POSTGRES, else
postgresql://postgres@127.0.0.1:5432/postgres), created and dropped by the script. Both on
this host, so PostgreSQL's figures are loopback round trips, not a network's. The open-window
read is done with 50 windows of 5 tasks planned, what the clock reads every tick.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bot.clock import ManualClock
from bot.model import PlannedTaskState, TaskKind, TaskRef, Window
from bot.store import Store

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
WINDOW = Window(
    start=NOW + timedelta(days=1),
    end=NOW + timedelta(days=1, hours=2),
    tz="UTC",
    text="tomorrow 2h",
)


def _times(fn: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        began = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - began) * 1000)
    return out


def measure(store: Store, n: int) -> dict[str, list[float]]:
    clock = store.clock
    assert isinstance(clock, ManualClock)
    refs = [TaskRef(system="talend", kind=TaskKind.TASK, id=f"t{i}") for i in range(5)]
    for _ in range(50):
        store.create_window(WINDOW, requested_by="alice", tasks=[(r, r.id) for r in refs])
    rows = []

    def plan(i: int) -> None:
        ref = TaskRef(system="talend", kind=TaskKind.TASK, id=f"p{i}")
        record = store.create_window(WINDOW, requested_by="alice", tasks=[(ref, "n")])
        rows.extend(store.window_tasks(record.id))

    def claim(i: int) -> None:
        store.claim_task(
            rows[i],
            PlannedTaskState.PAUSING,
            owner="bench",
            now=NOW,
            lease_until=NOW + timedelta(minutes=2),
        )

    def settle(i: int) -> None:
        store.transition_task(
            rows[i].id,
            PlannedTaskState.PAUSING,
            PlannedTaskState.PAUSED,
            owner="bench",
            paused_at=NOW,
        )

    results = {
        "create_window (1 task)": _times(plan, n),
        "claim_task (exclusive)": _times(claim, n),
        "transition_task (CAS)": _times(settle, n),
        "audit (append)": _times(lambda i: store.audit("bench", "pause", "ok", task_id=str(i)), n),
        "claim_alert (insert once)": _times(lambda i: store.claim_alert(f"w{i}", "start"), n),
        "open_windows (tick read)": _times(lambda i: store.open_windows(), max(20, n // 10)),
    }
    return results


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "MAINTBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    name = f"maintbot_bench_{secrets.token_hex(4)}"
    target = urlunsplit(urlsplit(args.postgres)._replace(path=f"/{name}"))
    with psycopg.connect(args.postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    figures: dict[str, dict[str, list[float]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for engine, location in (("sqlite", str(Path(tmp) / "b.db")), ("postgresql", target)):
                store = Store(location, clock=ManualClock(NOW))
                try:
                    figures[engine] = measure(store, args.n)
                finally:
                    store.close()
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{'operation':<27} {'sqlite med/p95 ms':>18} {'postgresql med/p95 ms':>22} {'ratio':>6}")
    for op, lite in figures["sqlite"].items():
        pgs = figures["postgresql"][op]
        ratio = statistics.median(pgs) / statistics.median(lite)
        print(
            f"{op:<27} {statistics.median(lite):>8.3f} /{_p95(lite):>7.3f} "
            f"{statistics.median(pgs):>11.3f} /{_p95(pgs):>7.3f} {ratio:>7.1f}x"
        )


if __name__ == "__main__":
    main()
