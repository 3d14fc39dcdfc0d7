"""How fast is reading a series, and expanding it? Prints figures; asserts nothing.

    .venv/bin/python bench/bench_series.py [--rounds N]

Reads the series texts of tests/test_series.py's forms and bad inputs (accepted and
rejected) ``--rounds`` times each and prints the median, p99 and worst time per
``parse_series`` call, the same for ``occurrences(count=3)``, and the cost of
``import bot.series`` in a fresh interpreter (its own line from -X importtime).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from bot.errors import WindowError
from bot.series import occurrences, parse_series
from bot.windows import warm_up

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)  # Wed 18 Nov 2026 10:00 America/Los_Angeles
TZ = "America/Los_Angeles"

TEXTS = [
    "every Saturday 2-4am",
    "Saturdays 11pm-1am",
    "weekdays 1-2am",
    "every weekday 1-2am",
    "nightly 1-2am",
    "every other Saturday 2-4am",
    "first Sunday of each month 2-6am",
    "the 1st of every month 00:00-02:00",
    "every 2 weeks on Sunday 1-3am",
    "every Saturday 2-4am until Mar 31",
    "every Saturday 2-4am for 6 weeks",
    "every Saturday 2-4am 10 times",
    "patch night every Saturday 22:00 for 2h Europe/Berlin",
    "daily 1-2am for 10 days",
    "every day 1am for 25h",
    "every 0 days 1-2am",
    "every 6 hours 00:00-00:30",
    "every year on the last Sunday of March 2:30-3am in Europe/Berlin",
    "every Saturday 2-4am until 2026-11-01",
    "every fortnight 2-4am",
]


def _figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"median {statistics.median(ordered) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, "
        f"worst {ordered[-1] * 1e3:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    warm_up()
    parses: list[float] = []
    expansions: list[float] = []
    slowest = ("", 0.0)
    for _ in range(args.rounds):
        for text in TEXTS:
            started = time.perf_counter()
            try:
                found = parse_series(text, tz=TZ, now=NOW)
            except WindowError:
                found = None
            took = time.perf_counter() - started
            parses.append(took)
            slowest = max(slowest, (text, took), key=lambda pair: pair[1])
            if found is not None:
                started = time.perf_counter()
                occurrences(found, after=NOW, count=3)
                expansions.append(time.perf_counter() - started)
    print(f"parse_series ({len(TEXTS)} texts x {args.rounds}): {_figures(parses)}")
    print(f"  slowest text: {slowest[0]!r}")
    print(f"occurrences(count=3): {_figures(expansions)}")
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import bot.series"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for line in out.splitlines():
        if line.rstrip().endswith(("bot.series", "dateutil.rrule", "bot.windows")):
            print(line)


if __name__ == "__main__":
    main()
