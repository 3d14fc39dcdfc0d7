"""Huawei Cloud Workspace schedule rules: parse a task's schedule fields and expand them into
instants. Pure: no I/O, no clock; every instant in and out is aware, and every result is UTC.

Both Workspace families (Application Streaming ``/v1/…/schedule-task`` and desktops
``/v2/…/scheduled-tasks``) describe a schedule with the same fields: ``scheduled_type``
(``FIXED_TIME`` / ``DAY`` / ``WEEK`` / ``MONTH``), ``scheduled_time`` (``HH:mm:ss`` wall time),
``scheduled_date`` (``yyyy-MM-dd``, FIXED_TIME), ``day_interval``, ``week_list``,
``month_list``, ``date_list`` (``1``–``31`` and ``L``), ``expire_time`` and ``time_zone``.

Readings chosen where the contracts (shared/contracts.md §4) leave a gap; each is covered by
a test in ``tests/test_huawei_rules.py``:

* ``week_list`` ``1``–``7`` means **Sunday–Saturday in both families**. 4B states it
  [SEEN H8 SDK]; for 4A the contracts only say ``1``–``7`` — the Terraform provider's
  documentation of the same resource says "``1`` means Sunday, ``2`` means Monday" and the
  numbering is Quartz's day-of-week, which the ``L`` in ``date_list`` and the service-computed
  ``task_cron`` also point to [INFERRED]. :data:`WEEK_NUMBERING` is the one place to change it.
* ``DAY`` with ``day_interval`` *x* fires on days 1, 1+x, 1+2x, … of every month (Quartz
  ``1/x`` in the day-of-month field, restarting each month) [INFERRED from ``task_cron`` being
  a Quartz-style expression]. With ``x = 1`` — the common case — every reading agrees.
  A missing ``day_interval`` is read as 1 (the reading that reports more runs, not fewer).
* ``MONTH`` with a ``date_list`` day the month does not have (31 in April, 30 in February)
  does not fire that month, as Quartz does; ``L`` is the month's last day. A missing
  ``month_list`` is read as every month.
* A wall time that does not exist (spring-forward gap) fires at the instant the pre-transition
  offset gives, i.e. shifted forward by the gap; an ambiguous one (fall-back) fires once, at
  the first occurrence. Skipping the run, which some schedulers do, would hide a conflict.
* ``expire_time``: a run at or after it does not happen. 4A documents it as a UTC date-time
  [SEEN H7]; 4B gives ``yyyy-MM-dd HH:mm:ss`` with no zone, read in the task's own zone
  [INFERRED]. A value that carries an offset is always taken as written.
* ``time_zone``: IANA names, ``UTC``/``GMT`` (with optional ``+08:00``-style offsets) and
  Windows' ``Coordinated Universal Time`` (the Terraform acceptance tests use it). When it is
  missing, ``Asia/Shanghai`` — the default the Terraform provider documents for 4A, assumed
  for 4B too [INFERRED].
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Literal

from bot.clock import epoch_instant, sane_instant
from bot.zones import lookup_zone

__all__ = [
    "DEFAULT_ZONE",
    "SEARCH_HORIZON",
    "WEEK_NUMBERING",
    "RuleError",
    "Schedule",
    "ScheduledType",
    "format_local",
    "parse_schedule",
    "parse_vendor_time",
    "resolve_zone",
]

DEFAULT_ZONE = "Asia/Shanghai"

WEEK_NUMBERING: Literal["sunday_first", "monday_first"] = "sunday_first"
"""How ``week_list`` numbers the days, for both families (see the module docstring)."""

SEARCH_HORIZON = timedelta(days=366 * 8)
"""How far :meth:`Schedule.after` looks: long enough for a 29 February rule to fire twice."""


class RuleError(ValueError):
    """A schedule definition this module cannot expand; the message says which field."""


class ScheduledType(StrEnum):
    FIXED_TIME = "FIXED_TIME"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


# -- time zones and vendor time strings -------------------------------------------------------


def resolve_zone(name: str | None) -> tzinfo:
    """The zone a task's ``time_zone`` names (UTC, an offset or an IANA name, read by
    :func:`bot.zones.lookup_zone`); :data:`DEFAULT_ZONE` when it is empty."""
    text = (name or "").strip() or DEFAULT_ZONE
    found = lookup_zone(text)
    if found is None:
        raise RuleError(f"time_zone {text!r} is not a zone maintbot knows")
    return found[0]


_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


def parse_vendor_time(value: object, naive_zone: tzinfo) -> datetime | None:
    """An instant from any shape Huawei uses for times, as UTC; ``None`` for empty values.

    Accepted: ISO 8601 with ``Z`` or an offset (with or without fractions), zone-less
    ``yyyy-MM-dd HH:mm:ss`` (read in ``naive_zone``), and epoch milliseconds (int or digits).
    Anything else raises :class:`RuleError`.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RuleError(f"{value!r} is not a time")
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        millis = float(value)
        # Seconds or milliseconds? Anything below 10^11 would be before 1973 in millis.
        seconds = millis / 1000 if millis >= 1e11 else millis
        try:
            return epoch_instant(seconds)
        except ValueError as exc:
            raise RuleError(f"epoch time {exc}") from None
    if not isinstance(value, str):
        raise RuleError(f"{value!r} is not a time")
    text = value.strip()
    parsed = _parse_text_time(text)
    if parsed is None:
        raise RuleError(f"{text[:40]!r} is not a time Huawei documents")
    if parsed.tzinfo is None:
        parsed = _localize(parsed, naive_zone)
    try:
        return sane_instant(parsed)
    except ValueError as exc:
        raise RuleError(f"time {exc}") from None


def _parse_text_time(text: str) -> datetime | None:
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    for fmt in _NAIVE_FORMATS:
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 - the caller applies the zone
        except ValueError:
            continue
    return None


def format_local(moment: datetime, zone: tzinfo) -> str:
    """``yyyy-MM-dd HH:mm:ss`` wall time of ``moment`` in ``zone`` (Huawei's zone-less shape)."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _localize(wall: datetime, zone: tzinfo) -> datetime:
    """``wall`` in ``zone`` with fold=0: first occurrence of an ambiguous time, and for a
    nonexistent time the instant the pre-transition offset gives (shifted past the gap)."""
    return wall.replace(tzinfo=zone, fold=0)


# -- the rule -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """One task's recurrence, normalised: ``weekdays`` are ISO (1 = Monday … 7 = Sunday)
    whatever the vendor's numbering; ``expires`` is a UTC instant."""

    kind: ScheduledType
    at: time
    zone: tzinfo
    day_interval: int = 1
    weekdays: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset(range(1, 13))
    month_days: frozenset[int] = frozenset()
    last_day: bool = False
    on_date: date | None = None
    expires: datetime | None = None

    def occurrences(self, start: datetime, end: datetime) -> list[datetime]:
        """Every run in ``[start, end)``, sorted, as UTC instants."""
        start, end = _aware(start, "start"), _aware(end, "end")
        if end <= start:
            return []
        # A day either side: the zone's offset can move a wall date across the UTC bounds.
        first = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date() + timedelta(days=1)
        found = []
        for day in self._dates(first, last):
            moment = self._instant(day)
            if moment is None:
                break
            if moment >= end:
                break
            if moment >= start:
                found.append(moment)
        return found

    def after(self, moment: datetime, count: int = 5) -> list[datetime]:
        """The next ``count`` runs strictly after ``moment`` (fewer if the rule ends or
        nothing fires within :data:`SEARCH_HORIZON`)."""
        moment = _aware(moment, "moment")
        first = moment.astimezone(self.zone).date() - timedelta(days=1)
        last = (moment + SEARCH_HORIZON).astimezone(self.zone).date()
        found: list[datetime] = []
        for day in self._dates(first, last):
            if len(found) >= count:
                break
            instant = self._instant(day)
            if instant is None:
                break
            if instant > moment:
                found.append(instant)
        return found

    def fires_on(self, day: date) -> bool:
        """Whether the rule selects the local calendar date ``day`` (ignoring expiry)."""
        if self.kind is ScheduledType.FIXED_TIME:
            return day == self.on_date
        if self.kind is ScheduledType.DAY:
            return (day.day - 1) % self.day_interval == 0
        if self.kind is ScheduledType.WEEK:
            return day.isoweekday() in self.weekdays
        if day.month not in self.months:
            return False
        return day.day in self.month_days or (self.last_day and _is_last_day(day))

    def _instant(self, day: date) -> datetime | None:
        """The run on local date ``day`` as UTC, or ``None`` once the rule has expired
        (dates come in ascending order, so nothing later can fire either)."""
        moment = _localize(datetime.combine(day, self.at), self.zone).astimezone(UTC)
        if self.expires is not None and moment >= self.expires:
            return None
        return moment

    def _dates(self, first: date, last: date) -> Iterator[date]:
        """Local dates in ``[first, last]`` the rule fires on, ascending."""
        if self.kind is ScheduledType.FIXED_TIME:
            if self.on_date is not None and first <= self.on_date <= last:
                yield self.on_date
            return
        if self.kind is ScheduledType.MONTH:
            yield from self._month_dates(first, last)
            return
        day = first
        while day <= last:
            if self.fires_on(day):
                yield day
            day += timedelta(days=1)

    def _month_dates(self, first: date, last: date) -> Iterator[date]:
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            if month in self.months:
                length = _month_length(year, month)
                days = {d for d in self.month_days if d <= length}
                if self.last_day:
                    days.add(length)
                for d in sorted(days):
                    candidate = date(year, month, d)
                    if first <= candidate <= last:
                        yield candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _month_length(year: int, month: int) -> int:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (following - timedelta(days=1)).day


def _is_last_day(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month


# -- parsing the vendor's fields ----------------------------------------------------------------


def _int_list(value: object, field: str, low: int, high: int) -> list[str]:
    """A comma list (``"1,2,7"``) or a JSON list, as stripped tokens; range-checked by caller."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        tokens = [str(v).strip() for v in value]
    elif isinstance(value, str | int):
        tokens = [t.strip() for t in str(value).split(",")]
    else:
        raise RuleError(f"{field} {value!r} is not a comma-separated list")
    tokens = [t for t in tokens if t]
    for token in tokens:
        if token.upper() == "L" and field == "date_list":
            continue
        if not token.isdigit() or not low <= int(token) <= high:
            raise RuleError(f"{field} value {token!r} is outside {low}–{high}")
    return tokens


def _vendor_weekday(number: int) -> int:
    """Vendor ``week_list`` number → ISO weekday."""
    if WEEK_NUMBERING == "sunday_first":
        return 7 if number == 1 else number - 1
    return number


def _parse_time_of_day(value: object) -> time:
    if not isinstance(value, str) or not value.strip():
        raise RuleError("scheduled_time is missing")
    text = value.strip()
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            return datetime.strptime(text, fmt).time()  # noqa: DTZ007 - a wall time, no date
        except ValueError:
            continue
    raise RuleError(f"scheduled_time {text!r} is not HH:mm:ss")


def parse_schedule(
    fields: Mapping[str, Any],
    *,
    naive_expire_in_utc: bool,
    default_zone: str = DEFAULT_ZONE,
) -> Schedule:
    """A :class:`Schedule` from a task's schedule fields (list item, show body or a
    future-executions request body). Lenient about shapes (numbers as strings, lists as JSON
    arrays); strict about meaning: anything it cannot expand raises :class:`RuleError`.

    ``naive_expire_in_utc`` — 4A: ``True`` (a UTC date-time); 4B: ``False`` (task zone).
    """
    raw_type = str(fields.get("scheduled_type") or "").strip().upper()
    try:
        kind = ScheduledType(raw_type)
    except ValueError:
        if raw_type == "LIFE_CYCLE":
            raise RuleError("fires on desktop events (LIFE_CYCLE), not on a clock") from None
        raise RuleError(
            f"scheduled_type {raw_type or 'missing'!r} is not one maintbot knows"
        ) from None
    zone_name = fields.get("time_zone")
    zone = resolve_zone(zone_name if isinstance(zone_name, str) and zone_name else default_zone)
    at = _parse_time_of_day(fields.get("scheduled_time"))
    try:
        expires = parse_vendor_time(fields.get("expire_time"), UTC if naive_expire_in_utc else zone)
    except RuleError as exc:
        raise RuleError(f"expire_time: {exc}") from None

    if kind is ScheduledType.FIXED_TIME:
        raw_date = fields.get("scheduled_date")
        try:
            on_date = date.fromisoformat(str(raw_date).strip()[:10])
        except ValueError:
            raise RuleError(f"scheduled_date {raw_date!r} is not yyyy-MM-dd") from None
        return Schedule(kind, at, zone, on_date=on_date, expires=expires)

    if kind is ScheduledType.DAY:
        raw_interval = fields.get("day_interval")
        try:
            interval = int(str(raw_interval).strip()) if raw_interval not in (None, "") else 1
        except ValueError:
            raise RuleError(f"day_interval {raw_interval!r} is not a number") from None
        if interval < 1:
            raise RuleError(f"day_interval {interval} must be at least 1")
        return Schedule(kind, at, zone, day_interval=interval, expires=expires)

    if kind is ScheduledType.WEEK:
        tokens = _int_list(fields.get("week_list"), "week_list", 1, 7)
        if not tokens:
            raise RuleError("week_list is missing for a WEEK schedule")
        weekdays = frozenset(_vendor_weekday(int(t)) for t in tokens)
        return Schedule(kind, at, zone, weekdays=weekdays, expires=expires)

    months = frozenset(int(t) for t in _int_list(fields.get("month_list"), "month_list", 1, 12))
    dates = _int_list(fields.get("date_list"), "date_list", 1, 31)
    if not dates:
        raise RuleError("date_list is missing for a MONTH schedule")
    return Schedule(
        kind,
        at,
        zone,
        months=months or frozenset(range(1, 13)),
        month_days=frozenset(int(t) for t in dates if t.upper() != "L"),
        last_day=any(t.upper() == "L" for t in dates),
        expires=expires,
    )
