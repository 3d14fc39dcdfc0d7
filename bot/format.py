"""How maintbot writes an instant and a length, in one place for every surface: the CLI's
tables, Slack's messages, the window echo, conflict details and the clock's alerts.

Pure: no I/O, no Slack. Slack messages show instants to each reader through ``<!date>``
tokens (bot/slack/blocks.py); what is written here is the plain-text form.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

__all__ = ["instant", "instant_with_utc", "length", "utc_instant"]


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
