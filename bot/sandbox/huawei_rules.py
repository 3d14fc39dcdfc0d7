"""The Huawei simulator's own reading of a task's schedule fields, on python-dateutil's
``rrule``.

The connector expands schedules with bot/schedule_rules.py; the simulator plays the vendor,
so it must not share that code: a simulator that reads rules the way the client does agrees
with it by construction, and the test that the connector's expansion matches the
simulator's ``future-executions`` would compare the code with itself. This is a second,
independent reading of the same documented semantics (shared/contracts.md §4):

* ``DAY`` + ``day_interval`` *x*: days 1, 1+x, 1+2x, … of each month (Quartz ``1/x``);
  ``WEEK``: ``week_list`` 1 = Sunday … 7 = Saturday; ``MONTH``: ``month_list`` (empty = all)
  and ``date_list`` (``L`` = last day; a day the month lacks does not fire);
  ``FIXED_TIME``: one ``scheduled_date``.
* The wall time is the task's ``time_zone`` (default ``Asia/Shanghai``): an ambiguous wall
  time fires at its first occurrence; a wall time in a spring-forward gap fires at the
  instant the offset before the change gives (later by the gap).
* ``expire_time``: no run at or after it; zone-less values are UTC for 4A and the task's
  zone for 4B.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule  # type: ignore[import-untyped]  # no stubs in the venv

__all__ = ["ScheduleRejected", "SimSchedule", "read_schedule", "wall_text", "zone_of"]

DEFAULT_ZONE = "Asia/Shanghai"
# Far enough for a 29 February rule to fire twice; bounds rules that can never fire.
_HORIZON_YEARS = 8
# Vendor week_list numbers 1..7, Sunday first.
_WEEKDAYS = (rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA)
_UTC_ALIASES = frozenset(
    {"utc", "gmt", "z", "zulu", "etc/utc", "etc/gmt", "coordinated universal time"}
)
_FIXED_OFFSET = re.compile(r"(?i)^(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$")


class ScheduleRejected(ValueError):
    """Schedule fields the vendor would answer with 400; the message names the field."""


def zone_of(name: object) -> tzinfo:
    """The zone a ``time_zone`` value names (``Asia/Shanghai`` when empty)."""
    text = name.strip() if isinstance(name, str) else ""
    text = text or DEFAULT_ZONE
    if text.lower() in _UTC_ALIASES:
        return UTC
    offset = _FIXED_OFFSET.match(text)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        span = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if span > timedelta(hours=14):
            raise ScheduleRejected(f"time_zone {text!r} is out of range")
        return timezone(span if sign == "+" else -span)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleRejected(f"time_zone {text!r} is unknown") from None


def wall_text(moment: datetime, zone: tzinfo) -> str:
    """Huawei's zone-less ``yyyy-MM-dd HH:mm:ss`` for ``moment`` in ``zone``."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S}"


@dataclass(frozen=True)
class SimSchedule:
    """A task's recurrence in ``zone``: an rrule frequency with its by-rules (``by``), or the
    single wall time ``once``."""

    zone: tzinfo
    frequency: int | None
    by: Mapping[str, Any]
    once: datetime | None
    expires: datetime | None

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Runs in ``[start, end)`` as UTC instants, ascending."""
        # A day either side of the bounds' local dates: an offset moves wall dates.
        walls = self._walls(
            start.astimezone(self.zone).date() - timedelta(days=1),
            end.astimezone(self.zone).date() + timedelta(days=1),
        )
        return [t for t in map(self._instant, walls) if start <= t < end and self._live(t)]

    def after(self, moment: datetime, count: int) -> list[datetime]:
        """The next ``count`` runs strictly after ``moment`` (fewer once the rule expires)."""
        first = moment.astimezone(self.zone).date() - timedelta(days=1)
        last = first.replace(year=first.year + _HORIZON_YEARS, day=min(first.day, 28))
        found: list[datetime] = []
        for wall in self._walls(first, last):
            instant = self._instant(wall)
            if not self._live(instant) or len(found) == count:
                break
            if instant > moment:
                found.append(instant)
        return found

    def _walls(self, first: date, last: date) -> Iterator[datetime]:
        """Wall times on the local dates ``first`` to ``last``, ascending, lazily."""
        start, until = datetime.combine(first, time()), datetime.combine(last, time.max)
        if self.frequency is None:
            if self.once is not None and start <= self.once <= until:
                yield self.once
            return
        # The by-rules alone select the dates (interval 1), so the rule may start anywhere:
        # starting at ``first`` keeps each query short.
        yield from rrule.rrule(self.frequency, dtstart=start, until=until, **self.by)

    def _instant(self, wall: datetime) -> datetime:
        # zoneinfo's fold=0: the first of an ambiguous pair, and for a wall time inside a
        # gap the offset in force before the change.
        return wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    def _live(self, instant: datetime) -> bool:
        return self.expires is None or instant < self.expires


def _text(fields: Mapping[str, Any], key: str) -> str:
    value = fields.get(key)
    return "" if value is None else str(value).strip()


def _numbers(fields: Mapping[str, Any], key: str, low: int, high: int) -> list[str]:
    value = fields.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, list | tuple):
        words = [str(v).strip() for v in value]
    elif isinstance(value, str | int) and not isinstance(value, bool):
        words = str(value).split(",")
    else:
        raise ScheduleRejected(f"{key} must be a comma-separated list")
    words = [w.strip() for w in words if w.strip()]
    for word in words:
        if key == "date_list" and word.upper() == "L":
            continue
        if not (word.isdigit() and low <= int(word) <= high):
            raise ScheduleRejected(f"{key} entry {word!r} is not in {low}-{high}")
    return words


def _time_of_day(fields: Mapping[str, Any]) -> time:
    text = _text(fields, "scheduled_time")
    if not text:
        raise ScheduleRejected("scheduled_time is required")
    parts = text.split(":")
    if len(parts) in (2, 3) and all(p.isdigit() and len(p) <= 2 for p in parts):
        hour, minute, second = (int(p) for p in (*parts, "0")[:3])
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    raise ScheduleRejected(f"scheduled_time {text!r} is not HH:mm:ss")


def _expiry(value: object, zone: tzinfo) -> datetime | None:
    """``expire_time`` as a UTC instant: ISO 8601 (offset honoured), zone-less wall time in
    ``zone``, or epoch milliseconds."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if isinstance(value, int | str) and not isinstance(value, bool) and text.isdigit():
        try:
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise ScheduleRejected(f"expire_time {text!r} is out of range") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ScheduleRejected(f"expire_time {text!r} is not a date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def read_schedule(fields: Mapping[str, Any], *, naive_expire_in_utc: bool) -> SimSchedule:
    """The schedule the fields describe, or :class:`ScheduleRejected` saying which field."""
    kind = _text(fields, "scheduled_type").upper()
    if kind == "LIFE_CYCLE":
        raise ScheduleRejected("a LIFE_CYCLE task fires on desktop events, not on a clock")
    if kind not in ("FIXED_TIME", "DAY", "WEEK", "MONTH"):
        raise ScheduleRejected(f"scheduled_type {kind or 'missing'!r} is not supported")
    zone = zone_of(fields.get("time_zone"))
    at = _time_of_day(fields)
    expires = _expiry(fields.get("expire_time"), UTC if naive_expire_in_utc else zone)
    by: dict[str, Any] = {"byhour": at.hour, "byminute": at.minute, "bysecond": at.second}
    frequency: int | None = None
    once: datetime | None = None
    if kind == "FIXED_TIME":
        raw = _text(fields, "scheduled_date")
        try:
            once = datetime.combine(date.fromisoformat(raw[:10]), at)
        except ValueError:
            raise ScheduleRejected(f"scheduled_date {raw!r} is not yyyy-MM-dd") from None
    elif kind == "DAY":
        raw = _text(fields, "day_interval") or "1"
        if not raw.isdigit() or int(raw) < 1:
            raise ScheduleRejected(f"day_interval {raw!r} must be a whole number of at least 1")
        frequency, by["bymonthday"] = rrule.MONTHLY, tuple(range(1, 32, int(raw)))
    elif kind == "WEEK":
        numbers = _numbers(fields, "week_list", 1, 7)
        if not numbers:
            raise ScheduleRejected("week_list is required for a WEEK schedule")
        frequency, by["byweekday"] = rrule.WEEKLY, tuple(_WEEKDAYS[int(n) - 1] for n in numbers)
    else:
        months = [int(m) for m in _numbers(fields, "month_list", 1, 12)]
        dates = _numbers(fields, "date_list", 1, 31)
        if not dates:
            raise ScheduleRejected("date_list is required for a MONTH schedule")
        frequency = rrule.MONTHLY
        by["bymonth"] = tuple(months) if months else tuple(range(1, 13))
        by["bymonthday"] = tuple(sorted({-1 if d.upper() == "L" else int(d) for d in dates}))
    return SimSchedule(zone=zone, frequency=frequency, by=by, once=once, expires=expires)
