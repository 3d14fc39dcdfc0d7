"""Reading a time-zone name: the one lookup behind the window grammar's zone words and the
zones vendors put on their tasks. Pure (zoneinfo and tzdata only).

Callers add what is theirs: the grammar reads the contract's abbreviations (``PST`` is a
fixed offset) and its own errors; a vendor's task zone has a default and a vendor error.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = ["city_zone", "lookup_zone", "offset_name"]

_UTC_NAMES: Final = frozenset(
    {"UTC", "Z", "ZULU", "ETC/UTC", "UTC+0", "UTC-0", "UCT", "ETC/UCT", "UNIVERSAL", "GMT"}
    # Windows' display name, which some vendors (Huawei) put in a task's time_zone.
    | {"ETC/GMT", "COORDINATED UNIVERSAL TIME"}
)
_OFFSET_RE: Final = re.compile(
    r"(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE | re.ASCII
)
_IANA_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)


@lru_cache(maxsize=1)
def _lowercase_zone_keys() -> dict[str, str]:
    # Only built when a name fails in its exact spelling: listing the zones walks tzdata.
    return {key.lower(): key for key in available_timezones()}


# Only these areas name cities in their last part ("Europe/London"); the backward-compatible
# areas ("US/Pacific", "Brazil/East") and "Etc" name regions or offsets.
_CITY_AREAS: Final = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)
# Last parts that are regions or ordinary words, not cities people say "<city> time" of.
_NOT_CITIES: Final = frozenset({"north", "south", "west", "east", "act", "nsw", "lhi", "center"})


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """``{"new york": "America/New_York", ...}``: each zone's last part, lower case, with
    spaces for underscores. Where two zones share a last part (a backward-compatible link
    such as America/Buenos_Aires beside America/Argentina/Buenos_Aires) the deeper name,
    the canonical one, wins."""
    found: dict[str, str] = {}
    for key in sorted(available_timezones(), key=lambda k: (-k.count("/"), k)):
        area, _, rest = key.partition("/")
        if area not in _CITY_AREAS or not rest:
            continue
        city = rest.rsplit("/", 1)[-1].replace("_", " ").lower()
        if city not in _NOT_CITIES:
            found.setdefault(city, key)
    return found


def city_zone(words: str) -> str | None:
    """The IANA name whose last part is the city ``words`` ("London", "new york",
    "Lord Howe"), or None. Listing the zones walks tzdata once; later calls are lookups."""
    return _cities().get(" ".join(words.replace("_", " ").split()).lower())


def offset_name(minutes: int) -> str:
    """``+05:30`` for 330 minutes east of UTC."""
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


@lru_cache(maxsize=1024)
def lookup_zone(name: str) -> tuple[tzinfo, str] | None:
    """``(tzinfo, canonical name)`` for UTC and its aliases, a numeric offset (``+05:30``,
    ``UTC-3``, ``GMT+8``) or an IANA name in any letter case; ``None`` when it names none
    of these. Every spelling of UTC gives :data:`datetime.UTC`."""
    text = name.strip()
    if text.upper() in _UTC_NAMES:
        return UTC, "UTC"
    match = _OFFSET_RE.fullmatch(text)
    if match:
        sign, hours, mins = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or mins > 59:
            return None
        minutes = (hours * 60 + mins) * (-1 if sign == "-" else 1)
        if minutes == 0:
            return UTC, "UTC"
        label = offset_name(minutes)
        return timezone(timedelta(minutes=minutes), label), label
    if len(text) > 64 or not _IANA_NAME_RE.fullmatch(text):
        return None
    for key in (text, _lowercase_zone_keys().get(text.lower())):
        if key is None:
            continue
        try:
            zone = ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
        if zone.key.upper() in _UTC_NAMES:
            return UTC, "UTC"
        return zone, zone.key
    return None
