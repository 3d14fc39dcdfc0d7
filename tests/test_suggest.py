"""``suggest``'s domain (bot/suggest.py) is pure: these tests feed it a range's conflict
report and check the slots, their ranking and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conflicts import SystemSnapshot, find_conflicts
from bot.errors import WindowError
from bot.model import (
    Conflict,
    ConflictKind,
    ConflictReport,
    Run,
    RunningNow,
    SystemResult,
    Task,
    TaskKind,
    TaskRef,
    Window,
)
from bot.suggest import (
    COARSE_STEP,
    DURATION_CAP,
    FINE_STEP,
    How,
    Ranking,
    candidate_report,
    check_range,
    rank,
    slots,
    split_request,
    step_for,
    window_text,
)
from bot.windows import parse_window

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
H = timedelta(hours=1)


def utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ok(system: str) -> SystemResult:
    return SystemResult(system=system, vendor=system, label=system.title(), ok=True)


def conflict(
    task_id: str,
    at: datetime | None,
    *,
    system: str = "talend",
    kind: ConflictKind = ConflictKind.STARTS_IN_WINDOW,
    duration: timedelta | None = None,
    paused: bool = False,
) -> Conflict:
    return Conflict(
        system=system,
        task_id=task_id,
        task_kind=TaskKind.TASK,
        task_name=f"Task {task_id}",
        kind=kind,
        at=at,
        paused=paused,
        expected_duration=duration,
    )


def report(
    start: datetime,
    end: datetime,
    conflicts: list[Conflict],
    *,
    tz: str = "UTC",
    systems: tuple[SystemResult, ...] | None = None,
) -> ConflictReport:
    names = sorted({c.system for c in conflicts}) or ["talend"]
    return ConflictReport(
        window=Window(start=start, end=end, tz=tz, text="range"),
        checked_at=NOW,
        systems=systems if systems is not None else tuple(ok(n) for n in names),
        conflicts=tuple(conflicts),
    )


def starts(ranking: Ranking) -> list[datetime]:
    return [c.start for c in ranking.candidates]


# -- ranking ----------------------------------------------------------------------------------


def test_the_quiet_slot_wins_and_each_candidate_carries_its_conflicts() -> None:
    # 00:00–08:00 UTC, 2h slots: runs at 00:30, 01:00 and 05:00 leave 02:00–04:00 (and
    # later ones) untouched; the earliest untouched slot is first.
    r = report(
        utc(21, 0),
        utc(21, 8),
        [conflict("a", utc(21, 0, 30)), conflict("b", utc(21, 1)), conflict("c", utc(21, 5))],
    )
    ranking = rank(r, 2 * H, now=NOW)
    assert starts(ranking) == [utc(21, 1, 30), utc(21, 2), utc(21, 2, 30)]
    best = ranking.candidates[0]
    assert best.score == 0
    assert best.hits == ()
    assert [c.score for c in ranking.candidates] == sorted(c.score for c in ranking.candidates)
    assert ranking.step == COARSE_STEP
    # Every candidate's conflicts are the runs inside it.
    worst = rank(r, 2 * H, now=NOW, top=100).candidates[-1]
    assert {h.conflict.task_id for h in worst.hits} == {"a", "b"}
    assert all(h.how is How.STARTS for h in worst.hits)


def test_a_run_still_going_weighs_the_share_of_the_slot_it_overlaps() -> None:
    # A 3h run from 00:00: the 01:00–03:00 slot is overlapped for 2h (all of it), the
    # 02:00–04:00 slot for 1h (half), the 03:00 slot not at all.
    r = report(utc(21, 0), utc(21, 6), [conflict("etl", utc(21, 0), duration=3 * H)])
    ranking = rank(r, 2 * H, now=NOW, top=100)
    by_start = {c.start: c for c in ranking.candidates}
    full = by_start[utc(21, 1)]
    half = by_start[utc(21, 2)]
    assert by_start[utc(21, 3)].score == 0
    assert half.score == pytest.approx(full.score / 2)
    assert half.hits[0].how is How.RUNNING
    assert half.hits[0].overlap == H
    # Starting inside weighs as much as being overlapped for the whole slot; the weight is
    # 1 + 3 expected hours.
    assert by_start[utc(21, 0)].score == full.score == 4


def test_long_runs_weigh_more_capped_at_the_duration_cap() -> None:
    r = report(
        utc(21, 0),
        utc(21, 4),
        [
            conflict("short", utc(21, 0), duration=timedelta(minutes=6)),
            conflict("long", utc(21, 2, 30), duration=DURATION_CAP * 3),
        ],
    )
    scores = {
        c.start: c.score for c in rank(r, 30 * timedelta(minutes=1), now=NOW, top=100).candidates
    }
    assert scores[utc(21, 0)] == pytest.approx(1.1)
    assert scores[utc(21, 2, 30)] == pytest.approx(1 + DURATION_CAP / H)


def test_predicted_runs_weigh_half_and_a_vendor_time_weighs_whole() -> None:
    vendor = conflict("v", utc(21, 0))
    moved = vendor.model_copy(update={"task_id": "p", "predicted": True, "at": utc(21, 2)})
    r = report(utc(21, 0), utc(21, 4), [vendor, moved])
    scores = {c.start: c.score for c in rank(r, H, now=NOW, top=100).candidates}
    assert scores[utc(21, 0)] == 1
    assert scores[utc(21, 2)] == 0.5
    best = rank(r, H, now=NOW, top=100).candidates
    assert next(h.predicted for c in best for h in c.hits if h.conflict.task_id == "p") is True


def test_more_systems_touched_ranks_lower() -> None:
    # Two runs in one system at 00:00 against one run in each of two systems at 02:00.
    r = report(
        utc(21, 0),
        utc(21, 4),
        [
            conflict("a", utc(21, 0)),
            conflict("b", utc(21, 0, 10)),
            conflict("c", utc(21, 2), system="bmc"),
            conflict("d", utc(21, 2, 10), system="pyramid"),
        ],
    )
    scores = {c.start: c.score for c in rank(r, H, now=NOW, top=100).candidates}
    assert scores[utc(21, 0)] == 2
    assert scores[utc(21, 2)] == 3  # 2 × (1 + 1/2)
    assert rank(r, H, now=NOW, top=100).candidates[-1].systems == ("bmc", "pyramid")


def test_ties_go_to_the_earliest_start() -> None:
    r = report(utc(21, 0), utc(21, 6), [conflict("a", utc(21, 2)), conflict("b", utc(21, 4))])
    ranking = rank(r, H, now=NOW, top=20)
    zero = [c.start for c in ranking.candidates if c.score == 0]
    assert zero == sorted(zero)
    assert zero[0] == utc(21, 0)
    ones = [c.start for c in ranking.candidates if c.score == 1]
    assert ones == sorted(ones)


def test_time_unknown_conflicts_rank_nothing_and_are_listed_once() -> None:
    may_fire = conflict("m", None, kind=ConflictKind.MAY_FIRE)
    no_end = conflict("r", utc(20, 23), kind=ConflictKind.RUNNING_AT_START)
    base = [conflict("a", utc(21, 1))]
    plain = rank(report(utc(21, 0), utc(21, 4), base), H, now=NOW, top=10)
    unknown = rank(report(utc(21, 0), utc(21, 4), [*base, may_fire, no_end]), H, now=NOW, top=10)
    assert [(c.start, c.score) for c in unknown.candidates] == [
        (c.start, c.score) for c in plain.candidates
    ]
    assert {c.task_id for c in unknown.unknown} == {"m", "r"}


def test_paused_tasks_are_shown_but_weigh_nothing() -> None:
    r = report(utc(21, 0), utc(21, 2), [conflict("held", utc(21, 0), paused=True)])
    best = rank(r, H, now=NOW).candidates[0]
    assert best.start == utc(21, 0)
    assert best.score == 0
    assert [h.conflict.task_id for h in best.hits] == ["held"]
    assert best.active == ()


def test_unanswered_systems_are_listed_with_the_ranking() -> None:
    down = SystemResult(system="bmc", vendor="bmc", label="BMC", ok=False, error="no answer")
    r = report(utc(21, 0), utc(21, 4), [], systems=(ok("talend"), down))
    assert [s.system for s in rank(r, H, now=NOW).unchecked] == ["bmc"]


def test_running_now_with_a_known_end_disturbs_only_until_then() -> None:
    running = conflict(
        "now", NOW - H, kind=ConflictKind.RUNNING_AT_START, duration=2 * H + timedelta(minutes=30)
    )
    r = report(NOW, NOW + 4 * H, [running])
    scores = {c.start: c.score for c in rank(r, H, now=NOW, top=100).candidates}
    assert scores[NOW] > 0
    assert scores[NOW + H] > 0
    assert scores[NOW + 2 * H] == 0


# -- the grid, zones and DST ------------------------------------------------------------------


def test_step_is_30_minutes_from_an_hour_and_15_below() -> None:
    assert step_for(H) == COARSE_STEP
    assert step_for(2 * H) == COARSE_STEP
    assert step_for(timedelta(minutes=59)) == FINE_STEP


def test_slots_are_on_the_wall_clock_grid_of_the_range_zone() -> None:
    # Kathmandu is UTC+05:45: its :00 and :30 are :15 and :45 in UTC.
    within = Window(start=utc(21, 0), end=utc(21, 4), tz="Asia/Kathmandu")
    found = slots(within, H, NOW)
    zone = ZoneInfo("Asia/Kathmandu")
    assert all(s.astimezone(zone).minute in (0, 30) for s in found)
    assert found[0] == utc(21, 0, 15)
    quarter = slots(within, timedelta(minutes=45), NOW)
    assert {s.astimezone(zone).minute for s in quarter} == {0, 15, 30, 45}


def test_slots_start_no_earlier_than_now() -> None:
    within = Window(start=NOW - 5 * H, end=NOW + 3 * H, tz="UTC")
    assert slots(within, H, NOW + timedelta(minutes=10))[0] == NOW + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("zone", "day", "month", "skipped"),
    [
        ("America/Los_Angeles", 8, 3, (2,)),  # 02:00 → 03:00 on 8 Mar 2026
        ("Europe/Berlin", 29, 3, (2,)),  # 02:00 → 03:00 on 29 Mar 2026
    ],
)
def test_spring_forward_week_has_no_slot_in_the_gap(
    zone: str, day: int, month: int, skipped: tuple[int, ...]
) -> None:
    tz = ZoneInfo(zone)
    start = datetime(2026, month, day, tzinfo=tz) - timedelta(days=3)
    within = Window(start=start, end=start + timedelta(days=7), tz=zone)
    found = slots(within, 2 * H, start)
    local = [s.astimezone(tz) for s in found]
    assert not [x for x in local if x.day == day and x.hour in skipped]
    assert all(x.minute in (0, 30) for x in local)
    # The night of the change: 01:30 then 03:00, half an hour of elapsed time apart.
    night = [s for s in found if s.astimezone(tz).day == day and s.astimezone(tz).hour < 4]
    assert [x.astimezone(tz).strftime("%H:%M") for x in night] == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "03:00",
        "03:30",
    ]
    assert night[4] - night[3] == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("zone", "day", "month"),
    [("America/Los_Angeles", 1, 11), ("Europe/Berlin", 25, 10)],
)
def test_fall_back_week_gives_both_instants_of_the_repeated_hour(
    zone: str, day: int, month: int
) -> None:
    tz = ZoneInfo(zone)
    start = datetime(2026, month, day, tzinfo=tz) - timedelta(days=2)
    within = Window(start=start, end=start + timedelta(days=7), tz=zone)
    conflicts = [conflict("x", datetime(2026, month, day, 12, tzinfo=tz))]
    r = report(within.start, within.end, conflicts, tz=zone)
    ranking = rank(r, 2 * H, now=start, top=2000)
    found = sorted(c.start for c in ranking.candidates)
    assert found == slots(within, 2 * H, start)
    assert len(set(found)) == len(found)
    repeated = 2 if zone == "Europe/Berlin" else 1
    wall = [s for s in found if (s.astimezone(tz).day, s.astimezone(tz).hour) == (day, repeated)]
    assert len(wall) == 4  # :00 and :30, twice each
    for c in ranking.candidates:
        assert c.end - c.start == 2 * H  # elapsed time, whatever the wall clock shows
        back = parse_window(c.window.text, tz=zone, now=start)
        assert (back.start, back.end) == (c.start, c.end)


def test_window_text_reads_back_as_the_slot() -> None:
    start = utc(21, 10)
    text = window_text(start, timedelta(minutes=90), "America/Los_Angeles")
    assert text == "2026-11-21 02:00 for 1h30"
    back = parse_window(text, tz="America/Los_Angeles", now=NOW)
    assert (back.start, back.end) == (start, start + timedelta(minutes=90))


# -- planned windows --------------------------------------------------------------------------


def test_planned_windows_are_never_overlapped() -> None:
    r = report(utc(21, 0), utc(21, 6), [conflict("a", utc(21, 0, 30))])
    planned = [(utc(21, 2), utc(21, 4))]
    ranking = rank(r, H, now=NOW, planned=planned, top=100)
    assert ranking.excluded > 0
    for c in ranking.candidates:
        assert c.end <= utc(21, 2) or c.start >= utc(21, 4)
    # Touching ends is not overlapping.
    assert utc(21, 1) in starts(ranking)
    assert utc(21, 4) in starts(ranking)


def test_no_slot_left_after_planned_windows_is_refused() -> None:
    r = report(utc(21, 0), utc(21, 3), [])
    with pytest.raises(WindowError, match=r"overlaps a window already planned.*tomorrow 00:00"):
        rank(r, 2 * H, now=NOW, planned=[(utc(21, 1), utc(21, 2))])


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("slot", [timedelta(0), -H])
def test_zero_or_negative_length_is_refused(slot: timedelta) -> None:
    with pytest.raises(WindowError, match=r'more than zero.*"2h"'):
        rank(report(utc(21, 0), utc(21, 3), []), slot, now=NOW)


def test_length_longer_than_a_window_is_refused() -> None:
    with pytest.raises(WindowError, match=r'20d slot is longer than a maintenance window.*"2h"'):
        rank(report(utc(1, 0, month=12), utc(28, 0, month=12), []), timedelta(days=20), now=NOW)


def test_range_shorter_than_the_length_is_refused() -> None:
    with pytest.raises(WindowError, match=r'lasts only 1h, shorter than the 2h slot.*"tomorrow'):
        rank(report(utc(21, 0), utc(21, 1), []), 2 * H, now=NOW)


def test_range_mostly_past_is_refused_with_what_is_left() -> None:
    r = report(NOW - 5 * H, NOW + timedelta(minutes=30), [])
    with pytest.raises(WindowError, match=r"has only 30m left, shorter than the 1h slot"):
        rank(r, H, now=NOW)


def test_range_over_is_refused() -> None:
    with pytest.raises(WindowError, match=r"is already over"):
        check_range(Window(start=NOW - 5 * H, end=NOW - H, tz="UTC"), H, NOW)


def test_range_longer_than_a_month_is_refused() -> None:
    with pytest.raises(WindowError, match=r"lasts 45d; suggestions look at most 31d ahead"):
        rank(report(NOW, NOW + timedelta(days=45), []), H, now=NOW)


# -- the Slack request's split ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("2h this week", ("2h", "this week")),
        ("2h", ("2h", "")),
        ("1h30 Saturday 00:00 to Monday 00:00", ("1h30", "Saturday 00:00 to Monday 00:00")),
        ("2 hours tomorrow 00:00 for 24h", ("2 hours", "tomorrow 00:00 for 24h")),
        ("1 hour 30 minutes  next week", ("1 hour 30 minutes", "next week")),
        ("90 tomorrow 00:00 for 24h", ("90", "tomorrow 00:00 for 24h")),
    ],
)
def test_the_length_is_the_longest_leading_words_that_read_as_one(
    text: str, split: tuple[str, str]
) -> None:
    assert split_request(text) == split


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"length first.*`suggest 2h`"),
        ("tomorrow 00:00 for 24h", r'can\'t read "tomorrow" as the slot\'s length.*suggest 2h'),
    ],
)
def test_a_request_without_a_leading_length_is_refused(text: str, message: str) -> None:
    with pytest.raises(WindowError, match=message):
        split_request(text)


# -- the per-slot report ----------------------------------------------------------------------


def test_candidate_report_is_what_a_check_of_the_slot_finds() -> None:
    """Built from the range's each-run report, a slot's report lists what find_conflicts
    itself lists for that slot's window."""
    refs = {n: TaskRef(system="talend", kind=TaskKind.TASK, id=n) for n in "abcu"}
    snap = SystemSnapshot(
        ok("talend"),
        tasks=[Task(system="talend", kind=TaskKind.TASK, id=n, name=n, paused=False) for n in refs],
        runs=[
            Run(task=refs["a"], at=utc(21, 0), expected_duration=3 * H),
            Run(task=refs["b"], at=utc(21, 2, 15)),
            Run(task=refs["b"], at=utc(21, 2, 45)),
            Run(task=refs["c"], at=utc(21, 5)),
            Run(task=refs["u"], at=None, note="no times"),
        ],
        running=[RunningNow(task=refs["c"], started_at=NOW - H, expected_duration=H)],
    )
    within = Window(start=utc(21, 0), end=utc(21, 8), tz="UTC")
    ranged = find_conflicts(within, NOW, [snap], each_run=True)
    ranking = rank(ranged, H, now=NOW, top=100)
    slot = next(c for c in ranking.candidates if c.start == utc(21, 2))
    mine = candidate_report(ranking, slot, ranged)
    direct = find_conflicts(slot.window, NOW, [snap])
    key = lambda c: (c.task_id, c.kind, c.at, c.detail)  # noqa: E731
    assert sorted(map(key, mine.conflicts)) == sorted(map(key, direct.conflicts))


# -- properties -------------------------------------------------------------------------------

ZONES = ("UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Kathmandu", "Australia/Lord_Howe")
BASE = datetime(2026, 3, 5, tzinfo=UTC)  # a week around the spring changes of both hemispheres


def _oracle(r: ConflictReport, slot: timedelta, start: datetime) -> Fraction:
    """The score of one slot, computed directly from the definition (k × n)."""
    end = start + slot
    total, systems = Fraction(0), set()
    for c in r.conflicts:
        if c.paused or c.at is None or c.kind is ConflictKind.MAY_FIRE:
            continue
        if c.kind is ConflictKind.RUNNING_AT_START and c.expected_duration is None:
            continue
        d = c.expected_duration or timedelta(0)
        weight = (
            1 + Fraction(min(d, DURATION_CAP) // timedelta(microseconds=1), 3_600_000_000)
        ) * (Fraction(1, 2) if getattr(c, "predicted", False) else 1)
        if start <= c.at < end:
            share = Fraction(1)
        elif c.at < start < c.at + d:
            share = Fraction(
                (min(c.at + d, end) - start) // timedelta(microseconds=1),
                slot // timedelta(microseconds=1),
            )
        else:
            continue
        total += weight * share
        systems.add(c.system)
    return total * (1 + Fraction(len(systems) - 1, 2)) if systems else Fraction(0)


runs_st = st.lists(
    st.tuples(
        st.integers(0, 7 * 24 * 60 - 1),  # minute of the range
        st.integers(0, 1),  # seconds: on the minute or just after
        st.sampled_from([None, 0, 7, 45, 90, 200, 1000]),  # duration, minutes
        st.sampled_from(["talend", "bmc", "pyramid"]),
        st.booleans(),  # predicted
        st.booleans(),  # paused
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    minutes=st.sampled_from([15, 30, 45, 60, 90, 120, 240]),
    runs=runs_st,
    planned=st.lists(st.tuples(st.integers(0, 7 * 24 * 60), st.integers(1, 600)), max_size=4),
    offset=st.integers(0, 60 * 24),
)
def test_every_candidate_is_in_range_aligned_sized_free_and_ranked(
    zone: str,
    minutes: int,
    runs: list[tuple[int, int, int | None, str, bool, bool]],
    planned: list[tuple[int, int]],
    offset: int,
) -> None:
    slot = timedelta(minutes=minutes)
    start = BASE + timedelta(minutes=offset)
    end = start + timedelta(days=7)
    conflicts: list[Conflict] = []
    for n, (minute, second, duration, system, predicted, paused) in enumerate(runs):
        c = conflict(
            f"t{n}",
            start + timedelta(minutes=minute, seconds=second),
            system=system,
            duration=None if duration is None else timedelta(minutes=duration),
            paused=paused,
        )
        if predicted:
            c = c.model_copy(update={"predicted": True})
        conflicts.append(c)
    windows = [(start + timedelta(minutes=a), start + timedelta(minutes=a + b)) for a, b in planned]
    r = report(start, end, conflicts, tz=zone)
    free = [
        s for s in slots(r.window, slot, start) if all(s + slot <= a or s >= b for a, b in windows)
    ]
    if not free:
        with pytest.raises(WindowError, match="overlaps a window already planned"):
            rank(r, slot, now=start, planned=windows, top=5)
        return
    ranking = rank(r, slot, now=start, planned=windows, top=5)
    tz = ZoneInfo(zone)
    step = step_for(slot) // timedelta(minutes=1)
    scores = []
    for c in ranking.candidates:
        assert start <= c.start
        assert c.end <= end
        assert c.end - c.start == slot
        local = c.start.astimezone(tz)
        assert (local.hour * 60 + local.minute) % step == 0
        assert local.second == 0
        assert all(c.end <= a or c.start >= b for a, b in windows)
        exact = _oracle(r, slot, c.start)
        assert c.score == pytest.approx(float(exact))
        scores.append((exact, c.start))
    assert scores == sorted(scores)
    # Nothing better was left out: the best free slot by the definition is first.
    assert scores[0] == min((_oracle(r, slot, s), s) for s in free)
