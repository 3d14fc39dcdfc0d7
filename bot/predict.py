"""Predicted run times: from a task's past start instants, the pattern its scheduler most
likely follows, and the starts that pattern gives in a range. Pure: no I/O, no clock (the
caller passes ``now``).

Where a vendor exposes no next-run time (Pyramid, BMC) its history is all there is. A
prediction is never a vendor fact: every caller marks what it derives from one as predicted.

Patterns, tried on the *latest consistent stretch* of the history (walking back from the
newest run until a run no longer fits), so a schedule that changed last week predicts from
its new pattern once that has :data:`MIN_RUNS` runs, and says it changed until then:

* **wall clock**: the same local time each day in the scheduler's zone, on every day
  (daily), on one weekday (weekly) or on a set of weekdays (``on Mon-Fri``). DST-aware: a
  02:30 job stays 02:30 local across a clock change.
* **interval**: a constant interval, hourly or every N minutes (or N hours, N days),
  counted in elapsed time, which is how interval triggers count.

Each run may start up to :data:`TOLERANCE` from the pattern (jitter; shorter intervals
allow a fifth of the interval). Missed runs are tolerated: a gap of up to
:data:`MAX_MISSED_IN_A_ROW` missed runs in a row, and no more than a fifth of the runs the
pattern says were due (at least one).

Readings of the vendors' behaviour at clock changes, where no vendor documents its own:

* A local time that does not exist on a day (02:30 on a spring-forward day in
  Europe/Berlin or America/New_York) is predicted at the instant that time has with the
  offset before the change, i.e. 03:30 new time. RFC 5545 reads a nonexistent time that
  way, and it errs towards a run (a conflict to look at) rather than none. When learning,
  a run anywhere from the change to that instant counts as on time that day, so a vendor
  that fires at the change, or an hour late, does not break the pattern; one that skips
  the day is a missed run.
* A local time that happens twice (02:30 on Berlin's autumn day) is predicted once, at its
  first occurrence, as cron-like schedulers fire a wall-clock trigger once a day.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from bot.zones import lookup_zone

__all__ = [
    "MAX_MISSED_IN_A_ROW",
    "MIN_INTERVAL_RUNS",
    "MIN_RUNS",
    "MIN_WEEKLY_RUNS",
    "TOLERANCE",
    "Pattern",
    "Prediction",
    "predict",
]

MIN_RUNS = 4  # runs a daily or interval pattern needs before it predicts anything
MIN_WEEKLY_RUNS = 3  # a weekly one: three weeks of history
# An interval pattern asks for more: four starts in a row fit *some* interval within the
# jitter far more often than four fit one time of day. Measured on 5,000 histories of 17
# random starts within 3 days: an interval was "found" in 35 at four runs, 1 at five, none
# at six (tests/test_predict.py keeps a seeded sample of it). Periods of a day or more keep
# MIN_RUNS, as a time of day does.
MIN_INTERVAL_RUNS = 6
TOLERANCE = timedelta(minutes=5)  # how far a run may start from its pattern (jitter)
MAX_MISSED_IN_A_ROW = 2  # consecutive missed runs a pattern survives
MIN_INTERVAL = timedelta(minutes=1)
# The most starts one prediction lists (a 1-minute pattern over a long range stops there).
MAX_STARTS = 1000
# Instants outside these years are vendor garbage, not history.
_EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
_LATEST = datetime(2199, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Kind = Literal["daily", "weekly", "weekdays", "interval"]


def _zone(name: str) -> tzinfo:
    found = lookup_zone(name)
    if found is None:
        raise ValueError(f"{name!r} is not a time zone (e.g. Europe/Berlin, UTC or +05:30)")
    return found[0]


@dataclass(frozen=True)
class Pattern:
    """What a task's latest stretch of history follows.

    Wall-clock kinds use ``time_of_day`` in ``zone`` on ``weekdays`` (0 = Monday); the
    interval kind uses ``period`` from ``anchor`` (the fitted instant of its latest run).
    ``runs``: how many runs the pattern rests on; ``since``: the first of them;
    ``confidence``: 0-1, the share of due runs that happened, scaled down for short
    histories."""

    kind: Kind
    zone: str
    runs: int
    since: datetime
    last: datetime
    confidence: float
    time_of_day: time | None = None
    weekdays: frozenset[int] = frozenset(range(7))
    period: timedelta | None = None
    anchor: datetime | None = None

    @property
    def spacing(self) -> timedelta:
        """The usual time between two runs (for staleness and gaps)."""
        if self.period is not None:
            return self.period
        if self.kind == "weekly":
            return timedelta(days=7)
        return _DAY

    @property
    def summary(self) -> str:
        """``daily at 02:30``, ``weekly on Mon at 06:00``, ``on Mon, Tue at 06:00``,
        ``hourly``, ``every 15m``: the pattern in words (times in its own zone)."""
        if self.kind == "interval":
            assert self.period is not None
            return "hourly" if self.period == timedelta(hours=1) else f"every {_span(self.period)}"
        assert self.time_of_day is not None
        at = self.time_of_day.strftime("%H:%M")
        if self.kind == "daily":
            return f"daily at {at}"
        days = ", ".join(_WEEKDAYS[d] for d in sorted(self.weekdays))
        return f"weekly on {days} at {at}" if self.kind == "weekly" else f"on {days} at {at}"

    @property
    def word(self) -> str:
        """The pattern's kind in one or two words: ``daily``, ``weekly``, ``hourly``,
        ``every 15m``, ``Mon-Fri``-style weekday lists."""
        if self.kind == "interval":
            return self.summary
        if self.kind == "weekdays":
            return "on " + ", ".join(_WEEKDAYS[d] for d in sorted(self.weekdays))
        return self.kind

    def starts(self, start: datetime, end: datetime, *, limit: int = MAX_STARTS) -> list[datetime]:
        """The pattern's starts in ``[start, end)``, as UTC instants, at most ``limit``."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start or limit <= 0:
            return []
        if self.kind == "interval":
            assert self.period is not None
            assert self.anchor is not None
            first = math.ceil((start - self.anchor) / self.period)
            found: list[datetime] = []
            slot = first
            while len(found) < limit:
                at = self.anchor + slot * self.period
                if at >= end:
                    break
                if at >= start:  # float rounding in ceil may land a hair early
                    found.append(at)
                slot += 1
            return found
        assert self.time_of_day is not None
        zone = _zone(self.zone)
        day = start.astimezone(zone).date() - _DAY
        last_day = end.astimezone(zone).date() + _DAY
        found = []
        while day <= last_day and len(found) < limit:
            if day.weekday() in self.weekdays:
                at = _on(day, self.time_of_day, zone)
                if start <= at < end:
                    found.append(at)
            day += _DAY
        return found

    def next_after(self, moment: datetime) -> datetime | None:
        """The pattern's first start at or after ``moment`` (within a year)."""
        found = self.starts(moment, moment + timedelta(days=366), limit=1)
        return found[0] if found else None


@dataclass(frozen=True)
class Prediction:
    """A pattern, or why there is none (``reason``), from ``seen`` runs."""

    seen: int
    pattern: Pattern | None = None
    reason: str = ""

    def starts(self, start: datetime, end: datetime, *, limit: int = MAX_STARTS) -> list[datetime]:
        """Predicted starts in ``[start, end)`` (none without a pattern)."""
        return [] if self.pattern is None else self.pattern.starts(start, end, limit=limit)

    def describe(self, at: datetime | None = None, tz: str | None = None) -> str:
        """``likely 02:30 (daily, from 14 runs)`` for a start ``at`` (shown in ``tz``, else
        the pattern's zone), ``likely hourly (from 20 runs)`` without one, or ``time
        unknown: …`` with the reason when there is no pattern."""
        if self.pattern is None:
            return f"time unknown: {self.reason}"
        p = self.pattern
        if at is None:
            return f"likely {p.summary} (from {p.runs} runs)"
        shown = at.astimezone(_zone(tz or p.zone)).strftime("%H:%M")
        return f"likely {shown} ({self.basis})"

    @property
    def basis(self) -> str:
        """What a predicted start rests on: ``daily, from 14 runs``; empty without a
        pattern."""
        p = self.pattern
        return "" if p is None else f"{p.word}, from {p.runs} runs"


def predict(
    starts: Iterable[datetime],
    zone: str,
    now: datetime,
    *,
    min_runs: int = MIN_RUNS,
    tolerance: timedelta = TOLERANCE,
) -> Prediction:
    """The pattern in ``starts`` (aware instants, any order, duplicates ignored; those after
    ``now`` (give or take ``tolerance``) or outside sane years are dropped) for a scheduler
    whose wall clock is ``zone`` (an IANA name, ``UTC`` or an offset)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    # A vendor clock a little ahead of ours must not lose its newest run.
    cutoff = min(now.astimezone(UTC) + tolerance, _LATEST)
    starts_seen = list(starts)
    moments = sorted(
        {
            s.astimezone(UTC)
            for s in starts_seen
            if s.tzinfo is not None and _EARLIEST <= s.astimezone(UTC) <= cutoff
        }
    )
    tz = _zone(zone)
    seen = len(moments)
    if seen == 0:
        later = sum(1 for s in starts_seen if s.tzinfo is not None and s > cutoff)
        # A check replayed at an earlier time (--now) sees history from after it.
        after = f" ({_runs(later)} dated after the check's time)" if later else ""
        return Prediction(0, reason=f"no past runs seen{after}")
    if seen < min(min_runs, MIN_WEEKLY_RUNS):
        return Prediction(seen, reason=f"only {_runs(seen)} seen")
    best = _best(moments, zone, tz, min_runs, tolerance)
    if best is not None:
        silent = now - best.last
        # Past its usual spacing by more than the missed runs a pattern survives: it may
        # have been changed or stopped, and the history cannot say which.
        if silent > best.spacing * (MAX_MISSED_IN_A_ROW + 1) + tolerance:
            return Prediction(
                seen,
                reason=(
                    f"no run since {_day(best.last, tz)} although it ran {best.summary} "
                    f"({best.runs} runs) before"
                ),
            )
        return Prediction(seen, pattern=best)
    return Prediction(seen, reason=_why_not(moments, zone, tz, min_runs, tolerance))


# -- fitting ---------------------------------------------------------------------------------
# Below this median spacing a history is an interval or nothing (see _best).
_SUB_DAILY = timedelta(hours=6)


def _best(
    moments: Sequence[datetime], zone: str, tz: tzinfo, min_runs: int, tolerance: timedelta
) -> Pattern | None:
    spacing = [(b - a).total_seconds() for a, b in itertools.pairwise(moments[-8:])]
    if len(spacing) > 1 and statistics.median(spacing) < _SUB_DAILY.total_seconds():
        # Newest runs mostly hours apart fit no once-a-day pattern (the pattern is judged
        # by the newest runs, so a schedule changed to daily still gets its wall-clock
        # try), and trying one was two thirds of the fitting time at scale (2,300 Pyramid
        # schedules, mostly hourly or faster).
        return _interval(moments, zone, min_runs, tolerance)
    wall = _wall_clock(moments, zone, tz, min_runs, tolerance)
    interval = _interval(moments, zone, min_runs, tolerance)
    if wall is None or interval is None:
        return wall or interval
    # A day-long (or longer) interval is usually a wall-clock trigger seen between two
    # clock changes; the wall clock keeps it right across the next one.
    if interval.runs > wall.runs + 1:
        return interval
    return wall


def _on(day: date, at: time, zone: tzinfo) -> datetime:
    """``at`` local on ``day`` as a UTC instant: a nonexistent time with the offset before
    the change (03:30 for a skipped 02:30), a repeated one at its first occurrence."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _fits_day(run: datetime, day: date, at: time, zone: tzinfo, tolerance: timedelta) -> bool:
    expected = _on(day, at, zone)
    if abs(run - expected) <= tolerance:
        return True
    # The time may not exist that day: from the change itself to the shifted instant.
    earliest = datetime.combine(day, at, tzinfo=zone).replace(fold=1).astimezone(UTC)
    if earliest == expected:
        return False
    low, high = sorted((earliest, expected))
    return low - tolerance <= run <= high + tolerance


def _time_of_day(moments: Sequence[datetime], tz: tzinfo) -> time:
    """The typical local time of ``moments``, robust to midnight wrapping (23:58 and
    00:02 average to 00:00, not noon)."""
    minutes = [_minute_of_day(m, tz) for m in moments]
    ref = minutes[-1]
    offsets = [((m - ref + 720) % 1440) - 720 for m in minutes]
    typical = round(ref + statistics.median(offsets)) % 1440
    return time(typical // 60, typical % 60)


def _minute_of_day(moment: datetime, tz: tzinfo) -> float:
    local = moment.astimezone(tz)
    return local.hour * 60 + local.minute + local.second / 60


def _nominal_day(moment: datetime, at: time, tz: tzinfo) -> date:
    """The local day whose ``at`` run ``moment`` most likely is (a 23:58 job starting at
    00:01 belongs to the day before)."""
    local = moment.astimezone(tz).replace(tzinfo=None)
    shifted = local - timedelta(hours=at.hour, minutes=at.minute) + timedelta(hours=12)
    return shifted.date()


def _wall_clock(
    moments: Sequence[datetime], zone: str, tz: tzinfo, min_runs: int, tolerance: timedelta
) -> Pattern | None:
    # The local time from the newest runs, leaving room for a day or two off (DST days).
    at = _time_of_day(moments[-7:], tz)

    nominal = {run: _nominal_day(run, at, tz) for run in moments}

    def fits(run: datetime, kept: list[datetime]) -> bool:
        day = nominal[run]
        if kept:
            newer = nominal[kept[-1]]
            if day >= newer or (newer - day).days > 7 * (MAX_MISSED_IN_A_ROW + 1):
                return False
        return _fits_day(run, day, at, tz, tolerance)

    stretch = _stretch(moments, fits)
    days = [nominal[run] for run in stretch]
    if len(stretch) < 2:
        return None
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    if all(g % 7 == 0 for g in gaps):
        weekly = _weekly(days, stretch, zone, at)
        if weekly is not None:
            return weekly
    # Daily or some weekdays: cut at the first gap longer than a week, newest side kept.
    cut = len(gaps)
    while cut > 0 and gaps[cut - 1] <= 7:
        cut -= 1
    days, stretch = days[cut:], stretch[cut:]
    if len(stretch) < min_runs:
        return None
    weekdays = _weekdays(days)
    due = [d for d in _dates(days[0], days[-1]) if d.weekday() in weekdays]
    seen = set(days)
    if not _few_missed(due, seen, per_gap=MAX_MISSED_IN_A_ROW):
        return None
    kind: Kind = "daily" if len(weekdays) == 7 else "weekdays"
    if len(weekdays) == 1:
        kind = "weekly"
    at = _time_of_day(stretch, tz)
    return Pattern(
        kind=kind,
        zone=zone,
        runs=len(stretch),
        since=stretch[0],
        last=stretch[-1],
        confidence=_confidence(len(stretch), len(due)),
        time_of_day=at,
        weekdays=weekdays,
    )


def _stretch(
    moments: Sequence[datetime], fits: Callable[[datetime, list[datetime]], bool]
) -> list[datetime]:
    """The latest consistent stretch, oldest first: walking back from the newest run, each
    run that ``fits`` (given the runs kept so far, newest first) is kept. One run off the
    pattern between two that fit is read as someone's manual run and passed over (at most
    one in ten); two in a row end the stretch, as a changed schedule does. The newest run
    itself may be such a run: the stretch from the one before it wins when it is longer."""

    def walk(runs: Sequence[datetime]) -> list[datetime]:
        kept: list[datetime] = []
        off, passed = 0, 0
        for run in reversed(runs):
            if fits(run, kept):
                kept.append(run)
                passed += off
                off = 0
            elif not kept:
                break
            else:
                off += 1
                if off > 1 or passed + off > max(1, len(kept) // 10):
                    break
        kept.reverse()
        return kept

    best = walk(moments)
    # Only a stretch cut short by its newest run can gain from leaving that run out.
    if len(moments) > 2 and len(best) < len(moments) - 1:
        other = walk(moments[:-1])
        if len(other) > len(best) + 1:
            return other
    return best


def _weekly(days: list[date], stretch: list[datetime], zone: str, at: time) -> Pattern | None:
    if len(stretch) < MIN_WEEKLY_RUNS:
        return None
    due = (days[-1] - days[0]).days // 7 + 1
    if not _missed_ok(due - len(stretch), due):
        return None
    return Pattern(
        kind="weekly",
        zone=zone,
        runs=len(stretch),
        since=stretch[0],
        last=stretch[-1],
        confidence=_confidence(len(stretch), due),
        time_of_day=at,
        weekdays=frozenset({days[-1].weekday()}),
    )


def _weekdays(days: Sequence[date]) -> frozenset[int]:
    """The weekdays the job runs on: those seen, plus any not seen that came round fewer
    than twice in the stretch (one miss is not yet a day off; predicting a run errs safe)."""
    seen = {d.weekday() for d in days}
    came = [0] * 7
    for d in _dates(days[0], days[-1]):
        came[d.weekday()] += 1
    return frozenset(w for w in range(7) if w in seen or came[w] < 2)


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _few_missed(due: Sequence[date], seen: set[date], *, per_gap: int) -> bool:
    in_a_row = 0
    for day in due:
        in_a_row = 0 if day in seen else in_a_row + 1
        if in_a_row > per_gap:
            return False
    return _missed_ok(len([d for d in due if d not in seen]), len(due))


def _missed_ok(missed: int, due: int) -> bool:
    return missed <= max(1, due // 5)


def _interval(
    moments: Sequence[datetime], zone: str, min_runs: int, tolerance: timedelta
) -> Pattern | None:
    diffs = [b - a for a, b in itertools.pairwise(moments)]
    recent = [d for d in diffs[-5:] if d >= MIN_INTERVAL]
    if not recent:
        return None
    period = timedelta(seconds=statistics.median(d.total_seconds() for d in recent))
    slack = min(tolerance, period / 5)

    def fits(run: datetime, kept: list[datetime]) -> bool:
        if not kept:
            return True
        diff = kept[-1] - run
        count = round(diff / period)
        return 1 <= count <= MAX_MISSED_IN_A_ROW + 1 and abs(diff - count * period) <= 2 * slack

    stretch = _stretch(moments, fits)
    runs = len(stretch)
    # Sub-daily intervals are where chance fits live (hours apart, tolerance in minutes);
    # a period of days is held to the same count as a time of day.
    needed = max(min_runs, MIN_INTERVAL_RUNS) if period < timedelta(days=1) else min_runs
    if runs < needed:
        return None
    xs = [0]
    for a, b in itertools.pairwise(stretch):
        xs.append(xs[-1] + round((b - a) / period))
    if not _missed_ok(xs[-1] + 1 - runs, xs[-1] + 1):
        return None
    # Least squares of start against slot: the period and phase the whole stretch agrees on.
    base = stretch[0]
    ys = [(t - base).total_seconds() for t in stretch]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    fitted = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    if not fitted >= MIN_INTERVAL.total_seconds():
        return None
    step = _rounded(timedelta(seconds=round(fitted)))
    anchor = base + timedelta(seconds=round(mean_y + fitted * (xs[-1] - mean_x)))
    return Pattern(
        kind="interval",
        zone=zone,
        runs=runs,
        since=stretch[0],
        last=stretch[-1],
        confidence=_confidence(runs, xs[-1] + 1),
        period=step,
        anchor=anchor,
    )


def _rounded(step: timedelta) -> timedelta:
    """A fitted interval to the minute when it is within jitter of one (a 59m 58s fit is
    an hourly trigger), else to the second."""
    minutes = round(step.total_seconds() / 60)
    whole = timedelta(minutes=minutes)
    return whole if minutes and abs(step - whole) <= timedelta(seconds=30) else step


def _confidence(runs: int, due: int) -> float:
    coverage = runs / max(due, runs)
    depth = min(1.0, runs / 10)
    return round(coverage * (0.6 + 0.4 * depth), 2)


# -- saying why not --------------------------------------------------------------------------
def _why_not(
    moments: Sequence[datetime], zone: str, tz: tzinfo, min_runs: int, tolerance: timedelta
) -> str:
    seen = len(moments)
    # A pattern in the older part, broken by the newest runs: the schedule changed.
    for recent in range(1, min(seen - 1, min_runs)):
        older = moments[:-recent]
        before = _best(older, zone, tz, min_runs, tolerance)
        if before is not None and before.last == older[-1]:
            changed = moments[-recent]
            return (
                f"the pattern changed on {_day(changed, tz)} (it ran {before.summary} before); "
                f"only {_runs(recent)} since, {min_runs} needed"
            )
    if seen < min_runs:
        return f"only {_runs(seen)} seen, {min_runs} needed"
    diffs = [b - a for a, b in itertools.pairwise(moments)]
    low, high = min(diffs), max(diffs)
    if seen < MIN_INTERVAL_RUNS and high < timedelta(days=1) and high - low <= 2 * tolerance:
        return (
            f"only {_runs(seen)} seen, every {_span(low)} or so; an interval of less than a day "
            f"needs {MIN_INTERVAL_RUNS}"
        )
    return f"no clear pattern in {_runs(seen)} (intervals {_span(low)} to {_span(high)})"


def _span(delta: timedelta) -> str:
    seconds = round(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes = (seconds + 30) // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if mins:
        parts.append(f"{mins}m")
    return " ".join(parts)


def _runs(count: int) -> str:
    return "1 run" if count == 1 else f"{count} runs"


def _day(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%a %d %b %Y")
