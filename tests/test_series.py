"""Recurring windows (series) against the "Series" rules of ../shared/window-conventions.md.

Expected occurrences are written out as wall clocks in a named zone (or UTC instants), never
computed by the code under test. Unless a case says otherwise, everything is said on
Wednesday 18 Nov 2026 at 10:00 in America/Los_Angeles, the contract's reference moment.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.errors import WindowError
from bot.series import (
    MAX_COUNT,
    Occurrence,
    Series,
    describe,
    occurrences,
    parse_series,
    series_lines,
)
from bot.windows import MAX_TEXT_LENGTH

LA = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)  # Wed 18 Nov 2026 10:00 PST
NOW_TEXT = "2026-11-18T10:00:00-08:00"


def series(text: str, tz: str = LA, now: datetime = NOW) -> Series:
    found = parse_series(text, tz=tz, now=now)
    assert found is not None, text
    return found


def rejection(text: str, tz: str = LA, now: datetime = NOW) -> str:
    with pytest.raises(WindowError) as caught:
        parse_series(text, tz=tz, now=now)
    return str(caught.value)


def walls(found: list[Occurrence], zone: str) -> list[tuple[str, str]]:
    """Each occurrence's (start, end) as wall clocks in ``zone``: "2026-11-21 02:00"."""
    tz = ZoneInfo(zone)
    result = []
    for o in found:
        assert o.start is not None, o.problem
        assert o.end is not None
        result.append(
            (f"{o.start.astimezone(tz):%Y-%m-%d %H:%M}", f"{o.end.astimezone(tz):%Y-%m-%d %H:%M}")
        )
    return result


# -- the recognised forms ------------------------------------------------------------------

FORMS = [
    (
        "every Saturday 2-4am",
        "FREQ=WEEKLY;BYDAY=SA",
        [("2026-11-21 02:00", "2026-11-21 04:00"), ("2026-11-28 02:00", "2026-11-28 04:00"),
         ("2026-12-05 02:00", "2026-12-05 04:00")],
    ),
    (
        "Saturdays 11pm-1am",
        "FREQ=WEEKLY;BYDAY=SA",
        [("2026-11-21 23:00", "2026-11-22 01:00"), ("2026-11-28 23:00", "2026-11-29 01:00"),
         ("2026-12-05 23:00", "2026-12-06 01:00")],
    ),
    (
        "weekdays 1-2am",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        [("2026-11-19 01:00", "2026-11-19 02:00"), ("2026-11-20 01:00", "2026-11-20 02:00"),
         ("2026-11-23 01:00", "2026-11-23 02:00")],
    ),
    (
        "every weekday 1-2am",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        [("2026-11-19 01:00", "2026-11-19 02:00"), ("2026-11-20 01:00", "2026-11-20 02:00"),
         ("2026-11-23 01:00", "2026-11-23 02:00")],
    ),
    *[
        (
            f"{word} 1-2am",
            "FREQ=DAILY",
            [("2026-11-19 01:00", "2026-11-19 02:00"), ("2026-11-20 01:00", "2026-11-20 02:00"),
             ("2026-11-21 01:00", "2026-11-21 02:00")],
        )
        for word in ("daily", "nightly", "every day", "every night")
    ],
    (
        # Today's 23:00 is still ahead at 10:00: the first occurrence is tonight's.
        "every night 11pm-1am",
        "FREQ=DAILY",
        [("2026-11-18 23:00", "2026-11-19 01:00"), ("2026-11-19 23:00", "2026-11-20 01:00"),
         ("2026-11-20 23:00", "2026-11-21 01:00")],
    ),
    (
        "every other Saturday 2-4am",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA",
        [("2026-11-21 02:00", "2026-11-21 04:00"), ("2026-12-05 02:00", "2026-12-05 04:00"),
         ("2026-12-19 02:00", "2026-12-19 04:00")],
    ),
    (
        "first Sunday of each month 2-6am",
        "FREQ=MONTHLY;BYDAY=1SU",
        [("2026-12-06 02:00", "2026-12-06 06:00"), ("2027-01-03 02:00", "2027-01-03 06:00"),
         ("2027-02-07 02:00", "2027-02-07 06:00")],
    ),
    (
        "the 1st of every month 00:00-02:00",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        [("2026-12-01 00:00", "2026-12-01 02:00"), ("2027-01-01 00:00", "2027-01-01 02:00"),
         ("2027-02-01 00:00", "2027-02-01 02:00")],
    ),
    (
        "every 2 weeks on Sunday 1-3am",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU",
        [("2026-11-22 01:00", "2026-11-22 03:00"), ("2026-12-06 01:00", "2026-12-06 03:00"),
         ("2026-12-20 01:00", "2026-12-20 03:00")],
    ),
    (
        "last Friday of every month 22:00 for 2h",
        "FREQ=MONTHLY;BYDAY=-1FR",
        [("2026-11-27 22:00", "2026-11-28 00:00"), ("2026-12-25 22:00", "2026-12-26 00:00"),
         ("2027-01-29 22:00", "2027-01-30 00:00")],
    ),
    (
        "every Mon and Thu 1-2am",
        "FREQ=WEEKLY;BYDAY=MO,TH",
        [("2026-11-19 01:00", "2026-11-19 02:00"), ("2026-11-23 01:00", "2026-11-23 02:00"),
         ("2026-11-26 01:00", "2026-11-26 02:00")],
    ),
    (
        "every 3 days 1-2am",
        "FREQ=DAILY;INTERVAL=3",
        [("2026-11-19 01:00", "2026-11-19 02:00"), ("2026-11-22 01:00", "2026-11-22 02:00"),
         ("2026-11-25 01:00", "2026-11-25 02:00")],
    ),
    (
        "every month on the 15th 2-3am",
        "FREQ=MONTHLY;BYMONTHDAY=15",
        [("2026-12-15 02:00", "2026-12-15 03:00"), ("2027-01-15 02:00", "2027-01-15 03:00"),
         ("2027-02-15 02:00", "2027-02-15 03:00")],
    ),
    (
        "the last day of every month 23:00-23:30",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        [("2026-11-30 23:00", "2026-11-30 23:30"), ("2026-12-31 23:00", "2026-12-31 23:30"),
         ("2027-01-31 23:00", "2027-01-31 23:30")],
    ),
    (
        "every year on Dec 24 00:00-06:00",
        "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
        [("2026-12-24 00:00", "2026-12-24 06:00"), ("2027-12-24 00:00", "2027-12-24 06:00"),
         ("2028-12-24 00:00", "2028-12-24 06:00")],
    ),
    (
        "weekends 2-4am",
        "FREQ=WEEKLY;BYDAY=SA,SU",
        [("2026-11-21 02:00", "2026-11-21 04:00"), ("2026-11-22 02:00", "2026-11-22 04:00"),
         ("2026-11-28 02:00", "2026-11-28 04:00")],
    ),
    (
        # A date-only series is whole days, as "Saturday" is.
        "every Saturday",
        "FREQ=WEEKLY;BYDAY=SA",
        [("2026-11-21 00:00", "2026-11-22 00:00"), ("2026-11-28 00:00", "2026-11-29 00:00"),
         ("2026-12-05 00:00", "2026-12-06 00:00")],
    ),
    (
        "every Saturday night 11pm-1am",
        "FREQ=WEEKLY;BYDAY=SA",
        [("2026-11-21 23:00", "2026-11-22 01:00"), ("2026-11-28 23:00", "2026-11-29 01:00"),
         ("2026-12-05 23:00", "2026-12-06 01:00")],
    ),
    (
        # The clock time may come first; the one-off grammar's am/pm carry applies.
        "2-4pm every Saturday",
        "FREQ=WEEKLY;BYDAY=SA",
        [("2026-11-21 14:00", "2026-11-21 16:00"), ("2026-11-28 14:00", "2026-11-28 16:00"),
         ("2026-12-05 14:00", "2026-12-05 16:00")],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "rrule", "expected"), FORMS, ids=[f[0] for f in FORMS])
def test_each_form_gives_its_rule_and_first_three_occurrences(
    text: str, rrule: str, expected: list[tuple[str, str]]
) -> None:
    found = series(text)
    assert found.rrule == rrule
    assert found.tz == LA
    assert found.until is None
    assert found.count is None
    shown = occurrences(found, after=NOW, count=3)
    assert walls(shown, LA) == expected
    assert found.dtstart == shown[0].start


def test_a_zone_named_in_the_text_is_the_series_zone() -> None:
    found = series("every Saturday 22:00 for 2h Europe/Berlin")
    assert found.tz == BERLIN
    assert walls(occurrences(found, after=NOW, count=2), BERLIN) == [
        ("2026-11-21 22:00", "2026-11-22 00:00"),
        ("2026-11-28 22:00", "2026-11-29 00:00"),
    ]
    assert series("every Saturday 2-4am UTC").dtstart == datetime(2026, 11, 21, 2, tzinfo=UTC)


def test_the_first_occurrence_is_the_first_still_ahead() -> None:
    # Said on a Saturday at 03:00, during that morning's window: next Saturday's is first.
    during = datetime(2026, 11, 21, 3, tzinfo=ZoneInfo(LA))
    assert series("every Saturday 2-4am", now=during).dtstart == datetime(
        2026, 11, 28, 2, tzinfo=ZoneInfo(LA)
    )
    # Start equal to now is still ahead, as for a one-off window.
    at_start = datetime(2026, 11, 21, 2, tzinfo=ZoneInfo(LA))
    assert series("every Saturday 2-4am", now=at_start).dtstart == at_start
    # "every other Saturday" said on a Sunday counts its fortnights from the next Saturday.
    sunday = datetime(2026, 11, 22, 12, tzinfo=ZoneInfo(LA))
    found = series("every other Saturday 2-4am", now=sunday)
    assert [w[0] for w in walls(occurrences(found, after=sunday, count=2), LA)] == [
        "2026-11-28 02:00",
        "2026-12-12 02:00",
    ]


def test_occurrences_after_a_later_instant_skip_the_earlier_ones() -> None:
    found = series("every Saturday 2-4am")
    later = datetime(2026, 12, 1, tzinfo=UTC)
    assert walls(occurrences(found, after=later, count=1), LA) == [
        ("2026-12-05 02:00", "2026-12-05 04:00")
    ]


def test_titles_and_courtesy_words() -> None:
    assert series("patch night every Saturday 2-4am").title == "patch night"
    labelled = series("Planned maintenance: every Saturday 02:00-04:00 please")
    assert labelled.title == "Planned maintenance"
    assert labelled.rrule == "FREQ=WEEKLY;BYDAY=SA"
    assert series("can we do every Saturday 2-4am?").title is None


def test_texts_that_are_not_recurring_are_none() -> None:
    for text in ("Saturday 2-4am", "tomorrow 1-3pm", "Dec 24-26", "", "nonsense"):
        assert parse_series(text, tz=LA, now=NOW) is None


# -- the end forms -------------------------------------------------------------------------


def test_until_a_date_includes_that_date() -> None:
    found = series("every Saturday 2-4am until Mar 27")
    assert found.until == datetime(2027, 3, 27, 23, 59, 59, tzinfo=ZoneInfo(LA))
    assert found.rrule == "FREQ=WEEKLY;BYDAY=SA;UNTIL=20270328T065959Z"
    everything = occurrences(found, after=NOW, count=100)
    assert len(everything) == 19  # 21 Nov 2026 … 27 Mar 2027
    assert walls(everything[-1:], LA) == [("2027-03-27 02:00", "2027-03-27 04:00")]
    assert series("every Saturday 2-4am until Mar 31").until == datetime(
        2027, 3, 31, 23, 59, 59, tzinfo=ZoneInfo(LA)
    )
    assert series("every Saturday until 2027-01-09 2-4am").until == datetime(
        2027, 1, 9, 23, 59, 59, tzinfo=ZoneInfo(LA)
    )


@pytest.mark.parametrize(
    ("text", "total", "last"),
    [
        ("every Saturday 2-4am for 6 weeks", 6, "2026-12-26 02:00"),
        ("every Saturday 2-4am 10 times", 10, "2027-01-23 02:00"),
        ("weekdays 1-2am for 2 weeks", 10, "2026-12-02 01:00"),
        ("daily 1-2am for 10 days", 10, "2026-11-28 01:00"),
        ("first Sunday of each month 2-6am for 3 months", 3, "2027-02-07 02:00"),
        ("every other Saturday 2-4am 3 times", 3, "2026-12-19 02:00"),
    ],
)
def test_series_with_an_end_stop_there(text: str, total: int, last: str) -> None:
    found = series(text)
    everything = occurrences(found, after=NOW, count=MAX_COUNT)
    assert len(everything) == total
    assert walls(everything, LA)[-1][0] == last


def test_a_count_is_in_the_rule() -> None:
    found = series("every Saturday 2-4am 10 times")
    assert (found.count, found.until) == (10, None)
    assert found.rrule == "FREQ=WEEKLY;BYDAY=SA;COUNT=10"


def test_for_days_is_the_length_when_the_occurrence_has_no_other() -> None:
    found = series("every Saturday 22:00 for 2 days")
    assert found.until is None
    assert found.duration == timedelta(days=2)


# -- DST -----------------------------------------------------------------------------------

DST_WEEKS = [
    # zone, text, said on, the Sunday its start falls in a gap, offsets before and after
    (BERLIN, "every Sunday 2:30-3:30am", datetime(2027, 3, 15, tzinfo=UTC), "2027-03-28",
     (60, 120)),
    ("America/Los_Angeles", "every Sunday 2:30-3:30am", datetime(2027, 3, 1, tzinfo=UTC),
     "2027-03-14", (-480, -420)),
    ("Australia/Sydney", "every Sunday 2:30-3:30am", datetime(2027, 9, 20, tzinfo=UTC),
     "2027-10-03", (600, 660)),
    ("Pacific/Auckland", "every Sunday 2:30-3:30am", datetime(2027, 9, 13, tzinfo=UTC),
     "2027-09-26", (720, 780)),
    # Lord Howe moves its clocks by 30 minutes: 02:00 becomes 02:30.
    ("Australia/Lord_Howe", "every Sunday 2:15-3am", datetime(2027, 9, 20, tzinfo=UTC),
     "2027-10-03", (630, 660)),
]  # fmt: skip


@pytest.mark.parametrize(("zone", "text", "now", "gap_day", "offsets"), DST_WEEKS)
def test_dst_weeks_keep_the_wall_clock_and_report_the_gap(
    zone: str, text: str, now: datetime, gap_day: str, offsets: tuple[int, int]
) -> None:
    found = series(text, tz=zone, now=now)
    before, gap, after = occurrences(found, after=now, count=3)
    assert str(gap.day) == gap_day
    assert gap.window is None
    assert gap.start is None
    assert gap.problem is not None
    assert "does not exist" in gap.problem
    assert zone in gap.problem
    tz = ZoneInfo(zone)
    for occurrence, minutes in ((before, offsets[0]), (after, offsets[1])):
        assert occurrence.start is not None
        local = occurrence.start.astimezone(tz)
        assert f"{local:%H:%M}" == f"{found.dtstart.astimezone(tz):%H:%M}"
        assert local.utcoffset() == timedelta(minutes=minutes)


def test_a_saturday_series_in_berlin_keeps_02_00_across_the_spring_change() -> None:
    now = datetime(2027, 3, 15, tzinfo=UTC)
    found = series("every Saturday 2-4am", tz=BERLIN, now=now)
    shown = occurrences(found, after=now, count=3)
    assert [o.start for o in shown] == [
        datetime(2027, 3, 20, 1, tzinfo=UTC),  # CET
        datetime(2027, 3, 27, 1, tzinfo=UTC),  # CET, the night before the change
        datetime(2027, 4, 3, 0, tzinfo=UTC),  # CEST
    ]


def test_a_fall_back_occurrence_carries_the_one_off_dst_notes() -> None:
    now = datetime(2027, 11, 1, tzinfo=UTC)
    found = series("every Sunday 1-2am", tz=LA, now=now)
    first = occurrences(found, after=now, count=1)[0]  # Sun 7 Nov 2027, the clocks go back
    assert first.window is not None
    assert first.window.duration == timedelta(hours=2)
    assert any("happens twice" in note for note in first.window.notes)


def test_a_first_date_in_a_gap_is_skipped_with_a_note() -> None:
    now = datetime(2027, 3, 27, 12, tzinfo=UTC)
    found = series("every Sunday 2:30-3:30am", tz=BERLIN, now=now)
    assert found.dtstart == datetime(2027, 4, 4, 0, 30, tzinfo=UTC)
    assert any("skipped" in n and "does not exist" in n for n in found.notes)


# -- bad input -----------------------------------------------------------------------------

BAD = [
    ("every 6 hours 00:00-00:30", "at most once a day"),
    ("every day 1am for 25h", "longer than the 1d between two starts"),
    ("every 0 days 1-2am", "repeats nothing"),
    ("every 0 weeks on Saturday 2-4am", "repeats nothing"),
    (
        "every year on the last Sunday of March 2:30-3am in Europe/Berlin",
        "Every occurrence I looked at (60) cannot happen",
    ),
    ("every Saturday 2-4am until 2026-11-01", "before its first occurrence"),
    ("every Saturday 2-4am until Nov 20", "before its first occurrence"),
    ("every Saturday 2-4am 0 times", "1 to 1000 occurrences, not 0"),
    ("every Saturday 2-4am 5000 times", "1 to 1000 occurrences, not 5000"),
    ("every Saturday 2-4am 99999999999 times", "1 to 1000 occurrences"),
    ("every Saturday 2-4am for 0 weeks", "at least one week"),
    ("every Saturday 2-4am 10 times until Mar 31", "one end"),
    ("every Saturday 2-4am 10 times 3 times", "one end"),
    ("every 1000 days 1-2am", "largest interval is 999"),
    ("every fortnight 2-4am", 'I can\'t read "every fortnight" as a repeat'),
    ("weekly 2-4am", "needs the day it falls on"),
    ("monthly 2-4am", "needs the day of the month"),
    ("every year 2-4am", "needs the date"),
    ("every year on Feb 30 1-2am", "February has no day 30"),
    ("every 2 months on the 31st 1-2am", "may never happen"),
    ("every other weekday 1-2am", "weekdays repeat every week"),
    ("every Saturday or Sunday 2-4am", '"or" leaves the day open'),
    ("every Saturday every Sunday 2-4am", "give the repeat once"),
    ("every Saturday 2am", "gives a start but no end"),
    ("every Saturday Dec 5 2-4am", "names a day"),
    ("every Saturday 25:00-26:00", "25:00"),
    ("every Saturday 2-4am Mars/Olympus", "Mars/Olympus"),
    ("weeknights 11pm-1am", 'I can\'t read "weeknights"'),
    ("every Saturday 2-4am " + "x" * MAX_TEXT_LENGTH, "characters long"),
    ("every Saturday 22:00 for 15 days", "longest"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[b[0][:50] for b in BAD])
def test_bad_series_are_window_errors_with_an_example(text: str, message: str) -> None:
    error = rejection(text)
    assert message in error
    assert re.search(r'(Try|e\.g\.|For example) "', error), error


# -- the rule string read back by others ---------------------------------------------------

ROUND_TRIP = [
    ("every Saturday 2-4am until Mar 31", BERLIN, datetime(2027, 1, 10, tzinfo=UTC)),
    ("every Sunday 2:30-3:30am 30 times", BERLIN, datetime(2027, 1, 10, tzinfo=UTC)),
    ("first Sunday of each month 2-6am 12 times", LA, NOW),
    ("weekdays 1-2am for 6 weeks", "Australia/Sydney", datetime(2027, 9, 20, tzinfo=UTC)),
    ("every 2 weeks on Sunday 1-3am 20 times", "Australia/Lord_Howe", NOW),
    ("the last day of every month 23:00-23:30 14 times", "Pacific/Auckland", NOW),
    ("every 6 hours 00:00-00:30 40 times", LA, datetime(2027, 3, 12, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "zone", "now"), ROUND_TRIP, ids=[r[0] for r in ROUND_TRIP])
def test_dateutil_reads_the_rule_back_to_the_same_occurrences(
    text: str, zone: str, now: datetime
) -> None:
    found = series(text, tz=zone, now=now)
    ours = occurrences(found, after=now, count=MAX_COUNT)
    local = found.dtstart.astimezone(ZoneInfo(zone))
    calendar = rrulestr(f"DTSTART;TZID={zone}:{local:%Y%m%dT%H%M%S}\nRRULE:{found.rrule}")
    theirs = list(calendar)
    # Same dates and wall clocks, the gap ones included (a calendar shows them too) …
    assert [(o.day, o.clock) for o in ours] == [(t.date(), t.time()) for t in theirs]
    # … and the same instants wherever the occurrence exists.
    assert [o.start for o in ours if o.start is not None] == [
        t.astimezone(UTC) for t, o in zip(theirs, ours, strict=True) if o.start is not None
    ]


# -- the echo ------------------------------------------------------------------------------


def test_the_echo_says_the_rule_the_zone_the_end_and_the_occurrences() -> None:
    found = series("every 2 weeks on Sunday 1-3am until Mar 31")
    assert describe(found) == "every 2 weeks on Sunday"
    lines = series_lines(found, occurrences(found, after=NOW, count=3))
    assert lines[0] == "Repeats every 2 weeks on Sunday, 01:00, 2h each"
    assert lines[1].startswith("RRULE: FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;UNTIL=")
    assert lines[2] == f"Zone: {LA}"
    assert lines[3].startswith("Ends: until Wed 31 Mar 2027")
    assert "Sun 22 Nov 2026 01:00 – 03:00 PST" in lines[5]
    assert series_lines(series("weekdays 1-2am"), [])[3] == "Ends: no end"
    assert describe(series("first Sunday of each month 2-6am")) == (
        "on the first Sunday of every month"
    )


def test_a_gap_occurrence_is_echoed_with_its_reason() -> None:
    now = datetime(2027, 3, 15, tzinfo=UTC)
    found = series("every Sunday 2:30-3:30am", tz=BERLIN, now=now)
    lines = series_lines(found, occurrences(found, after=now, count=3))
    assert any(
        line.startswith("  Sun 28 Mar 2027 02:30: cannot happen: 02:30 on Sun 28 Mar 2027")
        for line in lines
    )


# -- any text ------------------------------------------------------------------------------

# fmt: off
VOCABULARY = [
    "every", "each", "other", "daily", "nightly", "weekly", "monthly", "yearly", "hourly",
    "weekdays", "weekends", "weekday", "Saturdays", "Saturday", "sat", "Sunday", "Mon", "and",
    "or", "first", "last", "second", "1st", "15th", "31st", "of", "in", "the", "month",
    "months", "week", "weeks", "day", "days", "year", "hours", "night", "on", "until", "till",
    "for", "times", "0", "1", "2", "6", "10", "999999", "2-4am", "11pm-1am", "00:00-02:00",
    "22:00", "2h", "25h", "Mar 31", "Dec", "24", "Feb", "30", "2027-03-31", "UTC",
    "Europe/Berlin", "Mars/Olympus", "please", ":", "-", "x", "ü", "土曜日",
]
# fmt: on


def _check_total(text: str, tz: str) -> None:
    message: str | None = None
    found: Series | None = None
    try:
        found = parse_series(text, tz=tz, now=NOW)
    except WindowError as err:
        message = str(err)
    if message is not None:
        # Every rejection shows something to type instead.
        assert re.search(r'(Try|e\.g\.|For example) "', message), message
    if found is None:
        return
    assert found.dtstart >= NOW
    shown = occurrences(found, after=NOW, count=3)
    assert shown
    assert shown[0].start == found.dtstart
    for occurrence in shown:
        assert (occurrence.window is None) != (occurrence.problem is None)
    assert series_lines(found, shown)


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=10),
    tz=st.sampled_from([LA, BERLIN, "Australia/Lord_Howe", "UTC"]),
)
def test_vocabulary_soup_gives_a_series_none_or_a_window_error(words: list[str], tz: str) -> None:
    _check_total(" ".join(words), tz)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=MAX_TEXT_LENGTH + 40))
def test_arbitrary_texts_give_a_series_none_or_a_window_error(text: str) -> None:
    _check_total("every " + text, LA)
    _check_total(text, LA)


# -- the command line ----------------------------------------------------------------------


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("MAINTBOT_CONFIG", "MAINTBOT_DB", "MAINTBOT_TZ", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "maintbot.db"))
    return tmp_path


def test_parse_json_on_a_series(isolated: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "parse", "patch night every Saturday 2-4am 10 times",
         "--tz", LA, "--now", NOW_TEXT, "--json"],
        capture_output=True, text=True, cwd=isolated, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "series": {
            "rrule": "FREQ=WEEKLY;BYDAY=SA;COUNT=10",
            "dtstart": "2026-11-21T10:00:00+00:00",
            "tz": LA,
            "until": None,
            "count": 10,
        },
        "occurrences": [
            {"start": "2026-11-21T10:00:00+00:00", "end": "2026-11-21T12:00:00+00:00"},
            {"start": "2026-11-28T10:00:00+00:00", "end": "2026-11-28T12:00:00+00:00"},
            {"start": "2026-12-05T10:00:00+00:00", "end": "2026-12-05T12:00:00+00:00"},
        ],
        "title": "patch night",
        "notes": [],
    }


def test_parse_json_shows_n_occurrences_and_a_gap(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["parse", "every Sunday 2:30-3:30am", "--tz", BERLIN, "--json"]
    assert main([*argv, "--now", "2027-03-15T00:00:00Z", "--occurrences", "4"]) == 0
    shown = json.loads(capsys.readouterr().out)["occurrences"]
    assert len(shown) == 4
    assert shown[0] == {"start": "2027-03-21T01:30:00+00:00", "end": "2027-03-21T02:30:00+00:00"}
    assert shown[1]["start"] is None
    assert shown[1]["end"] is None
    assert "does not exist in Europe/Berlin" in shown[1]["problem"]
    assert shown[2] == {"start": "2027-04-04T00:30:00+00:00", "end": "2027-04-04T01:30:00+00:00"}
    assert shown[3]["start"] == "2027-04-11T00:30:00+00:00"


def test_parse_human_echo_on_a_series(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "weekdays 1-2am", "--tz", LA, "--now", NOW_TEXT]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == [
        "Repeats every weekday (Monday to Friday), 01:00, 1h each",
        "RRULE: FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        f"Zone: {LA}",
        "Ends: no end",
        "First 3 occurrences:",
    ]
    assert len(out) == 8


def test_a_bad_series_exits_2_with_the_message(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", "every 0 days 1-2am", "--now", NOW_TEXT, "--json"]) == 2
    assert "repeats nothing" in json.loads(capsys.readouterr().out)["error"]
    assert main(["check", "every day 1am for 25h", "--now", NOW_TEXT, "--sandbox"]) == 2
    assert "would overlap" in capsys.readouterr().err
    assert main(["parse", "every Saturday 2-4am", "--occurrences", "0"]) == 2
    assert "--occurrences: '0' is not a whole number from 1" in capsys.readouterr().err


def test_one_off_parse_json_is_unchanged(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", "Saturday 2-4am", "--tz", LA, "--now", NOW_TEXT, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "start": "2026-11-21T10:00:00+00:00",
        "end": "2026-11-21T12:00:00+00:00",
        "tz": LA,
        "notes": [],
    }


def test_check_on_a_series_checks_each_occurrence_against_the_simulators(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import write_sandbox_config
    from bot.sandbox import SandboxServer, make_simulators, sandbox_config

    sims = make_simulators()
    with SandboxServer(sims):
        write_sandbox_config(isolated / "maintbot.toml", sandbox_config(sims))
        code = main(["check", "every day 1-3am", "--tz", "UTC", "--json", "--occurrences", "2"])
        document = json.loads(capsys.readouterr().out)
        assert set(document) == {"series", "occurrences", "title", "notes"}
        assert document["series"]["rrule"] == "FREQ=DAILY"
        first, second = document["occurrences"]
        for item in (first, second):
            assert {s["system"] for s in item["systems"]} == {"talend", "pyramid", "bmc", "huawei"}
            assert code == (0 if all(s["ok"] for s in item["systems"]) else 1)
        start = datetime.fromisoformat(second["start"])
        assert datetime.fromisoformat(second["end"]) - start == timedelta(hours=2)
        assert start - datetime.fromisoformat(first["start"]) == timedelta(days=1)
        # Each occurrence's report is the one-off check of its window.
        one_off = f"{start:%Y-%m-%d} 1-3am"
        assert main(["check", one_off, "--tz", "UTC", "--json"]) == code
        alone = json.loads(capsys.readouterr().out)
        keys = ("system", "task_id", "kind", "at")
        assert sorted(tuple(c[k] for k in keys) for c in second["conflicts"]) == sorted(
            tuple(c[k] for k in keys) for c in alone["conflicts"]
        )
        assert second["conflicts"]
        assert first["check"] != second["check"]


def test_check_human_output_reports_per_occurrence(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check", "every Sunday 2:30-3:30am", "--tz", BERLIN, "--sandbox"]
    main([*argv, "--now", "2027-03-20T00:00:00Z", "--occurrences", "2"])
    out = capsys.readouterr().out
    assert "## Occurrence 1 of 2" in out
    assert "## Occurrence 2 of 2" in out
    assert "Sun 28 Mar 2027: not checked: 02:30 on Sun 28 Mar 2027 does not exist" in out
    assert out.count("\nreport c_") == 1
