"""Suggest a quieter slot: candidate windows of one length inside a range, ranked by what
they would disturb. Pure: no I/O, ``now`` is passed in, every datetime is aware.

The input is one conflict report over the whole range, made with ``each_run`` (every run
in the range a conflict of its own, each with its expected duration where history gives
one; see :func:`bot.conflicts.find_conflicts`). From it:

Slots
    Candidate starts are wall-clock times in the range's zone on a grid of
    :data:`FINE_STEP` (15 minutes) for slots shorter than an hour and :data:`COARSE_STEP`
    (30 minutes) for an hour or more: nobody plans a 4-hour window at 02:15, and the coarser
    grid halves the slots to rank. A slot lasts the length in elapsed time, so one across a
    DST change ends at a different wall-clock minute than it would on another night. A wall
    time that does not exist (the hour the clocks skip) is never a start; one that happens
    twice (the hour they repeat) gives two slots, one per instant. Slots start no earlier
    than ``now``, end no later than the range, and overlap no planned, approved or active
    window.

Score
    Each run with a known time that a slot would disturb adds its weight, times the share
    of the slot it takes:

    - a run that *starts inside* the slot takes all of it (share 1);
    - a run *still going when the slot opens* takes the part of the slot it overlaps,
      ``min(run end, slot end) - slot start``, as a share of the slot's length; only runs
      with a known duration (or running now with one) can be still going.

    A run's weight is ``1 + its expected hours`` (capped at :data:`DURATION_CAP`; unknown
    counts as 0 h): disturbing a 6-hour ETL costs more than a 5-minute refresh. A run whose
    time is predicted from history rather than given by the vendor (``predicted`` on the
    conflict, where the connectors set it) weighs :data:`PREDICTED_SHARE` of that. The sum
    is multiplied by ``1 + (systems - 1) / 2`` for the number of systems disturbed: each
    extra team to coordinate with costs half as much again. Tasks already paused are shown
    but weigh nothing (they would not run).

    Conflicts with no time (``may fire``, or running now with no known end) would be the
    same for every slot: they cannot tell slots apart, so they add nothing to any score and
    are listed once, for all of them. Systems that did not answer are listed too: no slot
    is quiet on their account.

    Ties (equal scores, exactly: the sums are kept in integers of microseconds) go to the
    earliest start.

Cost
    One sweep over the candidates in time order against the runs' events sorted once
    (each run becomes at most three events where its share of a slot changes: a constant
    piece and one linear piece, summed as ``C + S * start``), so ranking k slots against n
    runs costs O((n + k) log n), not k × n.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Final

from bot.defaults import DEFAULT_TOP, MAX_TOP
from bot.errors import WindowError
from bot.format import instant, length
from bot.model import Conflict, ConflictKind, ConflictReport, SystemResult, Window
from bot.windows import DEFAULT_MAX_LENGTH, parse_length, resolve_zone

__all__ = [
    "COARSE_STEP",
    "DEFAULT_RANGE",
    "DEFAULT_TOP",
    "DURATION_CAP",
    "FINE_STEP",
    "MAX_RANGE",
    "MAX_TOP",
    "PREDICTED_SHARE",
    "Candidate",
    "Hit",
    "How",
    "Ranking",
    "candidate_report",
    "check_length",
    "check_range",
    "rank",
    "slots",
    "split_request",
    "step_for",
    "window_text",
]

MAX_RANGE: Final = timedelta(days=31)
"""The longest range one suggestion looks at: it is one check, and a month of every run of
every scheduler is already the biggest check the bot makes."""

DEFAULT_RANGE: Final = timedelta(days=7)
"""The range when none is given: the next seven days from now."""


FINE_STEP: Final = timedelta(minutes=15)
COARSE_STEP: Final = timedelta(minutes=30)
_COARSE_FROM: Final = timedelta(hours=1)

DURATION_CAP: Final = timedelta(hours=12)
PREDICTED_SHARE: Final = 0.5

_LENGTH_EXAMPLE: Final = 'e.g. "2h" or "45m"'
_RANGE_EXAMPLE: Final = 'e.g. "tomorrow 00:00 for 24h" or "Saturday 00:00 to Monday 00:00"'
_MICRO: Final = timedelta(microseconds=1)
_HOUR: Final = timedelta(hours=1) // _MICRO
# A DST change moves the wall clock by at most two hours; walking the wall-clock grid this
# far past the last start's wall time reaches every instant a repeated hour can give.
_WALL_MARGIN: Final = timedelta(hours=3)
# How many leading words of a Slack request may be its length ("1 hour 30 minutes").
_LENGTH_WORDS: Final = 4


class How(StrEnum):
    """How a run disturbs a slot."""

    STARTS = "starts_inside"
    RUNNING = "still_running"


@dataclass(frozen=True)
class Hit:
    """One task's disturbance of one slot: its first run there (``conflict``), how, how
    many of its runs start inside, and how much of the slot a still-going run overlaps."""

    conflict: Conflict
    how: How
    runs: int = 1
    overlap: timedelta = timedelta(0)

    @property
    def predicted(self) -> bool:
        return _predicted(self.conflict)


@dataclass(frozen=True)
class Candidate:
    """A slot: its instants, the text that plans exactly it, its score and what it hits."""

    window: Window
    score: float
    hits: tuple[Hit, ...]

    @property
    def start(self) -> datetime:
        return self.window.start

    @property
    def end(self) -> datetime:
        return self.window.end

    @property
    def active(self) -> tuple[Hit, ...]:
        """What the slot would disturb (tasks already paused left out)."""
        return tuple(h for h in self.hits if not h.conflict.paused)

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(sorted({h.conflict.system for h in self.active}))


@dataclass(frozen=True)
class Ranking:
    """The best slots, best first, and what no slot's score accounts for."""

    range: Window
    length: timedelta
    step: timedelta
    candidates: tuple[Candidate, ...]
    # Slots ranked, and slots left out because they overlap a planned window.
    considered: int
    excluded: int
    # Conflicts with no time: the same for every slot, so they rank none.
    unknown: tuple[Conflict, ...]
    # Systems that did not answer: no slot accounts for their runs.
    unchecked: tuple[SystemResult, ...]


def step_for(slot: timedelta) -> timedelta:
    """The grid slots start on: 30 minutes for an hour or more, 15 below."""
    return COARSE_STEP if slot >= _COARSE_FROM else FINE_STEP


def check_length(slot: timedelta) -> None:
    """Refuse a length no window can have (:class:`WindowError`, with one that works)."""
    if slot <= timedelta(0):
        raise WindowError(f"A slot must last more than zero; give a length, {_LENGTH_EXAMPLE}.")
    if slot > DEFAULT_MAX_LENGTH:
        raise WindowError(
            f"A {length(slot)} slot is longer than a maintenance window can be "
            f"({length(DEFAULT_MAX_LENGTH)}); give a shorter length, {_LENGTH_EXAMPLE}."
        )


def check_range(within: Window, slot: timedelta, now: datetime) -> Window:
    """The part of ``within`` still ahead of ``now`` (slots start no earlier), refused
    when it is too long to check at once or too short to hold one ``slot``."""
    check_length(slot)
    span = within.end - within.start
    if span > MAX_RANGE:
        raise WindowError(
            f"The range {_span_text(within)} lasts {length(span)}; suggestions look at most "
            f"{length(MAX_RANGE)} ahead (one check covers the whole range). Give a shorter "
            f"range, {_RANGE_EXAMPLE}."
        )
    start = max(within.start, now)
    if within.end - start < slot:
        ahead = within.end - start
        what = (
            "is already over"
            if ahead <= timedelta(0)
            else f"has only {length(ahead)} left"
            if start > within.start
            else f"lasts only {length(ahead)}"
        )
        raise WindowError(
            f"The range {_span_text(within)} {what}, shorter than the {length(slot)} slot "
            f"asked for. Give a longer range, {_RANGE_EXAMPLE}, or a shorter length."
        )
    return within.model_copy(update={"start": start})


def _span_text(window: Window) -> str:
    return f"{instant(window.start, window.tz)} – {instant(window.end, window.tz)}"


def slots(within: Window, slot: timedelta, now: datetime) -> list[datetime]:
    """Every start on the wall-clock grid of ``within.tz`` (see :func:`step_for`) from
    ``now`` on whose slot ends inside ``within``, as UTC instants in order. Wall times the
    clocks skip are not starts; wall times they repeat are two."""
    zone = resolve_zone(within.tz)
    step = step_for(slot)
    first = max(within.start, now)
    last = within.end - slot
    if last < first:
        return []
    step_minutes = step // timedelta(minutes=1)
    local = first.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    minute = local.hour * 60 + local.minute
    wall = local - timedelta(minutes=minute % step_minutes)
    stop = last.astimezone(zone).replace(tzinfo=None) + _WALL_MARGIN
    found: set[datetime] = set()
    while wall <= stop:
        for moment in _instants(wall, zone):
            if first <= moment <= last:
                found.add(moment)
        wall += step
    return sorted(found)


def _instants(wall: datetime, zone: tzinfo) -> list[datetime]:
    """The instants a naive wall time names in ``zone``: none in a gap, two in a repeat."""
    result = []
    for fold in (0, 1):
        moment = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if moment.astimezone(zone).replace(tzinfo=None) == wall and moment not in result:
            result.append(moment)
    return result


def window_text(start: datetime, slot: timedelta, tz: str) -> str:
    """A window text the grammar reads back, in ``tz``, as exactly ``start`` for ``slot``:
    the wall-clock date and time, or the instant with its offset when that wall time
    happens twice (the repeated hour of a DST change)."""
    zone = resolve_zone(tz)
    local = start.astimezone(zone)
    minutes = slot // timedelta(minutes=1)
    hours, rest = divmod(minutes, 60)
    span = f"{hours}h{rest:02d}" if hours and rest else f"{hours}h" if hours else f"{rest}m"
    if len(_instants(local.replace(tzinfo=None), zone)) > 1:
        return f"{local.isoformat(timespec='minutes')} for {span}"
    return f"{local:%Y-%m-%d %H:%M} for {span}"


def split_request(text: str) -> tuple[str, str]:
    """``2h this week`` → ``("2h", "this week")``: the length is the longest run of up to
    four leading words that reads as a length, the range is the rest (empty: the default
    range). Raises :class:`WindowError` when no leading words are a length."""
    words = text.split()
    if not words:
        raise WindowError(
            "Give the slot's length first, then the range, e.g. `suggest 2h` or "
            "`suggest 2h tomorrow 00:00 for 24h`."
        )
    for count in range(min(len(words), _LENGTH_WORDS), 0, -1):
        head = " ".join(words[:count])
        try:
            parse_length(head)
        except WindowError:
            continue
        return head, " ".join(words[count:])
    shown = words[0] if len(words[0]) <= 40 else words[0][:40] + "…"
    raise WindowError(
        f"I can't read \"{shown}\" as the slot's length; the length comes first, then the "
        f"range, e.g. `suggest 2h tomorrow 00:00 for 24h` or `suggest 45m`."
    )


def _predicted(conflict: Conflict) -> bool:
    return conflict.predicted


@dataclass(frozen=True)
class _Run:
    """A conflict with a known time, in microseconds from the range's start."""

    at: int
    reach: int  # expected duration (0: unknown, so it can only start inside a slot)
    conflict: Conflict
    predicted: bool


def _known_runs(report: ConflictReport, origin: datetime) -> tuple[list[_Run], list[Conflict]]:
    """The runs with a known time, and the conflicts whose time (or end) is unknown."""
    runs: list[_Run] = []
    unknown: list[Conflict] = []
    for conflict in report.conflicts:
        if conflict.at is None or conflict.kind is ConflictKind.MAY_FIRE:
            unknown.append(conflict)
            continue
        duration = conflict.expected_duration
        if conflict.kind is ConflictKind.RUNNING_AT_START and duration is None:
            unknown.append(conflict)  # running now, and nothing says when it ends
            continue
        at = (conflict.at - origin) // _MICRO
        reach = max(duration // _MICRO, 0) if duration is not None else 0
        if at + reach <= 0 and at < 0:
            continue  # finished before the range opens
        runs.append(_Run(at, reach, conflict, _predicted(conflict)))
    runs.sort(key=lambda r: r.at)
    return runs, unknown


def _weight(run: _Run) -> int:
    """``1 + expected hours`` (capped), in microseconds, doubled so a predicted run's
    half stays a whole number."""
    share = 1 if run.predicted else 2
    return share * (_HOUR + min(run.reach, DURATION_CAP // _MICRO))


# An event: (position, rank, dC, dS, system, d_touch). It applies to a slot starting at
# ``s`` when ``(position, rank) < (s, 1)``: rank 0 from ``s == position`` on, rank 1 only
# after it, which is how the open and closed ends of each piece are told apart.
_Event = tuple[int, int, int, int, int, int]


def _events(runs: Sequence[_Run], span: int, systems: dict[str, int]) -> list[_Event]:
    """Where each active run's contribution to a slot starting at ``s`` changes (at most
    three events a run).

    Starts inside: ``s`` in ``(t - span, t]``, constant ``W * span``. Still going: ``s``
    in ``(t, t + d)``, overlap ``min(t + d, s + span) - s``: ``W * span`` up to
    ``t + d - span``, then ``W * (t + d - s)`` (a linear piece: ``C += W (t + d)``,
    ``S -= W``)."""
    events: list[_Event] = []
    for run in runs:
        if run.conflict.paused:
            continue
        t, d, w = run.at, run.reach, _weight(run)
        system = systems.setdefault(run.conflict.system, len(systems))
        full = w * span
        # Pieces that meet at one position are one event.
        events.append((t - span, 1, full, 0, system, 1))
        if d <= 0:
            events.append((t, 1, -full, 0, system, -1))
            continue
        # From ``edge`` on, the constant becomes the linear piece (at ``t`` itself when the
        # run ends inside the slot that opens just after it starts).
        edge = max(t, t + d - span)
        events.append((edge, 1, w * (t + d) - full, -w, system, 0))
        events.append((t + d, 0, -w * (t + d), w, system, -1))
    events.sort()
    return events


def _merged(planned: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(planned):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _free(
    starts: Sequence[datetime], slot: timedelta, planned: Sequence[tuple[datetime, datetime]]
) -> list[datetime]:
    """``starts`` whose slot shares no time with a planned window."""
    merged = _merged(planned)
    ends = [end for _, end in merged]
    free = []
    for start in starts:
        i = bisect_left(ends, start + _MICRO)  # the first planned window ending after start
        if i < len(merged) and merged[i][0] < start + slot:
            continue
        free.append(start)
    return free


def rank(
    report: ConflictReport,
    slot: timedelta,
    *,
    now: datetime,
    planned: Sequence[tuple[datetime, datetime]] = (),
    top: int = DEFAULT_TOP,
) -> Ranking:
    """The ``top`` slots of ``slot`` in ``report``'s window (its range), least disturbing
    first (see the module's docstring for the score), each with what it would disturb.
    ``planned``: the open windows' (start, end), which no slot may overlap. Raises
    :class:`WindowError` when the range cannot hold a slot or every slot is taken."""
    within = check_range(report.window, slot, now)
    every = slots(within, slot, now)
    free = _free(every, slot, planned)
    if not free:
        raise WindowError(
            f"Every {length(slot)} slot in {_span_text(within)} overlaps a window already "
            f"planned, approved or active (`list` shows them). Give another range, "
            f"{_RANGE_EXAMPLE}, or a shorter length."
        )
    origin = report.window.start
    runs, unknown = _known_runs(report, origin)
    span = slot // _MICRO
    systems: dict[str, int] = {}
    events = _events(runs, span, systems)
    touching = [0] * len(systems)
    touched = 0
    constant = slope = 0
    i = 0
    scored: list[tuple[int, int, datetime]] = []
    for start in free:
        s = (start - origin) // _MICRO
        while i < len(events) and (events[i][0] < s or (events[i][0] == s and events[i][1] == 0)):
            _, _, dc, ds, system, dt = events[i]
            constant += dc
            slope += ds
            if dt:
                before = touching[system]
                touching[system] += dt
                touched += (touching[system] > 0) - (before > 0)
            i += 1
        scored.append(((constant + slope * s) * (touched + 1), s, start))
    best = heapq.nsmallest(top, scored, key=lambda row: (row[0], row[1]))
    starts = [r.at for r in runs]
    longest = max((r.reach for r in runs), default=0)
    # The score's integers are in µs of weight times µs of slot, doubled twice (a
    # predicted run's half, and the systems' halves).
    scale = 4 * _HOUR * span
    return Ranking(
        range=within,
        length=slot,
        step=step_for(slot),
        candidates=tuple(
            Candidate(
                window=Window(
                    start=start,
                    end=start + slot,
                    tz=within.tz,
                    text=window_text(start, slot, within.tz),
                ),
                score=value / scale,
                hits=_hits(runs, starts, longest, s, span),
            )
            for value, s, start in best
        ),
        considered=len(free),
        excluded=len(every) - len(free),
        unknown=tuple(unknown),
        unchecked=tuple(r for r in report.systems if not r.ok),
    )


def _hits(
    runs: Sequence[_Run], starts: Sequence[int], longest: int, s: int, span: int
) -> tuple[Hit, ...]:
    """What a slot starting at ``s`` disturbs, one hit per task and way, in time order
    (``starts``: the runs' positions, which ``runs`` is sorted by; ``longest``: the
    longest run, how far back a run still going may have started)."""
    found: dict[tuple[str, How], Hit] = {}
    for run in runs[bisect_left(starts, s - longest) : bisect_left(starts, s + span)]:
        if run.at >= s:
            how, overlap = How.STARTS, timedelta(0)
        elif run.at + run.reach > s:
            how = How.RUNNING
            overlap = (min(run.at + run.reach, s + span) - s) * _MICRO
        else:
            continue
        key = (run.conflict.ref.key, how)
        seen = found.get(key)
        if seen is None:
            found[key] = Hit(run.conflict, how, 1, overlap)
        elif how is How.STARTS:
            found[key] = Hit(seen.conflict, how, seen.runs + 1, seen.overlap)
        elif overlap > seen.overlap:
            found[key] = Hit(run.conflict, how, 1, overlap)
    return tuple(
        sorted(found.values(), key=lambda h: h.conflict.at or datetime.max.replace(tzinfo=UTC))
    )


def candidate_report(
    ranking: Ranking, candidate: Candidate, report: ConflictReport
) -> ConflictReport:
    """The conflict report a check of ``candidate``'s window would give, from the range's:
    what the plan dialog and ``report`` read when a person plans this slot."""
    conflicts: list[Conflict] = []
    for hit in candidate.hits:
        c = hit.conflict
        if hit.how is How.STARTS:
            detail = f"{hit.runs} runs in the window" if hit.runs > 1 else ""
            conflicts.append(
                c.model_copy(update={"kind": ConflictKind.STARTS_IN_WINDOW, "detail": detail})
            )
        elif c.kind is ConflictKind.RUNNING_AT_START:
            conflicts.append(c)
        else:
            took = length(c.expected_duration or timedelta(0))
            conflicts.append(
                c.model_copy(
                    update={
                        "kind": ConflictKind.MAY_OVERLAP,
                        "detail": f"usually runs {took} (p90), so it would still be running "
                        "when the window opens",
                    }
                )
            )
    conflicts.extend(ranking.unknown)
    return ConflictReport(
        window=candidate.window,
        checked_at=report.checked_at,
        systems=report.systems,
        conflicts=tuple(conflicts),
    )
