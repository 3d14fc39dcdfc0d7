"""The calendar feed: maintenance windows and series as one RFC 5545 ``VCALENDAR``.

Pure: the caller reads the store and passes the records in, with ``now``; nothing here
does I/O or reads a clock. Every line of the feed is written by the ``icalendar`` package,
so user text (titles with commas, semicolons, newlines, any script) is escaped and folded
by the library, never by hand.

- A one-off window is a ``VEVENT`` in UTC: its instants are what the store keeps, and a
  client shows them in its own zone.
- A series is one ``VEVENT`` with ``RRULE`` and ``EXDATE`` in its own zone (``TZID``) with a
  ``VTIMEZONE`` built from zoneinfo, so a client expands "02:00 every Saturday" to 02:00
  wall clock on each date, either side of a DST change.
- ``UID`` is stable per window or series, ``SEQUENCE`` is the record's version and
  ``DTSTAMP`` its last change (RFC 5545 3.8.7.2: without ``METHOD`` they are the same), so
  the same store gives the same feed byte for byte and a client sees an edit as an update.
- Open windows are in the feed; closed ones (ended, failed or cancelled) stay for
  :data:`FEED_HISTORY` after they closed, so a subscriber's calendar shows a cancellation
  instead of silently keeping the event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vDuration, vRecur, vText

from bot.model import OPEN_WINDOW_STATES, PlannedTask, WindowRecord, WindowState
from bot.zones import lookup_zone

__all__ = [
    "CALENDAR_NAME",
    "CONTENT_TYPE",
    "FEED_HISTORY",
    "SERIES_STATES",
    "SeriesEvent",
    "build_feed",
    "series_in_feed",
    "series_uid",
    "window_in_feed",
    "window_uid",
]

# How long a closed window (or series) stays in the feed after it closed: long enough that
# a client refreshing every few hours, or a laptop back from a holiday, sees the change.
FEED_HISTORY = timedelta(days=30)
# VTIMEZONEs list each zone's transitions up to this far ahead of ``now`` (an open-ended
# series keeps going; the feed is rebuilt at every fetch, so the horizon moves with it).
TIMEZONE_HORIZON = timedelta(days=5 * 366)

CALENDAR_NAME = "Maintenance windows"
CONTENT_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//maintbot//maintenance calendar//EN"
UID_DOMAIN = "maintbot"
# Asks clients that honour it (Outlook, Apple Calendar) to refresh hourly.
REFRESH_INTERVAL = timedelta(hours=1)

# The state word of a window or series → the event's STATUS (RFC 5545 3.8.1.11).
_STATUS = {
    WindowState.PLANNED.value: "TENTATIVE",
    WindowState.APPROVED.value: "CONFIRMED",
    WindowState.ACTIVE.value: "CONFIRMED",
    WindowState.COMPLETED.value: "CONFIRMED",
    WindowState.COMPLETED_WITH_EXCEPTIONS.value: "CONFIRMED",
    WindowState.FAILED.value: "CONFIRMED",
    WindowState.CANCELLED.value: "CANCELLED",
    # A series that reached its end, or was ended early: what happened, happened.
    "ended": "CONFIRMED",
}
SERIES_STATES = frozenset(_STATUS)
_OPEN = frozenset(s.value for s in OPEN_WINDOW_STATES)


@dataclass(frozen=True, kw_only=True)
class SeriesEvent:
    """A recurring window as the feed shows it (the series store lives elsewhere and
    hands these in).

    ``dtstart`` is the first occurrence's start (aware; shown in ``tz``); ``duration`` each
    occurrence's length; ``rrule`` the RFC 5545 RRULE value without its ``RRULE:`` prefix
    (``FREQ=WEEKLY;BYDAY=SA``; an ``UNTIL`` in it must be UTC, ``…Z``, as RFC 5545 wants
    with a zoned DTSTART); ``exdates`` the starts of skipped occurrences (aware).
    ``state`` is one of :data:`SERIES_STATES`; ``tasks`` are ``(system, id, name)``.
    """

    id: str
    title: str | None
    text: str
    tz: str
    dtstart: datetime
    duration: timedelta
    rrule: str
    exdates: tuple[datetime, ...] = ()
    state: str
    tasks: tuple[tuple[str, str, str], ...] = ()
    version: int
    updated_at: datetime

    def __post_init__(self) -> None:
        # Refused here, where the mistake is made, rather than as a broken feed later.
        for name, moment in (
            ("dtstart", self.dtstart),
            ("updated_at", self.updated_at),
            *(("exdates", d) for d in self.exdates),
        ):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError(f"SeriesEvent {self.id}: {name} must be timezone-aware")
        if lookup_zone(self.tz) is None:
            raise ValueError(f"SeriesEvent {self.id}: unknown zone {self.tz!r}")
        if self.duration <= timedelta(0):
            raise ValueError(f"SeriesEvent {self.id}: duration must be positive")
        if self.state not in SERIES_STATES:
            raise ValueError(
                f"SeriesEvent {self.id}: state {self.state!r} is not one of "
                + ", ".join(sorted(SERIES_STATES))
            )
        if self.rrule.upper().startswith("RRULE:") or "FREQ=" not in self.rrule.upper():
            raise ValueError(
                f"SeriesEvent {self.id}: rrule {self.rrule!r} must be an RRULE value without "
                "its prefix, e.g. FREQ=WEEKLY;BYDAY=SA"
            )
        try:
            vRecur.from_ical(self.rrule)
        except ValueError:
            raise ValueError(
                f"SeriesEvent {self.id}: rrule {self.rrule!r} is not an RRULE"
            ) from None
        object.__setattr__(self, "exdates", tuple(self.exdates))
        object.__setattr__(self, "tasks", tuple(tuple(t) for t in self.tasks))


def window_uid(window_id: str) -> str:
    return f"window-{window_id}@{UID_DOMAIN}"


def series_uid(series_id: str) -> str:
    return f"series-{series_id}@{UID_DOMAIN}"


def _recent(state: str, closed_at: datetime, now: datetime) -> bool:
    return state in _OPEN or closed_at >= now - FEED_HISTORY


def window_in_feed(record: WindowRecord, now: datetime) -> bool:
    """Open, or closed (ended, failed, cancelled) within :data:`FEED_HISTORY` of ``now``."""
    return _recent(record.state.value, record.finished_at or record.updated_at, now)


def series_in_feed(series: SeriesEvent, now: datetime) -> bool:
    """Open, or ended or cancelled within :data:`FEED_HISTORY` of ``now`` (its last change,
    ``updated_at``, is when it closed)."""
    return _recent(series.state, series.updated_at, now)


def build_feed(
    windows: Iterable[tuple[WindowRecord, Sequence[PlannedTask]]],
    series: Iterable[SeriesEvent] = (),
    *,
    now: datetime,
    name: str = CALENDAR_NAME,
) -> bytes:
    """The feed as RFC 5545 bytes (UTF-8, CRLF lines): each window (with its planned task
    rows) and each series that :func:`window_in_feed` / :func:`series_in_feed` keep, soonest
    first. ``now`` decides what is recent and how far ahead the VTIMEZONEs reach."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("name", name)
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))

    shown_windows = sorted(
        ((r, t) for r, t in windows if window_in_feed(r, now)), key=lambda w: (w[0].start, w[0].id)
    )
    shown_series = sorted(
        (s for s in series if series_in_feed(s, now)), key=lambda s: (s.dtstart, s.id)
    )
    for record, rows in shown_windows:
        calendar.add_component(_window_event(record, rows))
    earliest = now
    fixed: dict[str, tzinfo] = {}
    for item in shown_series:
        event, zone = _series_event(item)
        calendar.add_component(event)
        earliest = min(earliest, item.dtstart)
        if not isinstance(zone, ZoneInfo) and zone is not UTC:
            # bot.zones names a fixed offset by its label ("+05:30"): the TZID it gets.
            fixed[str(zone.tzname(None))] = zone
    for tzid, zone in fixed.items():
        # add_missing_timezones knows zoneinfo names only; a fixed offset gets its own.
        calendar.add_component(Timezone.from_tzinfo(zone, tzid))
    calendar.add_missing_timezones(
        first_date=earliest.date() - timedelta(days=1),
        last_date=(now + TIMEZONE_HORIZON).date(),
    )
    return bytes(calendar.to_ical())


def _window_event(record: WindowRecord, rows: Sequence[PlannedTask]) -> Event:
    event = _event(
        uid=window_uid(record.id),
        title=record.title,
        text=record.text,
        state=record.state.value,
        version=record.version,
        updated_at=record.updated_at,
    )
    event.add("dtstart", record.start.astimezone(UTC))
    event.add("dtend", record.end.astimezone(UTC))
    event.add(
        "description",
        _description(
            record.state.label,
            [(r.system, r.task_id, r.task_name) for r in rows],
            window=record.id,
            text=record.text if record.title else None,
            reason=record.reason,
        ),
    )
    return event


def _series_event(series: SeriesEvent) -> tuple[Event, tzinfo]:
    found = lookup_zone(series.tz)
    assert found is not None  # SeriesEvent refused an unknown zone
    zone = found[0]
    event = _event(
        uid=series_uid(series.id),
        title=series.title,
        text=series.text,
        state=series.state,
        version=series.version,
        updated_at=series.updated_at,
    )
    start = series.dtstart.astimezone(zone)
    event.add("dtstart", start)
    # DTEND, not DURATION: both are RFC 5545, and DTEND is what every client reads.
    event.add("dtend", start + series.duration)
    event.add("rrule", vRecur.from_ical(series.rrule))
    if series.exdates:
        event.add("exdate", [d.astimezone(zone) for d in sorted(series.exdates)])
    event.add(
        "description",
        _description(
            series.state.replace("_", " "),
            list(series.tasks),
            series=series.id,
            text=series.text if series.title else None,
        ),
    )
    return event, zone


def _event(
    *, uid: str, title: str | None, text: str, state: str, version: int, updated_at: datetime
) -> Event:
    event = Event()
    event.add("uid", uid)
    changed = updated_at.astimezone(UTC)
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("sequence", version)
    event.add("summary", _Text(f"Maintenance: {title or text}"))
    event.add("status", _STATUS[state])
    event.add("categories", ["Maintenance"])
    return event


class _Text(vText):
    """RFC 5545 TEXT escaped as 3.3.11 says: backslash first, then ``;``, ``,`` and line
    breaks. icalendar's own escaping first turns a literal backslash-N in the text into a
    line break (its ``escape_char``, on purpose, to normalise already-escaped input), so a
    title typed with ``\\N`` in it would not read back as typed: found by the round-trip
    hypothesis test. Every user text in the feed goes through this class."""

    def to_ical(self) -> bytes:
        text = str(self).replace("\r\n", "\n").replace("\r", "\n")
        escaped = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        return escaped.replace("\n", "\\n").encode("utf-8")


def _description(
    state: str,
    tasks: Sequence[tuple[str, str, str]],
    *,
    window: str | None = None,
    series: str | None = None,
    text: str | None = None,
    reason: str | None = None,
) -> _Text:
    lines = [f"State: {state}"]
    if text:
        lines.append(f"Asked as: {text}")
    if reason:
        lines.append(f"Reason: {reason}")
    if window:
        lines.append(f"maintbot window {window}")
    if series:
        lines.append(f"maintbot series {series}")
    if tasks:
        lines.append(f"Tasks to pause ({len(tasks)}):")
        lines.extend(f"- {system}: {name} (id {task_id})" for system, task_id, name in tasks)
    else:
        lines.append("No tasks to pause.")
    return _Text("\n".join(lines))
