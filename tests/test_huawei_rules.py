"""The Huawei schedule expansion (bot.schedule_rules): hand-computed tables for the tricky
cases, and properties checked against an independent predicate with hypothesis."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.schedule_rules import (
    RuleError,
    Schedule,
    ScheduledType,
    format_local,
    parse_schedule,
    parse_vendor_time,
    resolve_zone,
)


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rule(naive_expire_in_utc: bool = True, **fields: Any) -> Schedule:
    return parse_schedule(fields, naive_expire_in_utc=naive_expire_in_utc)


# Every expectation below was worked out by hand from the zone's rules (offsets noted).
CASES: list[tuple[str, dict[str, Any], str, str, list[str]]] = [
    (
        "DAY across the US spring-forward gap: 02:30 does not exist on 8 March, fires at "
        "03:30 EDT (the pre-transition offset)",
        {
            "scheduled_type": "DAY",
            "day_interval": 1,
            "scheduled_time": "02:30:00",
            "time_zone": "America/New_York",
        },
        "2026-03-07T00:00:00Z",
        "2026-03-10T00:00:00Z",
        ["2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"],
    ),
    (
        "DAY across the US fall-back overlap: 01:30 happens twice on 1 Nov, fires once, "
        "at the first (EDT)",
        {
            "scheduled_type": "DAY",
            "day_interval": 1,
            "scheduled_time": "01:30:00",
            "time_zone": "America/New_York",
        },
        "2026-10-31T00:00:00Z",
        "2026-11-03T00:00:00Z",
        ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
    ),
    (
        "DAY across the EU spring-forward gap (Berlin, 29 March 2026)",
        {"scheduled_type": "DAY", "scheduled_time": "02:15:00", "time_zone": "Europe/Berlin"},
        "2026-03-28T00:00:00Z",
        "2026-03-31T00:00:00Z",
        ["2026-03-28T01:15:00Z", "2026-03-29T01:15:00Z", "2026-03-30T00:15:00Z"],
    ),
    (
        "DAY every 3 days restarts each month (Quartz 1/3): 28 Nov, then 1 and 4 Dec",
        {
            "scheduled_type": "DAY",
            "day_interval": "3",
            "scheduled_time": "12:00:00",
            "time_zone": "UTC",
        },
        "2026-11-26T00:00:00Z",
        "2026-12-05T00:00:00Z",
        ["2026-11-28T12:00:00Z", "2026-12-01T12:00:00Z", "2026-12-04T12:00:00Z"],
    ),
    (
        "MONTH L = last day: 31 Jan, 28 Feb (2026 is not a leap year), 31 Mar, 30 Apr",
        {
            "scheduled_type": "MONTH",
            "month_list": "1,2,3,4,5,6,7,8,9,10,11,12",
            "date_list": "L",
            "scheduled_time": "23:00:00",
            "time_zone": "UTC",
        },
        "2026-01-01T00:00:00Z",
        "2026-05-01T00:00:00Z",
        [
            "2026-01-31T23:00:00Z",
            "2026-02-28T23:00:00Z",
            "2026-03-31T23:00:00Z",
            "2026-04-30T23:00:00Z",
        ],
    ),
    (
        "MONTH L in a leap February (2028)",
        {
            "scheduled_type": "MONTH",
            "month_list": "2",
            "date_list": "L",
            "scheduled_time": "06:00:00",
            "time_zone": "UTC",
        },
        "2028-01-01T00:00:00Z",
        "2028-12-31T00:00:00Z",
        ["2028-02-29T06:00:00Z"],
    ),
    (
        "MONTH 31 skips the months without one",
        {
            "scheduled_type": "MONTH",
            "month_list": "1,2,3,4,5",
            "date_list": "31",
            "scheduled_time": "00:00:00",
            "time_zone": "UTC",
        },
        "2026-01-01T00:00:00Z",
        "2026-07-01T00:00:00Z",
        ["2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"],
    ),
    (
        "MONTH 1 and L in +08:00: local midnight-ish is the previous UTC day",
        {
            "scheduled_type": "MONTH",
            "month_list": "11,12",
            "date_list": "1,L",
            "scheduled_time": "01:30:00",
            "time_zone": "GMT+08:00",
        },
        "2026-11-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        ["2026-11-29T17:30:00Z", "2026-11-30T17:30:00Z", "2026-12-30T17:30:00Z"],
    ),
    (
        "WEEK 1 = Sunday: Sunday 22 and 29 Nov at 09:00 Shanghai (01:00Z)",
        {
            "scheduled_type": "WEEK",
            "week_list": "1",
            "scheduled_time": "09:00:00",
            "time_zone": "Asia/Shanghai",
        },
        "2026-11-18T18:00:00Z",
        "2026-12-01T00:00:00Z",
        ["2026-11-22T01:00:00Z", "2026-11-29T01:00:00Z"],
    ),
    (
        "WEEK 2,6 = Monday and Friday; 7 = Saturday",
        {
            "scheduled_type": "WEEK",
            "week_list": "2, 6,7",
            "scheduled_time": "10:00:00",
            "time_zone": "UTC",
        },
        "2026-11-18T18:00:00Z",
        "2026-11-25T00:00:00Z",
        ["2026-11-20T10:00:00Z", "2026-11-21T10:00:00Z", "2026-11-23T10:00:00Z"],
    ),
    (
        "WEEK in Los Angeles: Wednesday 20:00 PST is Thursday 04:00Z",
        {
            "scheduled_type": "WEEK",
            "week_list": [4],
            "scheduled_time": "20:00:00",
            "time_zone": "America/Los_Angeles",
        },
        "2026-11-18T00:00:00Z",
        "2026-11-26T00:00:00Z",
        ["2026-11-19T04:00:00Z"],
    ),
    (
        "FIXED_TIME in the past fires never again",
        {
            "scheduled_type": "FIXED_TIME",
            "scheduled_date": "2026-11-16",
            "scheduled_time": "18:00:00",
            "time_zone": "UTC",
        },
        "2026-11-18T18:00:00Z",
        "2027-11-18T18:00:00Z",
        [],
    ),
    (
        "FIXED_TIME ahead fires once, in its zone",
        {
            "scheduled_type": "FIXED_TIME",
            "scheduled_date": "2026-11-18",
            "scheduled_time": "18:00:00",
            "time_zone": "America/New_York",
        },
        "2026-11-18T18:00:00Z",
        "2026-11-20T00:00:00Z",
        ["2026-11-18T23:00:00Z"],
    ),
    (
        "expire_time (4A, UTC date-time): the run at the expiry instant does not happen",
        {
            "scheduled_type": "DAY",
            "scheduled_time": "06:00:00",
            "time_zone": "UTC",
            "expire_time": "2026-11-20T06:00:00Z",
        },
        "2026-11-18T18:00:00Z",
        "2026-11-25T00:00:00Z",
        ["2026-11-19T06:00:00Z"],
    ),
    (
        "Coordinated Universal Time is UTC",
        {
            "scheduled_type": "DAY",
            "scheduled_time": "17:50:00",
            "time_zone": "Coordinated Universal Time",
        },
        "2026-11-18T18:00:00Z",
        "2026-11-20T00:00:00Z",
        ["2026-11-19T17:50:00Z"],
    ),
    (
        "a missing time_zone is Asia/Shanghai (the documented 4A default)",
        {"scheduled_type": "DAY", "scheduled_time": "08:00:00"},
        "2026-11-18T18:00:00Z",
        "2026-11-20T00:00:00Z",
        ["2026-11-19T00:00:00Z"],
    ),
]


@pytest.mark.parametrize(
    ("fields", "start", "end", "expected"),
    [pytest.param(f, s, e, x, id=name) for name, f, s, e, x in CASES],
)
def test_expansion_table(fields: dict[str, Any], start: str, end: str, expected: list[str]) -> None:
    got = rule(**fields).occurrences(z(start), z(end))
    assert got == [z(x) for x in expected]
    assert all(g.tzinfo is UTC for g in got)


def test_4b_expire_time_without_zone_is_read_in_the_task_zone() -> None:
    fields = {
        "scheduled_type": "DAY",
        "scheduled_time": "14:00:00",
        "time_zone": "Asia/Shanghai",
        "expire_time": "2026-11-20 14:00:00",
    }
    start, end = z("2026-11-18T18:00:00Z"), z("2026-11-25T00:00:00Z")
    desktop = parse_schedule(fields, naive_expire_in_utc=False)
    # 14:00 Shanghai on the 20th is 06:00Z: that run is the expiry instant itself.
    assert desktop.occurrences(start, end) == [z("2026-11-19T06:00:00Z")]
    # The 4A reading (UTC) would let the run on the 20th through: the families differ.
    app = parse_schedule(fields, naive_expire_in_utc=True)
    assert app.occurrences(start, end) == [z("2026-11-19T06:00:00Z"), z("2026-11-20T06:00:00Z")]


def test_expire_time_with_an_offset_is_taken_as_written() -> None:
    fields = {
        "scheduled_type": "DAY",
        "scheduled_time": "06:00:00",
        "time_zone": "UTC",
        "expire_time": "2026-11-20T07:00:00+08:00",
    }
    for utc_reading in (True, False):
        got = parse_schedule(fields, naive_expire_in_utc=utc_reading).occurrences(
            z("2026-11-18T00:00:00Z"), z("2026-11-25T00:00:00Z")
        )
        assert got == [z("2026-11-18T06:00:00Z"), z("2026-11-19T06:00:00Z")]


def test_after_returns_the_next_five_and_stops_at_the_rule_end() -> None:
    daily = rule(scheduled_type="DAY", scheduled_time="21:00:00", time_zone="UTC")
    assert daily.after(z("2026-11-18T18:00:00Z"), 5) == [
        z(f"2026-11-{d}T21:00:00Z") for d in (18, 19, 20, 21, 22)
    ]
    # Exactly at a run: "after" is strict.
    assert daily.after(z("2026-11-18T21:00:00Z"), 1) == [z("2026-11-19T21:00:00Z")]
    impossible = rule(
        scheduled_type="MONTH", month_list="2", date_list="30", scheduled_time="00:00:00"
    )
    assert impossible.after(z("2026-11-18T18:00:00Z"), 5) == []
    leap = rule(
        scheduled_type="MONTH",
        month_list="2",
        date_list="29",
        scheduled_time="00:00:00",
        time_zone="UTC",
    )
    assert leap.after(z("2026-11-18T18:00:00Z"), 2) == [
        z("2028-02-29T00:00:00Z"),
        z("2032-02-29T00:00:00Z"),
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scheduled_type": "WEEK", "scheduled_time": "01:00:00"}, "week_list"),
        ({"scheduled_type": "WEEK", "week_list": "0,8", "scheduled_time": "01:00:00"}, "1–7"),
        ({"scheduled_type": "MONTH", "scheduled_time": "01:00:00"}, "date_list"),
        ({"scheduled_type": "MONTH", "date_list": "32", "scheduled_time": "01:00"}, "1–31"),
        ({"scheduled_type": "DAY", "day_interval": 0, "scheduled_time": "01:00:00"}, "at least"),
        ({"scheduled_type": "DAY", "scheduled_time": "25:00:00"}, "scheduled_time"),
        ({"scheduled_type": "DAY"}, "scheduled_time"),
        ({"scheduled_type": "FIXED_TIME", "scheduled_time": "01:00:00"}, "scheduled_date"),
        ({"scheduled_type": "LIFE_CYCLE"}, "desktop events"),
        ({"scheduled_type": "HOURLY", "scheduled_time": "01:00:00"}, "HOURLY"),
        (
            {"scheduled_type": "DAY", "scheduled_time": "01:00:00", "time_zone": "Mars/Olympus"},
            "Mars/Olympus",
        ),
        (
            {"scheduled_type": "DAY", "scheduled_time": "01:00:00", "expire_time": "soon"},
            "expire_time",
        ),
    ],
)
def test_rules_that_cannot_be_expanded_say_which_field(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuleError, match=message):
        parse_schedule(fields, naive_expire_in_utc=True)


def test_lenient_shapes() -> None:
    # Numbers as strings, lists as arrays, HH:mm without seconds, L mixed with days.
    s = parse_schedule(
        {
            "scheduled_type": "month",
            "month_list": [1, "3"],
            "date_list": "15, l",
            "scheduled_time": "7:05",
            "time_zone": " UTC ",
        },
        naive_expire_in_utc=True,
    )
    assert s.kind is ScheduledType.MONTH
    assert s.months == frozenset({1, 3})
    assert s.month_days == frozenset({15})
    assert s.last_day
    assert s.at == time(7, 5)
    assert s.day_interval == 1


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        ("2026-11-18T18:00:00Z", "Asia/Shanghai", "2026-11-18T18:00:00Z"),
        ("2026-11-18T18:00:00.123Z", "UTC", "2026-11-18T18:00:00.123Z"),
        ("2026-11-19T02:00:00+08:00", "UTC", "2026-11-18T18:00:00Z"),
        ("2026-11-19 02:00:00", "Asia/Shanghai", "2026-11-18T18:00:00Z"),
        ("2026-11-18T10:00:00", "America/Los_Angeles", "2026-11-18T18:00:00Z"),
        (1795024800000, "UTC", "2026-11-18T18:00:00Z"),
        ("1795024800000", "Asia/Shanghai", "2026-11-18T18:00:00Z"),
        (1795024800, "UTC", "2026-11-18T18:00:00Z"),
    ],
)
def test_vendor_time_shapes(value: object, zone: str, expected: str) -> None:
    assert parse_vendor_time(value, resolve_zone(zone)) == z(expected)


def test_vendor_time_empty_and_garbage() -> None:
    assert parse_vendor_time(None, UTC) is None
    assert parse_vendor_time("", UTC) is None
    for bad in ("tomorrow", True, {"t": 1}):
        with pytest.raises(RuleError):
            parse_vendor_time(bad, UTC)


@pytest.mark.parametrize(
    ("name", "offset_hours"),
    [
        ("UTC", 0),
        ("GMT", 0),
        ("Coordinated Universal Time", 0),
        ("GMT+08:00", 8),
        ("UTC-03:30", -3.5),
        ("+05:45", 5.75),
        ("utc+8", 8),
    ],
)
def test_zone_names(name: str, offset_hours: float) -> None:
    moment = datetime(2026, 7, 1, tzinfo=UTC)
    offset = resolve_zone(name).utcoffset(moment)
    assert offset == timedelta(hours=offset_hours)


def test_format_local_round_trips() -> None:
    zone = ZoneInfo("Europe/Berlin")
    moment = z("2026-11-18T18:00:00Z")
    text = format_local(moment, zone)
    assert text == "2026-11-18 19:00:00"
    assert parse_vendor_time(text, zone) == moment


# -- properties ---------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "GMT+08:00",
]
NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]  # vendor 1..7


def independent_match(fields: dict[str, Any], day: date) -> bool:
    """The rule's day predicate written a second way (names, calendar.monthrange)."""
    kind = fields["scheduled_type"]
    if kind == "DAY":
        interval: int = fields["day_interval"]
        return day.day % interval == 1 % interval
    if kind == "WEEK":
        wanted = {NAMES[int(n) - 1] for n in fields["week_list"].split(",")}
        # calendar.weekday counts from Monday = 0, not from the vendor's Sunday = 1.
        monday_first = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
        return monday_first[calendar.weekday(day.year, day.month, day.day)] in wanted
    if kind == "MONTH":
        if day.month not in {int(m) for m in fields["month_list"].split(",")}:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        tokens = fields["date_list"].split(",")
        return str(day.day) in tokens or ("L" in tokens and day.day == last)
    return bool(day.isoformat() == fields["scheduled_date"])


@st.composite
def schedules(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["DAY", "WEEK", "MONTH", "FIXED_TIME"]))
    hour, minute = draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45]))
    fields: dict[str, Any] = {
        "scheduled_type": kind,
        "scheduled_time": f"{hour:02d}:{minute:02d}:00",
        "time_zone": draw(st.sampled_from(ZONES)),
    }
    if kind == "DAY":
        fields["day_interval"] = draw(st.integers(1, 10))
    elif kind == "WEEK":
        days = draw(st.sets(st.integers(1, 7), min_size=1))
        fields["week_list"] = ",".join(map(str, sorted(days)))
    elif kind == "MONTH":
        fields["month_list"] = ",".join(
            map(str, sorted(draw(st.sets(st.integers(1, 12), min_size=1))))
        )
        dates = sorted(draw(st.sets(st.integers(1, 31), min_size=0, max_size=4)))
        tokens = [str(d) for d in dates] + (["L"] if draw(st.booleans()) or not dates else [])
        fields["date_list"] = ",".join(tokens)
    else:
        fields["scheduled_date"] = draw(st.dates(date(2025, 1, 1), date(2030, 12, 31))).isoformat()
    return fields


starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 1), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(fields=schedules(), start=starts, span_hours=st.integers(0, 24 * 62))
def test_expansion_properties(fields: dict[str, Any], start: datetime, span_hours: int) -> None:
    s = parse_schedule(fields, naive_expire_in_utc=True)
    end = start + timedelta(hours=span_hours)
    got = s.occurrences(start, end)
    zone = resolve_zone(fields["time_zone"])

    assert got == sorted(set(got)), "sorted, no duplicates"
    for moment in got:
        assert moment.tzinfo is UTC
        assert start <= moment < end
        wall = datetime.combine(moment.astimezone(zone).date(), s.at)
        local = moment.astimezone(zone)
        nonexistent = (
            wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall
        )
        # The wall clock is the rule's time, except where that time did not exist that day.
        assert local.time() == s.at or nonexistent
        assert independent_match(fields, local.date())

    # Completeness: every local day the rule selects, whose run lands in range, is present.
    day = start.astimezone(zone).date() - timedelta(days=1)
    while day <= end.astimezone(zone).date() + timedelta(days=1):
        if independent_match(fields, day):
            moment = datetime.combine(day, s.at).replace(tzinfo=zone).astimezone(UTC)
            if start <= moment < end:
                assert moment in got
        day += timedelta(days=1)

    # Splitting the range does not change the answer, and "after" agrees with it.
    middle = start + (end - start) / 2
    assert s.occurrences(start, middle) + s.occurrences(middle, end) == got
    if got:
        assert s.after(start - timedelta(microseconds=1), len(got)) == got


@settings(max_examples=60, deadline=None)
@given(fields=schedules(), moment=starts)
def test_after_is_strictly_later_and_ascending(fields: dict[str, Any], moment: datetime) -> None:
    s = parse_schedule(fields, naive_expire_in_utc=True)
    nxt = s.after(moment, 5)
    assert len(nxt) <= 5
    assert all(n > moment for n in nxt)
    assert nxt == sorted(nxt)
    if nxt:
        assert (
            s.occurrences(moment + timedelta(microseconds=1), nxt[-1] + timedelta(seconds=1)) == nxt
        )


def test_naive_bounds_are_refused() -> None:
    s = rule(scheduled_type="DAY", scheduled_time="01:00:00")
    with pytest.raises(ValueError, match="aware"):
        s.occurrences(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC))
