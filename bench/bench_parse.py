"""How fast is the window grammar? Prints figures; asserts nothing.

    /work/venv/bin/python bench/bench_parse.py [--rounds N]

Parses ~40 representative texts of the first grammar and ~40 of version 2 (titles, US zone
words, city zones, ISO intervals, weekends, ordinal days, number words; accepted and
rejected) many times and prints, per set, the median, p95, p99 and worst time per call in
microseconds, then the cost of ``import bot.windows`` in a fresh interpreter (wall time of
the subprocess, and the module's own line from -X importtime).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

from bot.errors import WindowError
from bot.windows import parse_window, warm_up

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)  # Wed 18 Nov 2026 10:00 America/Los_Angeles
TZ = "America/Los_Angeles"

TEXTS = [
    "Saturday 2-4am",
    "Friday 11pm-1am",
    "tomorrow 1-3pm",
    "in 2 hours for 30 minutes",
    "Saturday 2-4am UTC",
    "Dec 24-26",
    "next Saturday 2-4am",
    "this sat 2am - sun 4am",
    "tomorrow 22:00 for 2h",
    "now until midnight",
    "now for 90m",
    "now for 1h30",
    "2-4am",
    "noon-2pm",
    "midnight to 3am",
    "11-1pm",
    "2pm-4",
    "1400-1600",
    "02:00-04:00",
    "Saturday midnight for 2h",
    "between 2 and 4am on Saturday",
    "from 10pm Friday to 2am Saturday",
    "day after tomorrow 1400-1600",
    "in 3 days 2-4am",
    "December 5th 2026 2:30pm-4:45pm",
    "5th of December 14:00-16:00",
    "12/25 1-2am",
    "2026-12-05T02:00Z to 2026-12-05T04:00Z",
    "2026-12-05T02:00:00+05:30 for 1h",
    "Saturday 2-4am Europe/Berlin",
    "Saturday 2-4am -0800",
    "Saturday 2-4am CEST",
    "Jan 4",
    # Rejections cost something too.
    "5/12 1-2am",
    "every Saturday 2-4am",
    "Saturday 2am",
    "Feb 30",
    "Saturday 2-4am Mars/Olympus",
    "today 2-4am",
    "hello world",
    "x" * 250,
]

V2_TEXTS = [
    "db failover tmrw 22:00-23:00 pls",
    "Planned maintenance: Saturday 02:00-04:00",
    "maint window sat 2-4am please",
    "can we do sat 2-4am?",
    "Saturday night 11pm-1am",
    "Sunday early 1-3",
    "tonite 11pm-1am",
    "Patch the payments db on Saturday 2-4am, thanks",
    "Sat 2-4am PT",
    "tomorrow 9-10am ET",
    "Saturday 2-4am Eastern time",
    "Saturday 2-4am London time",
    "Saturday 2-4am New York time",
    "Jul 18 2-4am PST",
    "Saturday 2-4am AEST",
    "Saturday 2-4am UTC+05:30",
    "2026-12-24T22:00Z/PT2H",
    "2026-12-24/P1D",
    "2026-12-24T22:00/2026-12-25T01:30",
    "this weekend",
    "over the weekend",
    "next weekend",
    "next week",
    "next week Tuesday 2-4am",
    "the 5th 2-4am",
    "first Sunday of January 2-6am",
    "the first Monday in February",
    "last Sunday of the month",
    "now for an hour and a half",
    "Saturday 2am for two hours",
    "in half an hour for forty-five minutes",
    "Fri 6pm to Mon 6am",
    "Sat 9pm-1",
    "11am-1",
    # Rejections of version 2.
    "Saturday 2-4am or Sunday",
    "not before Saturday 2am",
    "now until EOD",
    "Saturady 2-4am",
    "Saturday 2-4am Gotham time",
    "Dec 20 to Jan 5",
    "every Saturday 2-4am",
]


def _one_call(text: str) -> tuple[float, float]:
    """Wall and CPU microseconds of one parse. On a shared machine the wall figure's tail is
    mostly waiting for a core; the CPU figure (this thread's time) is the parser's own."""
    started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
    with contextlib.suppress(WindowError):
        parse_window(text, tz=TZ, now=NOW)
    return (time.perf_counter_ns() - started) / 1000, (time.thread_time_ns() - started_cpu) / 1000


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _import_cost() -> tuple[float, str, float]:
    """Import time in fresh interpreters, with bytecode cached as in a deployment.

    The bytecode goes to a temporary PYTHONPYCACHEPREFIX so nothing is written into the
    repository, and it is written even where PYTHONDONTWRITEBYTECODE is set.
    """
    code = "import bot.windows"
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        subprocess.run([sys.executable, "-c", code], check=True, env=env)  # fills the cache

        def median_ms(source: str, environment: dict[str, str]) -> float:
            runs = []
            for _ in range(7):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-c", source], check=True, env=environment)
                runs.append((time.perf_counter() - started) * 1000)
            return statistics.median(runs)

        cached = median_ms(code, env) - median_ms("pass", env)
        uncached_env = dict(env, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=cache + "-x")
        uncached = median_ms(code, uncached_env) - median_ms("pass", uncached_env)
        profile = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
    line = next(
        (row for row in profile.stderr.splitlines() if row.rstrip().endswith("| bot.windows")),
        "(bot.windows not listed)",
    )
    return cached, line.strip(), uncached


def _measure(label: str, texts: list[str], rounds: int) -> None:
    samples: list[float] = []
    cpu: list[float] = []
    per_text: dict[str, list[float]] = {text: [] for text in texts}
    for _ in range(rounds):
        for text in texts:
            micros, cpu_micros = _one_call(text)
            samples.append(micros)
            cpu.append(cpu_micros)
            per_text[text].append(micros)

    print(f"{label}: {len(texts)} texts x {rounds} rounds = {len(samples)} calls")
    print(f"  median: {statistics.median(samples):8.1f} us per call")
    print(f"  p95:    {_percentile(samples, 0.95):8.1f} us per call")
    print(f"  p99:    {_percentile(samples, 0.99):8.1f} us per call")
    print(f"  worst:  {max(samples):8.1f} us per call")
    print(
        f"  CPU time: median {statistics.median(cpu):.1f}, p99 {_percentile(cpu, 0.99):.1f}, "
        f"worst {max(cpu):.1f} us per call"
    )
    slowest = sorted(per_text.items(), key=lambda item: statistics.median(item[1]))[-3:]
    for text, values in reversed(slowest):
        print(f"  slowest median {statistics.median(values):7.1f} us  {text[:50]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="passes over the texts")
    args = parser.parse_args()

    first_started = time.perf_counter()
    warm_up()
    print(f"warm_up(): {(time.perf_counter() - first_started) * 1e6:.0f} us (first call)")

    for label, texts in (("version 1 texts", TEXTS), ("version 2 texts", V2_TEXTS)):
        _measure(label, texts, args.rounds)

    import_ms, line, uncached_ms = _import_cost()
    print(
        f"import bot.windows in a fresh interpreter: {import_ms:.1f} ms over bare startup "
        f"(bytecode cached; {uncached_ms:.1f} ms compiling from source)"
    )
    print(f"  -X importtime, cached (us self | cumulative | module): {line}")
    print("  (the cumulative figure includes bot.model, i.e. pydantic)")


if __name__ == "__main__":
    main()
