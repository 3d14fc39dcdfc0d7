"""Predicted run times (bot/predict.py): patterns found in run history, and the reasons
given where there is none."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.predict import MIN_INTERVAL_RUNS, MIN_RUNS, predict

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def daily(
    first: datetime, days: int, *, at: time, zone: ZoneInfo, jitter_s: int = 0, seed: int = 1
) -> list[datetime]:
    """A wall-clock job: ``at`` local on each of ``days`` days from ``first``'s date, each
    start up to ``jitter_s`` seconds late."""
    rng = random.Random(seed)
    day = first.astimezone(zone).date()
    return [
        datetime.combine(day + timedelta(days=i), at, tzinfo=zone).astimezone(UTC)
        + timedelta(seconds=rng.randrange(jitter_s + 1))
        for i in range(days)
    ]


def every(first: datetime, period: timedelta, count: int, *, jitter_s: int = 0) -> list[datetime]:
    rng = random.Random(3)
    return [
        first + i * period + timedelta(seconds=rng.randrange(jitter_s + 1)) for i in range(count)
    ]


START = datetime(2026, 6, 1, tzinfo=UTC)


def test_daily_at_a_wall_clock_time_with_jitter() -> None:
    runs = daily(START, 14, at=time(2, 30), zone=BERLIN, jitter_s=90)
    now = runs[-1] + timedelta(hours=10)
    found = predict(runs, "Europe/Berlin", now)
    assert found.pattern is not None
    assert found.pattern.kind == "daily"
    assert found.pattern.time_of_day == time(2, 31)
    nxt = found.pattern.next_after(now)
    assert nxt is not None
    assert nxt.astimezone(BERLIN).strftime("%H:%M") == "02:31"
    assert found.describe(nxt, "Europe/Berlin") == "likely 02:31 (daily, from 14 runs)"
    assert 0.8 < found.pattern.confidence <= 1


def test_daily_exact_description() -> None:
    runs = daily(START, 14, at=time(2, 30), zone=BERLIN)
    found = predict(runs, "Europe/Berlin", runs[-1] + timedelta(hours=1))
    nxt = found.starts(runs[-1], runs[-1] + timedelta(days=2))
    assert [n.astimezone(BERLIN).strftime("%d %H:%M") for n in nxt] == ["14 02:30", "15 02:30"]
    assert found.describe(nxt[0], "Europe/Berlin") == "likely 02:30 (daily, from 14 runs)"
    # Shown in another zone, the same instant reads as that zone's time.
    assert found.describe(nxt[0], "UTC") == "likely 00:30 (daily, from 14 runs)"


def test_weekly_on_a_weekday() -> None:
    # Mondays at 06:00 New York, five weeks.
    first = datetime(2026, 6, 1, 6, 0, tzinfo=NEW_YORK)
    runs = [first + timedelta(weeks=i) for i in range(5)]
    found = predict(runs, "America/New_York", runs[-1] + timedelta(days=2))
    assert found.pattern is not None
    assert found.pattern.kind == "weekly"
    assert found.pattern.summary == "weekly on Mon at 06:00"
    week = found.starts(runs[-1] + timedelta(hours=1), runs[-1] + timedelta(days=8))
    assert len(week) == 1
    assert week[0].astimezone(NEW_YORK).strftime("%a %H:%M") == "Mon 06:00"


def test_weekdays_only_job_is_not_predicted_at_weekends() -> None:
    first = datetime(2026, 6, 1, 7, 15, tzinfo=BERLIN)  # a Monday
    runs = [
        first + timedelta(days=i) for i in range(19) if (first + timedelta(days=i)).weekday() < 5
    ]
    found = predict(runs, "Europe/Berlin", runs[-1] + timedelta(hours=1))
    assert found.pattern is not None
    assert found.pattern.kind == "weekdays"
    assert found.pattern.weekdays == frozenset(range(5))
    weekend = found.starts(
        datetime(2026, 6, 20, tzinfo=BERLIN), datetime(2026, 6, 22, tzinfo=BERLIN)
    )
    assert weekend == []


def test_hourly_with_jitter() -> None:
    runs = every(START, timedelta(hours=1), 20, jitter_s=120)
    found = predict(runs, "UTC", runs[-1] + timedelta(minutes=10))
    assert found.pattern is not None
    assert found.pattern.kind == "interval"
    assert found.pattern.summary == "hourly"
    window = found.starts(
        runs[-1] + timedelta(hours=1, minutes=30), runs[-1] + timedelta(hours=3, minutes=30)
    )
    assert len(window) == 2
    assert found.describe(window[0]).endswith("(hourly, from 20 runs)")


def test_every_fifteen_minutes() -> None:
    runs = every(START, timedelta(minutes=15), 30, jitter_s=20)
    found = predict(runs, "UTC", runs[-1] + timedelta(minutes=1))
    assert found.pattern is not None
    assert found.pattern.summary == "every 15m"
    assert (
        len(found.starts(runs[-1] + timedelta(minutes=5), runs[-1] + timedelta(hours=2, minutes=5)))
        == 8
    )


def test_missed_days_are_tolerated_within_limits() -> None:
    runs = daily(START, 14, at=time(4, 0), zone=BERLIN)
    with_gaps = [r for i, r in enumerate(runs) if i not in (3, 9)]
    found = predict(with_gaps, "Europe/Berlin", runs[-1] + timedelta(hours=1))
    assert found.pattern is not None
    assert found.pattern.kind == "daily"
    assert found.pattern.runs == 12
    assert found.pattern.confidence < predict(runs, "Europe/Berlin", runs[-1]).pattern.confidence  # type: ignore[union-attr]


def test_too_many_missed_days_in_a_row_end_the_stretch() -> None:
    runs = daily(START, 14, at=time(4, 0), zone=BERLIN)
    # Four missed days in a row: only the five runs after them are a stretch.
    kept = runs[:5] + runs[9:]
    found = predict(kept, "Europe/Berlin", runs[-1] + timedelta(hours=1))
    assert found.pattern is not None
    assert found.pattern.runs == 5


def test_one_manual_run_among_daily_runs_is_passed_over() -> None:
    runs = daily(START, 14, at=time(2, 30), zone=BERLIN)
    manual = runs[7] + timedelta(hours=9, minutes=12)
    found = predict([*runs, manual], "Europe/Berlin", runs[-1] + timedelta(hours=1))
    assert found.pattern is not None
    assert found.pattern.kind == "daily"
    assert found.pattern.runs == 14


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [
        ("Europe/Berlin", datetime(2026, 3, 29), datetime(2026, 10, 25)),
        ("America/New_York", datetime(2026, 3, 8), datetime(2026, 11, 1)),
    ],
)
def test_a_0230_local_job_stays_0230_local_across_dst(
    zone: str, spring: datetime, autumn: datetime
) -> None:
    tz = ZoneInfo(zone)
    for change in (spring, autumn):
        # Ten days either side of the change, the vendor firing at 02:30 local (in the
        # spring gap, at the offset before the change: 03:30 new time).
        runs = daily(change - timedelta(days=10), 10, at=time(2, 30), zone=tz)
        now = runs[-1] + timedelta(hours=2)
        found = predict(runs, zone, now)
        assert found.pattern is not None
        assert found.pattern.kind == "daily"
        after = found.starts(now, now + timedelta(days=14))
        local = [a.astimezone(tz) for a in after]
        for moment in local:
            if moment.date() == change.date() and change is spring:
                # 02:30 does not exist that day: predicted at 03:30 new time.
                assert moment.strftime("%H:%M") == "03:30"
            else:
                assert moment.strftime("%H:%M") == "02:30"
        # A constant-interval reading would be an hour off after the change; this is not.
        assert len({a.astimezone(UTC).strftime("%H:%M") for a in after}) == 2


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_history_across_a_dst_week_is_one_daily_pattern(zone: str) -> None:
    tz = ZoneInfo(zone)
    change = datetime(2026, 3, 29) if zone == "Europe/Berlin" else datetime(2026, 3, 8)
    runs = daily(change - timedelta(days=7), 14, at=time(2, 30), zone=tz, jitter_s=60)
    found = predict(runs, zone, runs[-1] + timedelta(hours=1))
    assert found.pattern is not None
    assert found.pattern.kind == "daily"
    assert found.pattern.runs == 14  # the gap day's 03:30 run counts as on time


def test_vendor_that_fires_at_the_change_on_the_gap_day_still_fits() -> None:
    runs = daily(datetime(2026, 3, 22), 14, at=time(2, 30), zone=BERLIN)
    gap_day = next(i for i, r in enumerate(runs) if r.astimezone(BERLIN).date().day == 29)
    runs[gap_day] = datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)  # the moment of the change
    found = predict(runs, "Europe/Berlin", runs[-1] + timedelta(hours=1))
    assert found.pattern is not None
    assert found.pattern.runs == 14


def test_changed_pattern_predicts_from_the_new_one_once_it_has_enough_runs() -> None:
    old = daily(START, 14, at=time(2, 30), zone=BERLIN)
    new = daily(old[-1] + timedelta(days=1), 7, at=time(4, 0), zone=BERLIN)
    found = predict(old + new, "Europe/Berlin", new[-1] + timedelta(hours=1))
    assert found.pattern is not None
    assert found.pattern.runs == 7
    assert found.pattern.time_of_day == time(4, 0)


def test_changed_pattern_with_too_few_new_runs_is_unknown_and_says_why() -> None:
    old = daily(START, 14, at=time(2, 30), zone=BERLIN)
    new = daily(old[-1] + timedelta(days=1), 2, at=time(4, 0), zone=BERLIN)
    found = predict(old + new, "Europe/Berlin", new[-1] + timedelta(hours=1))
    assert found.pattern is None
    assert "the pattern changed on" in found.reason
    assert "daily at 02:30" in found.reason
    assert f"only 2 runs since, {MIN_RUNS} needed" in found.reason
    assert found.describe().startswith("time unknown: the pattern changed")


def test_hourly_changed_to_daily() -> None:
    hourly = every(START, timedelta(hours=1), 30)
    later = daily(hourly[-1] + timedelta(days=1), 5, at=time(1, 0), zone=BERLIN)
    found = predict(hourly + later, "Europe/Berlin", later[-1] + timedelta(hours=2))
    assert found.pattern is not None
    assert found.pattern.kind == "daily"


@pytest.mark.parametrize(
    ("runs", "reason"),
    [
        ([], "no past runs seen"),
        ([START], "only 1 run seen"),
        ([START, START + timedelta(days=1)], "only 2 runs seen"),
    ],
)
def test_too_few_runs(runs: list[datetime], reason: str) -> None:
    found = predict(runs, "UTC", START + timedelta(days=2))
    assert found.pattern is None
    assert found.reason == reason
    assert found.describe() == f"time unknown: {reason}"
    assert found.starts(START, START + timedelta(days=30)) == []


def test_no_clear_pattern_says_the_intervals() -> None:
    gaps = [1, 9, 3, 5, 2]
    runs = [START]
    for g in gaps:
        runs.append(runs[-1] + timedelta(hours=g))
    found = predict(runs, "UTC", runs[-1] + timedelta(minutes=5))
    assert found.pattern is None
    assert found.reason == "no clear pattern in 6 runs (intervals 1h to 9h)"


def test_a_pattern_that_went_silent_is_unknown() -> None:
    runs = daily(START, 14, at=time(2, 30), zone=BERLIN)
    found = predict(runs, "Europe/Berlin", runs[-1] + timedelta(days=5))
    assert found.pattern is None
    assert found.reason.startswith("no run since")
    assert "daily at 02:30" in found.reason


def test_runs_after_now_and_naive_or_absurd_ones_are_ignored() -> None:
    runs = daily(START, 6, at=time(2, 30), zone=BERLIN)
    future = runs[-1] + timedelta(days=3)
    found = predict([*runs, future, datetime(1900, 1, 1, tzinfo=UTC)], "Europe/Berlin", runs[-1])
    assert found.seen == 6
    before = predict(runs, "Europe/Berlin", runs[0] - timedelta(days=1))
    assert before.reason == "no past runs seen (6 runs dated after the check's time)"
    with pytest.raises(ValueError, match="aware"):
        predict(runs, "UTC", datetime(2026, 1, 1))  # naive on purpose


_instants = st.datetimes(
    min_value=datetime(1960, 1, 1), max_value=datetime(2210, 1, 1), timezones=st.just(UTC)
)
_zones = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
)


@settings(max_examples=150, deadline=None)
@given(
    starts=st.lists(_instants, max_size=40),
    zone=_zones,
    now=_instants,
    start=_instants,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
)
def test_never_raises_and_predictions_stay_in_the_range(
    starts: list[datetime], zone: str, now: datetime, start: datetime, length: timedelta
) -> None:
    found = predict(starts, zone, now)
    end = start + length
    predicted = found.starts(start, end)
    assert all(start <= p < end for p in predicted)
    assert found.describe()
    assert predicted == sorted(predicted)


@settings(max_examples=100, deadline=None)
@given(
    period_minutes=st.integers(min_value=1, max_value=6 * 60),
    count=st.integers(min_value=MIN_INTERVAL_RUNS, max_value=60),
    first=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_any_constant_interval_is_found(period_minutes: int, count: int, first: datetime) -> None:
    period = timedelta(minutes=period_minutes)
    runs = [first + i * period for i in range(count)]
    found = predict(runs, "UTC", runs[-1])
    assert found.pattern is not None
    nxt = found.pattern.next_after(runs[-1] + timedelta(seconds=1))
    assert nxt is not None
    assert abs(nxt - (runs[-1] + period)) <= timedelta(minutes=1)


def test_random_starts_are_no_interval_pattern_but_six_regular_ones_are() -> None:
    # Seeded: the same 500 histories every run. Four in a row fitting some interval by
    # chance is what MIN_INTERVAL_RUNS guards against (see its comment for the rates).
    rng = random.Random(20261204)
    now = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
    for _ in range(500):
        starts = sorted(now - timedelta(minutes=rng.uniform(0, 3 * 24 * 60)) for _ in range(17))
        found = predict(starts, "UTC", now)
        assert found.pattern is None or found.pattern.kind != "interval", starts
    regular = [now - timedelta(hours=7 * k, seconds=rng.uniform(-60, 60)) for k in range(1, 7)]
    found = predict(regular, "UTC", now)
    assert found.pattern is not None
    assert found.pattern.kind == "interval"
    assert found.pattern.period == timedelta(hours=7)


def test_a_short_regular_interval_says_how_many_runs_it_needs() -> None:
    now = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
    runs = [now - timedelta(minutes=15 * k) for k in range(1, 5)]
    found = predict(runs, "UTC", now)
    assert found.pattern is None
    assert (
        found.reason == "only 4 runs seen, every 15m or so; an interval of less than a day needs 6"
    )
