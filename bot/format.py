"""How maintbot writes an instant and a length, in one place for every surface: the CLI's
tables, Slack's messages, the window echo, conflict details and the clock's alerts.

Pure: no I/O, no Slack. Slack messages show instants to each reader through ``<!date>``
tokens (bot/slack/blocks.py); what is written here is the plain-text form.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

__all__ = ["instant", "instant_with_utc", "length", "stamp", "utc_instant", "window_name"]


def instant(moment: datetime | None, tz: str) -> str:
    """``Sat 05 Dec 02:00 CET``: the instant on the wall clock of ``tz``; ``-`` for none."""
    if moment is None:
        return "-"
    try:
        return moment.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M %Z")
    except (KeyError, ValueError):
        # Fixed offsets and abbreviations are not IANA keys; show UTC rather than guess.
        return moment.astimezone(UTC).strftime("%a %d %b %H:%M UTC")


def instant_with_utc(moment: datetime, tz: str) -> str:
    """``Tue 01 Dec 23:22 EST (04:22 UTC)``: the instant in ``tz`` with UTC beside it, for
    plain text (the log, a CLI) that readers in other zones read too. The UTC date is
    written when it differs; an instant already in UTC is written once."""
    local = instant(moment, tz)
    utc = moment.astimezone(UTC)
    if local.endswith(" UTC"):
        return local
    if utc.date() == moment.astimezone(_zone(tz)).date():
        return f"{local} ({utc:%H:%M} UTC)"
    return f"{local} ({utc:%a %d %b %H:%M} UTC)"


def _zone(tz: str) -> ZoneInfo | timezone:
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError):
        return UTC


def stamp(moment: datetime, tz: str) -> str:
    """``2026-11-18 09:00:05 CET``: an instant to the second, for a trail read in order."""
    try:
        return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")
    except (KeyError, ValueError):
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_instant(moment: datetime, *, suffix: bool = True) -> str:
    """``Sat 05 Dec 2026 01:00 UTC``: for plain text read by people in any zone."""
    text = moment.astimezone(UTC).strftime("%a %d %b %Y %H:%M")
    return f"{text} UTC" if suffix else text


def length(delta: timedelta, *, exact: bool = False) -> str:
    """A length for people: ``45s``, ``50m``, ``2h``, ``2h 05m``, ``3d 2h``, ``-1h``.

    Under a minute it is written in seconds. Otherwise it is rounded to the minute: "starts
    in 1m" when 1 min 52 s remain would mislead, and nobody plans to the second. With
    ``exact`` (the grammar's echo of a length it computed) seconds are kept.
    """
    total = delta.total_seconds()
    sign = "-" if total < 0 else ""
    seconds = round(abs(total))
    if seconds < 60:
        return f"{sign}{seconds}s" if seconds else "0m"
    if not exact:
        seconds = (seconds + 30) // 60 * 60
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes:02d}m" if parts else f"{minutes}m")
    if secs:
        parts.append(f"{secs:02d}s" if parts else f"{secs}s")
    return sign + " ".join(parts)


def window_name(start: datetime, end: datetime, tz: str, title: str | None = None) -> str:
    """How a window is named to people: its title (when it has one) and its dates on the
    wall clock of ``tz``: ``db failover · Sat 5 Dec 22:00–23:00 CET``, or ``Maintenance
    Sat 5 Dec 02:00–04:00 CET`` without a title. The typed text is not a name: "in 1 minute
    for 2 minutes" says nothing once the minute has passed."""
    try:
        zone: ZoneInfo | None = ZoneInfo(tz)
    except (KeyError, ValueError):
        zone = None  # a fixed offset or abbreviation: show UTC, as instant() does
    first, last = (m.astimezone(zone) if zone else m.astimezone(UTC) for m in (start, end))
    day = f"{first:%a} {first.day} {first:%b}"
    nights = (last.date() - first.date()).days
    if nights == 0:
        dates = f"{day} {first:%H:%M}–{last:%H:%M}"
    elif nights == 1 and last.time() == time(0):
        # Ending at midnight is the same evening: 22:00–24:00, not "Sun 6 Dec 00:00".
        dates = f"{day} {first:%H:%M}–24:00"
    else:
        dates = f"{day} {first:%H:%M} – {last:%a} {last.day} {last:%b} {last:%H:%M}"
    abbreviation = first.strftime("%Z") if zone else "UTC"
    dates = f"{dates} {abbreviation}".rstrip()
    return f"{title} · {dates}" if title else f"Maintenance {dates}"


def clock_time(moment: datetime, tz: str) -> str:
    """``moment``'s wall-clock time in ``tz`` with its abbreviation (``02:30 CET``); UTC
    when ``tz`` is not a zone name."""
    try:
        local = moment.astimezone(ZoneInfo(tz))
    except (KeyError, ValueError):
        local = moment.astimezone(UTC)
    return f"{local:%H:%M} {local:%Z}"
