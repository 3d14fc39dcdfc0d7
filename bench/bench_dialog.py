"""Plan dialog benchmark (prints figures, asserts nothing).

Run from the repository root::

    python bench/bench_dialog.py [--latency-ms 40] [--rounds 10]

Everything on loopback in this process: the four sandbox schedulers (``--latency-ms`` added
to every vendor response), the fake Slack from ``tests/fakeslack.py`` and the real bot,
driven by signed requests (``tests/slackclient.py``).

Figures (median and p95 of ``--rounds``):
* ``/maintenance plan`` → ``views.open``: what Slack's 3-second trigger limit is measured
  against (the dialog opens before any scheduler is asked);
* → the form shown (``views.update``): every scheduler's tasks listed and the window checked;
* a scope change (a system picked) → the form redrawn: no scheduler is asked again;
* baseline, measured in the same run: ``check_window`` alone in-process against the same
  sandbox, the floor the form's first drawing adds its listing to.
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

from slackclient import SlackUser, SlackWorld  # noqa: E402

from bot.check import check_window, open_schedulers  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.sandbox import sandbox_config  # noqa: E402
from bot.windows import parse_window  # noqa: E402

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
TEXT = "Saturday 2-4am"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def line(name: str, values: list[float], baseline: float | None = None) -> str:
    median = statistics.median(values)
    ratio = f"  ×{median / baseline:5.2f} baseline" if baseline else ""
    return f"  {name:<34} median {ms(median)}  p95 {ms(pct(values, 0.95))}{ratio}"


def one_round(world: SlackWorld, person: SlackUser) -> tuple[float, float, float]:
    fake = world.fake
    opens = len(fake.calls_to("views.open", ok_only=True))
    updates = len(fake.calls_to("views.update", ok_only=True))
    started = time.monotonic()
    person.slash(f"/maintenance plan {TEXT}")
    (opened,) = fake.wait_calls("views.open", opens + 1, timeout=120)[opens:]
    (shown,) = fake.wait_calls("views.update", updates + 1, timeout=120)[updates:]
    redraw_at = time.monotonic()
    person.tick("systems", ["talend"])
    (redrawn,) = fake.wait_calls("views.update", updates + 2, timeout=120)[updates + 1 :]
    fake.views.closed(person.id)
    return opened.at - started, shown.at - started, redrawn.at - redraw_at


async def baseline(world: SlackWorld, rounds: int) -> list[float]:
    clock = ManualClock(NOW)
    window = parse_window(TEXT, tz="America/Los_Angeles", now=clock())
    schedulers = open_schedulers(sandbox_config(world.simulators), clock)
    try:
        await check_window(window, schedulers, clock)  # cold: logins, first connections
        warm = []
        for _ in range(rounds):
            started = time.monotonic()
            await check_window(window, schedulers, clock)
            warm.append(time.monotonic() - started)
        return warm
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = SlackWorld(Path(tmp), ManualClock(NOW), latency_ms=args.latency_ms)
        with world:
            alice = world.user("alice")
            one_round(world, alice)  # warm-up: logins, caches, first connections
            rounds = [one_round(world, alice) for _ in range(args.rounds)]
            floor = asyncio.run(baseline(world, args.rounds))
            vendors = ", ".join(s.vendor for s in world.simulators)
    opened, shown, redrawn = (list(x) for x in zip(*rounds, strict=True))
    print(f"schedulers: {vendors}; vendor latency {args.latency_ms:g} ms; loopback")
    print(f"plan dialog × {args.rounds}")
    base = statistics.median(floor)
    print(line("/maintenance plan → views.open", opened, base))
    print(line("→ form shown (views.update)", shown, base))
    print(line("scope change → form redrawn", redrawn, base))
    print(line("baseline: check_window in-process", floor))


if __name__ == "__main__":
    main()
