"""The window grammar of ``shared/window-conventions.md``: a text becomes one :class:`Window`.

Pure: no I/O and no clock. ``now`` and the user's zone are always passed in, so the same
text said at the same instant always gives the same window.

The grammar is the project's own. A tokenizer made of anchored, non-nested regular
expressions turns the text into tokens; a small hand-written parser splits them at the one
range word into a start side and an end side and reads each side's day and clock time;
``_resolve_start`` and ``_resolve_end`` turn those into instants with :mod:`zoneinfo`.
dateparser is not used: the contract decides every case it covers, and a general-purpose
parser both reads some of them differently and can take seconds on hostile input. Leftover
words are errors that name the word rather than guesses.

All arithmetic happens on UTC instants; wall clocks are only ever built from a calendar date
plus a clock time and converted once, which is where DST gaps and overlaps are detected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Final, Literal, NoReturn

from bot.errors import WindowError
from bot.format import length
from bot.model import Window
from bot.vocabulary import day_formatter, to_grammar
from bot.zones import lookup_zone, offset_name

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "FIXED_ABBREVIATIONS",
    "MAX_TEXT_LENGTH",
    "RECURRING_WORDS",
    "echo_lines",
    "parse_length",
    "parse_window",
    "resolve_zone",
    "warm_up",
]

MAX_TEXT_LENGTH: Final = 200
"""Longer texts are refused before any parsing, which bounds the work per call."""

DEFAULT_MAX_LENGTH: Final = timedelta(days=14)

FIXED_ABBREVIATIONS: Final[dict[str, int]] = {
    "PST": -8 * 60,
    "PDT": -7 * 60,
    "EST": -5 * 60,
    "EDT": -4 * 60,
    "CST": -6 * 60,
    "CDT": -5 * 60,
    "MST": -7 * 60,
    "MDT": -6 * 60,
    "CET": 60,
    "CEST": 2 * 60,
    "BST": 60,
    "IST": 5 * 60 + 30,
}
"""The only abbreviations the contract accepts, as fixed offsets in minutes (not zones)."""

_EXAMPLE: Final = 'Try "Saturday 2-4am" or "tomorrow 22:00 for 2h".'

# fmt: off
_DAY_ABBR: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_FULL: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_ABBR: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)
_MONTH_FULL: Final = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
# Longest each month can be in any year, so "Feb 29" without a year is a date (in a leap year).
_MONTH_MAX_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_WEEKDAYS: Final[dict[str, int]] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "weds": 2, "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
_MONTHS: Final[dict[str, int]] = {
    **{name.lower(): number for number, name in enumerate(_MONTH_FULL, start=1)},
    **{name.lower(): number for number, name in enumerate(_MONTH_ABBR, start=1)},
    "sept": 9,
}
# Plural weekdays ("on Saturdays") describe a series, not one window.
_RECURRING: Final = frozenset({
    "every", "each", "daily", "weekly", "monthly", "yearly", "annually", "hourly", "nightly",
    "fortnightly", "biweekly", "everyday", "weekdays", "weekends", "weeknights", "recurring",
    "repeat", "repeating", "repeatedly", "alternate",
}) | {name.lower() + "s" for name in _DAY_FULL}
RECURRING_WORDS: Final = _RECURRING
"""Words that make a text a series (:mod:`bot.series` reads those; this grammar refuses them)."""
_RANGE_WORDS: Final = frozenset({"to", "until", "till", "til", "through", "thru"})
_FILLERS: Final = frozenset({"on", "at", "the", "from", "between"})
_TODAY_WORDS: Final = frozenset({"today", "tonight"})
_TOMORROW_WORDS: Final = frozenset({"tomorrow", "tmrw", "tmr", "tomorow"})
_UNIT_WORDS: Final[dict[str, str]] = {
    "week": "w", "weeks": "w", "day": "d", "days": "d", "hour": "h", "hours": "h", "hr": "h",
    "hrs": "h", "minute": "m", "minutes": "m", "min": "m", "mins": "m",
}
_DATE_TIME_WORDS: Final = (
    frozenset(_WEEKDAYS) | frozenset(_MONTHS) | _TODAY_WORDS | _TOMORROW_WORDS
    | {"now", "noon", "midday", "midnight"} | frozenset(_UNIT_WORDS)
)
# Abbreviations people type that the contract deliberately does not accept: reported as
# unknown zones (not unknown words) so the user knows to write an IANA name or an offset.
_OTHER_ABBREVIATIONS: Final = frozenset({
    "aest", "aedt", "acst", "acdt", "awst", "akst", "akdt", "hst", "hdt", "jst", "kst", "nzst",
    "nzdt", "eet", "eest", "wet", "west", "msk", "sgt", "hkt", "pht", "wib", "ict", "cat",
    "eat", "wat", "sast", "brt", "art", "ast", "adt", "nst", "ndt", "pt", "et", "ct", "mt",
})
# fmt: on

# Token kinds.
_ISODT: Final = "isodt"
_ISODATE: Final = "isodate"
_SLASH: Final = "slash"
_TIME: Final = "time"
_H30: Final = "h30"
_DUR: Final = "dur"
_ORD: Final = "ord"
_OFFSET: Final = "offset"
_NUM: Final = "num"
_YEAR: Final = "year"
_MER: Final = "mer"
_IANA: Final = "iana"
_WORD: Final = "word"
_DASH: Final = "dash"

# One alternative per token kind, tried in order at each position. No alternative nests a
# quantifier inside another, the zone name's segments are possessive (no backtracking into
# them), and the text is at most MAX_TEXT_LENGTH characters, so the scan stays cheap.
# ``bad`` catches any single character nothing else accepts.
_TOKEN_RE: Final = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<isodt>\d{4}-\d{1,2}-\d{1,2}t\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?
                (?:z|[+-]\d{2}(?::?\d{2})?(?![\d:-]))?(?![a-z\d]))
    | (?P<isodate>\d{4}-\d{1,2}-\d{1,2}(?![\d-]))
    | (?P<slash>\d{1,4}/\d{1,2}(?:/\d{1,4})?(?![\d/]))
    | (?P<time>\d{1,2}:\d{2}(?::\d{2})?(?![\d:]))
    | (?P<h30>\d{1,3}h\d{1,2}(?:m|mins?)?(?![a-z\d]))
    | (?P<dur>\d{1,6}(?:\.\d{1,3})?\ ?
              (?:weeks?|wks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m)(?![a-z\d]))
    | (?P<ord>\d{1,2}(?:st|nd|rd|th)(?![a-z\d]))
    | (?P<offset>\+\d{1,2}(?::?\d{2})?(?![\d:]))
    | (?P<num>\d+)
    | (?P<mer>[ap]\.m\.?)
    | (?P<iana>[a-z_]++(?:/[a-z0-9_+-]++)+)
    | (?P<word>[a-z]+(?:'[a-z]+)?)
    | (?P<dash>[-\u2013\u2014\u2012\u2212])
    | (?P<punct>[,;.!?@()\[\]"'\u201c\u201d\u2018\u2019])
    | (?P<bad>.)
    """,
    re.IGNORECASE | re.ASCII | re.VERBOSE | re.DOTALL,
)
_ISODT_RE: Final = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})t(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(.*)",
    re.IGNORECASE | re.ASCII,
)
_DUR_RE: Final = re.compile(r"(\d+(?:\.\d+)?) ?([a-z]+)", re.IGNORECASE | re.ASCII)
_H30_RE: Final = re.compile(r"(\d+)h(\d+)", re.IGNORECASE | re.ASCII)


def _fail(message: str) -> NoReturn:
    raise WindowError(message)


# --------------------------------------------------------------------------------------------
# Zones


def _fixed(minutes: int, name: str) -> tzinfo:
    return timezone(timedelta(minutes=minutes), name)


@lru_cache(maxsize=1024)
def _lookup_zone(name: str) -> tuple[tzinfo, str] | None:
    """``(tzinfo, canonical name)`` for a zone name, or None when it names no zone: the
    contract's GMT and abbreviations (fixed offsets) first, then :func:`bot.zones.lookup_zone`."""
    upper = name.strip().upper()
    if upper == "GMT":
        return _fixed(0, "GMT"), "GMT"
    if upper in FIXED_ABBREVIATIONS:
        return _fixed(FIXED_ABBREVIATIONS[upper], upper), upper
    return lookup_zone(name)


def resolve_zone(name: str) -> tzinfo:
    """The tzinfo for an IANA name, UTC/GMT/Z, a numeric offset or a contract abbreviation.

    Abbreviations (PST, CEST, IST, ...) are fixed offsets, not zones. Raises
    :class:`WindowError` naming ``name`` when it is none of these.
    """
    found = _lookup_zone(name)
    if found is None:
        _fail(_unknown_zone_message(name))
    return found[0]


def _zone_with_name(name: str) -> tuple[tzinfo, str]:
    found = _lookup_zone(name)
    if found is None:
        _fail(_unknown_zone_message(name))
    return found


def _unknown_zone_message(word: str) -> str:
    shown = word if len(word) <= 40 else word[:40] + "…"
    return (
        f'I don\'t know the time zone "{shown}". Use an IANA name such as Europe/Berlin, '
        "UTC, an offset such as +05:30, or one of "
        + ", ".join(FIXED_ABBREVIATIONS)
        + '. For example "Saturday 2-4am Europe/Berlin".'
    )


# --------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    raw: str
    low: str
    start: int
    end: int


def _tokenize(text: str) -> tuple[list[_Tok], list[str]]:
    """Tokens of ``text`` (whitespace and harmless punctuation dropped) and unreadable chars."""
    tokens: list[_Tok] = []
    bad: list[str] = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        raw = match.group()
        if kind in ("ws", "punct"):
            continue
        if kind == "bad" or kind is None:
            bad.append(raw)
            continue
        low = raw.lower()
        if kind == _MER:
            low = low[0] + "m"
        elif kind == _WORD:
            previous = tokens[-1] if tokens else None
            if low in ("am", "pm"):
                kind = _MER
            # "2a"/"4p" only when glued to the number: a spaced "a" is the article ("a day").
            elif (
                low in ("a", "p")
                and previous is not None
                and previous.kind in (_NUM, _TIME)
                and previous.end == match.start()
            ):
                kind, low = _MER, low + "m"
        tokens.append(_Tok(kind, raw, low, match.start(), match.end()))
    return tokens, bad


def _is_clock_like(tok: _Tok) -> bool:
    return tok.kind == _TIME or (tok.kind == _NUM and len(tok.raw) in (3, 4))


def _offset_minutes(sign: str, digits: str) -> int | None:
    """Minutes of a ``hh:mm``/``hhmm``/``hh`` offset, or None when it is not a plausible one."""
    digits = digits.replace(":", "")
    if len(digits) <= 2:
        hours, mins = int(digits), 0
    elif len(digits) == 4:
        hours, mins = int(digits[:2]), int(digits[2:])
    else:
        return None
    if hours > 14 or mins > 59:
        return None
    return (hours * 60 + mins) * (-1 if sign == "-" else 1)


@dataclass(frozen=True, slots=True)
class _NamedZone:
    zone: tzinfo
    name: str
    raw: str


def _extract_zones(tokens: list[_Tok]) -> tuple[list[_Tok], list[_NamedZone]]:
    """Remove the zone mentions from ``tokens``; unknown IANA-looking names are errors."""
    kept: list[_Tok] = []
    zones: list[_NamedZone] = []
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < n else None
        found: _NamedZone | None = None
        used = 1
        if tok.kind == _WORD and tok.low in ("utc", "gmt", "z"):
            found = _NamedZone(*_zone_with_name(tok.low), raw=tok.raw)
            # "UTC+5", "GMT-08:00": the offset glued to the word belongs to it.
            if nxt is not None and nxt.start == tok.end and tok.low != "z":
                sign, digits, span = "", "", 0
                if nxt.kind == _OFFSET:
                    sign, digits, span = "+", nxt.raw[1:], 2
                elif (
                    nxt.kind == _DASH
                    and i + 2 < n
                    and tokens[i + 2].start == nxt.end
                    and tokens[i + 2].kind in (_NUM, _TIME)
                ):
                    sign, digits, span = "-", tokens[i + 2].raw, 3
                if span:
                    minutes = _offset_minutes(sign, digits)
                    if minutes is None:
                        _fail(_unknown_zone_message(tok.raw + sign + digits))
                    label = offset_name(minutes) if minutes else "UTC"
                    zone = _fixed(minutes, label) if minutes else UTC
                    found = _NamedZone(zone, label, tok.raw + sign + digits)
                    used = span
        elif tok.kind == _WORD and tok.raw.upper() in FIXED_ABBREVIATIONS:
            found = _NamedZone(*_zone_with_name(tok.raw), raw=tok.raw)
        elif tok.kind == _OFFSET:
            minutes = _offset_minutes("+", tok.raw[1:])
            if minutes is None:
                _fail(_unknown_zone_message(tok.raw))
            found = _NamedZone(*_zone_with_name(offset_name(minutes)), raw=tok.raw)
        elif tok.kind == _IANA:
            found = _NamedZone(*_zone_with_name(tok.raw), raw=tok.raw)
        elif (
            # "2pm -0800": a minus with a space before it and a 4-digit or hh:mm number glued
            # after it is a signed offset (when it is a plausible one); a range is written
            # "14:00-08:00" or "14:00 - 08:00". Reading it as an offset can only turn a
            # mistyped range into a rejection (no end), never into a silently different window.
            tok.kind == _DASH
            and nxt is not None
            and nxt.start == tok.end
            and (i == 0 or tokens[i - 1].end < tok.start)
            and _is_clock_like(nxt)
            and len(nxt.raw.replace(":", "")) == 4
        ):
            minutes = _offset_minutes("-", nxt.raw)
            if minutes is not None:
                label = offset_name(minutes) if minutes else "UTC"
                zone = _fixed(minutes, label) if minutes else UTC
                found = _NamedZone(zone, label, "-" + nxt.raw)
                used = 2
        if found is None:
            kept.append(tok)
            i += 1
            continue
        # "in Europe/Berlin": the "in" belongs to the zone, not to a duration.
        if kept and kept[-1].low == "in":
            kept.pop()
        zones.append(found)
        i += used
    return kept, zones


def _mark_years(tokens: list[_Tok]) -> list[_Tok]:
    """Re-type 4-digit numbers that follow a month-day as years.

    A year is only plausible right after "Dec 5", "5 Dec", "5th of December" (or the day of
    a "Dec 24-26" range). "Dec 5 2000-2200" stays a clock range because the number is
    followed by a range to another clock time.
    """
    out = list(tokens)
    for i, tok in enumerate(out):
        if tok.kind != _NUM or len(tok.raw) != 4 or not 1900 <= int(tok.raw) <= 2199:
            continue
        if not _after_month_day(out, i):
            continue
        after = out[i + 1] if i + 1 < len(out) else None
        after2 = out[i + 2] if i + 2 < len(out) else None
        if (
            after is not None
            and (after.kind == _DASH or after.low in _RANGE_WORDS)
            and after2 is not None
            and _is_clock_like(after2)
        ):
            continue
        out[i] = replace(tok, kind=_YEAR)
    return out


def _is_day_number(tok: _Tok) -> bool:
    return tok.kind == _ORD or (tok.kind == _NUM and len(tok.raw) <= 2)


def _day_value(tok: _Tok) -> int:
    return int(tok.raw[:-2] if tok.kind == _ORD else tok.raw)


def _after_month_day(tokens: list[_Tok], i: int) -> bool:
    def at(k: int) -> _Tok | None:
        return tokens[k] if 0 <= k < len(tokens) else None

    p1, p2, p3, p4 = at(i - 1), at(i - 2), at(i - 3), at(i - 4)
    if p1 is None or p2 is None:
        return False
    if _is_day_number(p1) and p2.low in _MONTHS:
        return True
    if p1.low in _MONTHS and (_is_day_number(p2) or (p2.low == "of" and p3 and _is_day_number(p3))):
        return True
    # "Dec 24-26 2026"
    return bool(
        _is_day_number(p1)
        and (p2.kind == _DASH or p2.low in _RANGE_WORDS)
        and p3 is not None
        and _is_day_number(p3)
        and p4 is not None
        and p4.low in _MONTHS
    )


# --------------------------------------------------------------------------------------------
# Parsed pieces


@dataclass(frozen=True, slots=True)
class _TimeSpec:
    hour: int
    minute: int
    second: int
    raw: str
    mer: str | None = None  # "am" / "pm"
    word: str | None = None  # "noon" / "midnight"
    zero_lead: bool = False  # "02:00" is plainly 24-hour; no am/pm is carried to it


@dataclass(frozen=True, slots=True)
class _DateSpec:
    kind: Literal["weekday", "next", "rel", "md", "exact"]
    raw: str
    weekday: int = 0
    days: int = 0
    month: int = 0
    day: int = 0
    year: int | None = None
    from_slash: bool = False


@dataclass(slots=True)
class _Side:
    date: _DateSpec | None = None
    weekday_check: _DateSpec | None = None
    time: _TimeSpec | None = None
    instant: datetime | None = None
    instant_raw: str = ""
    date_after_time: bool = False

    @property
    def empty(self) -> bool:
        return self.date is None and self.time is None and self.instant is None


@dataclass(frozen=True, slots=True)
class _Ctx:
    zone: tzinfo
    zone_name: str
    now: datetime  # UTC
    today: date  # in the interpretation zone
    text: str
    max_length: timedelta


@dataclass(slots=True)
class _Resolution:
    ambiguous: list[datetime] = field(default_factory=list)  # local, fold=0
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Durations


def _unit_of(word: str) -> str | None:
    word = word.lower()
    if word in _UNIT_WORDS:
        return _UNIT_WORDS[word]
    if word in ("w", "wk", "wks"):
        return "w"
    if word in ("d", "h", "m"):
        return word
    return None


def _read_duration(tokens: list[_Tok], i: int) -> tuple[list[tuple[float, str]], int]:
    """Duration parts starting at ``tokens[i]`` and the index after them."""
    parts: list[tuple[float, str]] = []
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < n else None
        if tok.kind == _DUR:
            match = _DUR_RE.fullmatch(tok.raw)
            unit = _unit_of(match.group(2)) if match else None
            if match is None or unit is None:
                break
            parts.append((float(match.group(1)), unit))
            i += 1
        elif tok.kind == _H30:
            match = _H30_RE.match(tok.raw)
            if match is None:
                break
            minutes = int(match.group(2))
            if minutes > 59:
                _fail(f'"{tok.raw}" is not a length: minutes run 0–59. Try "for 1h30". {_EXAMPLE}')
            parts.extend([(float(match.group(1)), "h"), (float(minutes), "m")])
            i += 1
        elif tok.low in ("a", "an") and nxt is not None and _unit_of(nxt.low):
            parts.append((1.0, _unit_of(nxt.low) or "h"))
            i += 2
        elif tok.low == "half" and nxt is not None:
            # "half an hour", "half hour"
            k = i + 1
            if tokens[k].low in ("a", "an") and k + 1 < n:
                k += 1
            unit = _unit_of(tokens[k].low)
            if unit is None:
                break
            parts.append((0.5, unit))
            i = k + 1
        elif tok.low == "and" and parts and nxt is not None and nxt.kind in (_DUR, _H30):
            i += 1
        else:
            break
    return parts, i


def _elapsed(parts: list[tuple[float, str]]) -> timedelta:
    scale = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
    seconds = sum(value * scale[unit] for value, unit in parts)
    return timedelta(seconds=round(seconds))


# --------------------------------------------------------------------------------------------
# Sides


class _SideParser:
    """Reads one side of a range: at most one day, one clock time, or one instant."""

    def __init__(
        self,
        tokens: list[_Tok],
        ctx: _Ctx,
        day_context: tuple[int, int | None] | None = None,
    ) -> None:
        self.tokens = tokens
        self.ctx = ctx
        self.day_context = day_context
        self.side = _Side()
        self.i = 0

    def at(self, k: int) -> _Tok | None:
        return self.tokens[k] if 0 <= k < len(self.tokens) else None

    def parse(self) -> _Side:
        while self.i < len(self.tokens):
            self._step(self.tokens[self.i])
        side = self.side
        if side.instant is not None and (side.date is not None or side.time is not None):
            _fail(
                f'"{side.instant_raw}" already says when; it cannot also take a day or a clock '
                f'time. Try "{side.instant_raw} for 2h" or "tomorrow 2-4am".'
            )
        return side

    def _step(self, tok: _Tok) -> None:
        low = tok.low
        nxt = self.at(self.i + 1)
        if tok.kind == _WORD:
            if low in _FILLERS or low == "o'clock":
                self.i += 1
            elif low in _WEEKDAYS:
                self._set_date(_DateSpec("weekday", tok.raw, weekday=_WEEKDAYS[low]))
                self.i += 1
            elif low in ("this", "next"):
                if nxt is None or nxt.low not in _WEEKDAYS:
                    _fail(
                        f'"{tok.raw}" needs a weekday after it, e.g. "{low} Saturday 2-4am". '
                        f"{_EXAMPLE}"
                    )
                kind: Literal["weekday", "next"] = "next" if low == "next" else "weekday"
                raw = f"{tok.raw} {nxt.raw}"
                self._set_date(_DateSpec(kind, raw, weekday=_WEEKDAYS[nxt.low]))
                self.i += 2
            elif low in _TODAY_WORDS:
                self._set_date(_DateSpec("rel", tok.raw, days=0))
                self.i += 1
            elif low in _TOMORROW_WORDS:
                self._set_date(_DateSpec("rel", tok.raw, days=1))
                self.i += 1
            elif (
                low == "day"
                and nxt is not None
                and nxt.low == "after"
                and (after := self.at(self.i + 2)) is not None
                and after.low in _TOMORROW_WORDS
            ):
                self._set_date(_DateSpec("rel", "day after tomorrow", days=2))
                self.i += 3
            elif low == "in":
                self._relative()
            elif low == "now":
                self._set_instant(self.ctx.now, tok.raw)
                self.i += 1
            elif low in ("noon", "midday"):
                self._set_time(_TimeSpec(12, 0, 0, tok.raw, word="noon"))
                self.i += 1
            elif low == "midnight":
                self._set_time(_TimeSpec(0, 0, 0, tok.raw, word="midnight"))
                self.i += 1
            elif low in _MONTHS:
                self._month_first(tok)
            else:
                _unknown_word(tok, self.ctx.text)
        elif tok.kind == _MER:
            _fail(f'"{tok.raw}" needs a clock time before it, e.g. "2am" or "2:30 pm". {_EXAMPLE}')
        elif tok.kind in (_NUM, _ORD):
            self._number(tok)
        elif tok.kind == _TIME:
            parts = [int(p) for p in tok.raw.split(":")]
            spec = _TimeSpec(
                parts[0],
                parts[1],
                parts[2] if len(parts) > 2 else 0,
                tok.raw,
                zero_lead=tok.raw.startswith("0"),
            )
            self.i += 1
            self._set_time(self._meridiem(spec))
        elif tok.kind == _ISODATE:
            year, month, day = (int(p) for p in tok.raw.split("-"))
            _check_date(year, month, day, tok.raw)
            self._set_date(
                _DateSpec("exact", tok.raw, month=month, day=day, year=year),
            )
            self.i += 1
        elif tok.kind == _ISODT:
            self._iso_datetime(tok)
            self.i += 1
        elif tok.kind == _SLASH:
            self._set_date(_slash_date(tok, self.ctx.text))
            self.i += 1
        elif tok.kind in (_DUR, _H30):
            _fail(
                f'"{tok.raw}" is a length, not a time. Put it after "for", e.g. '
                f'"Saturday 2am for {tok.raw}", or after "in", e.g. "in {tok.raw} for 1h".'
            )
        elif tok.kind == _YEAR:
            _fail(f'I can\'t tell what the year "{tok.raw}" belongs to. Try "Dec 5 2026 2-4am".')
        else:
            _unknown_word(tok, self.ctx.text)

    # -- pieces ---------------------------------------------------------------------------

    def _set_date(self, spec: _DateSpec) -> None:
        side = self.side
        if side.date is None:
            side.date = spec
        elif side.weekday_check is None and spec.kind == "weekday" and side.date.kind != "weekday":
            # "Dec 5 Saturday": the weekday only double-checks the date.
            side.weekday_check = spec
        elif side.weekday_check is None and side.date.kind == "weekday" and spec.kind != "weekday":
            side.weekday_check, side.date = side.date, spec
        else:
            _fail(
                f'"{side.date.raw}" and "{spec.raw}" are two days for one end of the window. '
                f'Give one day per end, e.g. "Friday 11pm to Saturday 1am".'
            )
        if side.time is not None:
            side.date_after_time = True

    def _set_time(self, spec: _TimeSpec) -> None:
        if self.side.time is not None:
            _fail(
                f'"{self.side.time.raw}" and "{spec.raw}" are two times for one end of the '
                f'window. Join a start and an end with "-" or "to", e.g. "Saturday 2-4am".'
            )
        self.side.time = spec

    def _set_instant(self, instant: datetime, raw: str) -> None:
        if self.side.instant is not None:
            _fail(f'"{self.side.instant_raw}" and "{raw}" are two starts. {_EXAMPLE}')
        self.side.instant = instant
        self.side.instant_raw = raw

    def _meridiem(self, spec: _TimeSpec) -> _TimeSpec:
        """Attach a following am/pm (and skip "o'clock") to the time just read."""
        tok = self.at(self.i)
        if tok is not None and tok.kind == _MER:
            spec = replace(spec, mer=tok.low, raw=f"{spec.raw}{tok.raw}")
            self.i += 1
            tok = self.at(self.i)
        if tok is not None and tok.low == "o'clock":
            self.i += 1
        return spec

    def _month_at(self, k: int) -> tuple[int, int] | None:
        """(month, tokens used) when ``tokens[k]`` starts a month name, maybe after "of"."""
        tok = self.at(k)
        if tok is None:
            return None
        if tok.low in _MONTHS:
            return _MONTHS[tok.low], 1
        nxt = self.at(k + 1)
        if tok.low == "of" and nxt is not None and nxt.low in _MONTHS:
            return _MONTHS[nxt.low], 2
        return None

    def _year_at(self, k: int) -> int | None:
        tok = self.at(k)
        if tok is not None and tok.kind == _YEAR:
            return int(tok.raw)
        return None

    def _month_first(self, tok: _Tok) -> None:
        nxt = self.at(self.i + 1)
        if nxt is None or not _is_day_number(nxt):
            _fail(
                f'"{tok.raw}" needs a day of the month, e.g. "{tok.raw.capitalize()} 5 2-4am". '
                f"{_EXAMPLE}"
            )
        day = _day_value(nxt)
        month = _MONTHS[tok.low]
        self.i += 2
        year = self._year_at(self.i)
        if year is not None:
            self.i += 1
        self._set_date(_month_day(month, day, year, f"{tok.raw} {nxt.raw}"))

    def _number(self, tok: _Tok) -> None:
        month = self._month_at(self.i + 1)
        if month is not None and _is_day_number(tok):
            day = _day_value(tok)
            first = self.i
            self.i += 1 + month[1]
            raw = " ".join(t.raw for t in self.tokens[first : self.i])
            year = self._year_at(self.i)
            if year is not None:
                self.i += 1
            self._set_date(_month_day(month[0], day, year, raw))
            return
        if self.day_context is not None and _is_day_number(tok) and self.side.date is None:
            context_month, context_year = self.day_context
            day = _day_value(tok)
            self.i += 1
            year = self._year_at(self.i)
            if year is not None:
                self.i += 1
            self._set_date(_month_day(context_month, day, year or context_year, tok.raw))
            return
        if tok.kind == _ORD:
            _fail(
                f'"{tok.raw}" needs a month, e.g. "Dec {tok.raw}" or "{tok.raw} of December". '
                f"{_EXAMPLE}"
            )
        digits = tok.raw
        if len(digits) <= 2:
            hour, minute = int(digits), 0
        elif len(digits) <= 4:
            hour, minute = int(digits[:-2]), int(digits[-2:])
        else:
            _fail(f'"{digits}" is not a clock time. Write it as "14:00" or "2pm". {_EXAMPLE}')
        self.i += 1
        spec = _TimeSpec(hour, minute, 0, digits, zero_lead=digits.startswith("0"))
        self._set_time(self._meridiem(spec))

    def _relative(self) -> None:
        in_tok = self.tokens[self.i]
        parts, end = _read_duration(self.tokens, self.i + 1)
        raw = " ".join(t.raw for t in self.tokens[self.i : end])
        if not parts:
            nxt = self.at(self.i + 1)
            if nxt is not None and nxt.kind == _WORD:
                # "in Tokyo": the only other thing "in" is followed by is a zone.
                _fail(_unknown_zone_message(nxt.raw))
            _fail(
                f'"{in_tok.raw}" needs a length after it, e.g. "in 2 hours for 30 minutes" or '
                f'"in 3 days 2-4am".'
            )
        units = {unit for _, unit in parts}
        if units <= {"w", "d"}:
            days = sum(value * (7 if unit == "w" else 1) for value, unit in parts)
            if days != int(days):
                _fail(f'"{raw}": count whole days, or use hours, e.g. "in 36 hours for 1h".')
            self._set_date(_DateSpec("rel", raw, days=int(days)))
        elif units & {"w", "d"}:
            _fail(
                f'"{raw}" mixes days with hours. Use "in N days" with a clock time, e.g. '
                f'"in 2 days 2-4am", or hours alone, e.g. "in 50 hours for 1h".'
            )
        else:
            self._set_instant(self.ctx.now + _elapsed(parts), raw)
        self.i = end

    def _iso_datetime(self, tok: _Tok) -> None:
        match = _ISODT_RE.fullmatch(tok.raw)
        if match is None:  # pragma: no cover - the tokenizer only emits matching text
            _unknown_word(tok, self.ctx.text)
        year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
        hour, minute = int(match.group(4)), int(match.group(5))
        second = int(match.group(6) or 0)
        micro = int((match.group(7) or "0").ljust(6, "0")[:6])
        _check_date(year, month, day, tok.raw)
        if hour > 23 or minute > 59 or second > 59:
            _fail(_bad_clock_message(tok.raw))
        offset = match.group(8)
        if not offset:
            spec = _TimeSpec(hour, minute, second, tok.raw, zero_lead=True)
            self._set_date(_DateSpec("exact", tok.raw, month=month, day=day, year=year))
            self._set_time(spec)
            return
        zone = _iso_offset_zone(offset, tok.raw)
        instant = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone[0])
        self._set_instant(instant.astimezone(UTC), tok.raw)


def _iso_offset_zone(offset: str, raw: str) -> tuple[tzinfo, str]:
    if offset.lower() == "z":
        return UTC, "UTC"
    minutes = _offset_minutes(offset[0], offset[1:])
    if minutes is None:
        _fail(_unknown_zone_message(offset))
    if minutes == 0:
        return UTC, "UTC"
    label = offset_name(minutes)
    return _fixed(minutes, label), label


def _unknown_word(tok: _Tok, text: str) -> NoReturn:
    raw = tok.raw
    # Lower-case "eat" or "west" are more likely words than zones; capitals are zones.
    zone_like = (
        raw.isupper()
        and raw.isalpha()
        and (tok.low in _OTHER_ABBREVIATIONS or (3 <= len(raw) <= 5 and raw.endswith("T")))
    )
    if zone_like or tok.kind == _IANA or (tok.low in _OTHER_ABBREVIATIONS and len(raw) >= 4):
        _fail(_unknown_zone_message(raw))
    if tok.low == "and":
        _fail(
            '"and" joins a start and an end only after "between", e.g. "between 2 and 4am"; '
            'otherwise use "to", e.g. "Saturday to Sunday".'
        )
    if tok.kind == _DASH:
        _fail(f'Only one "-" or "to" can join a start and an end. {_EXAMPLE}')
    shown = raw if len(raw) <= 30 else raw[:30] + "…"
    _fail(f'I don\'t understand "{shown}" in "{_short(text)}". {_EXAMPLE}')


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:80] + "…"


def _bad_clock_message(raw: str) -> str:
    return (
        f'"{raw}" is not a clock time: hours run 0–23 (or 1–12 with am/pm) and minutes '
        f"0–59. {_EXAMPLE}"
    )


def _month_day(month: int, day: int, year: int | None, raw: str) -> _DateSpec:
    if year is None:
        if not 1 <= day <= _MONTH_MAX_DAYS[month - 1]:
            _fail(
                f'"{raw}" is not a date: {_MONTH_FULL[month - 1]} has at most '
                f"{_MONTH_MAX_DAYS[month - 1]} days. {_EXAMPLE}"
            )
        return _DateSpec("md", raw, month=month, day=day)
    _check_date(year, month, day, raw)
    return _DateSpec("exact", raw, month=month, day=day, year=year)


def _check_date(year: int, month: int, day: int, raw: str) -> None:
    if not 1 <= month <= 12:
        _fail(f'"{raw}" is not a date: months run 1–12. Try "2026-12-05 2-4am". {_EXAMPLE}')
    try:
        date(year, month, day)
    except ValueError:
        _fail(
            f'"{raw}" is not a date: {_MONTH_FULL[month - 1]} {year} has no day {day}. {_EXAMPLE}'
        )


def _valid_month_day(month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= _MONTH_MAX_DAYS[month - 1]


def _slash_date(tok: _Tok, text: str) -> _DateSpec:
    parts = tok.raw.split("/")
    if len(parts[0]) == 4:
        if len(parts) != 3:
            _fail(f'"{tok.raw}" is not a date. Try "2026-12-05" or "Dec 5". {_EXAMPLE}')
        full_year, month, day = (int(p) for p in parts)
        _check_date(full_year, month, day, tok.raw)
        return _DateSpec("exact", tok.raw, month=month, day=day, year=full_year, from_slash=True)
    first, second = int(parts[0]), int(parts[1])
    year: int | None = None
    if len(parts) == 3:
        if len(parts[2]) == 2:
            year = 2000 + int(parts[2])
        elif len(parts[2]) == 4:
            year = int(parts[2])
        else:
            _fail(f'"{tok.raw}": write the year with 4 digits, e.g. "12/25/2026". {_EXAMPLE}')

    def valid(month: int, day: int) -> bool:
        if year is None:
            return _valid_month_day(month, day)
        try:
            date(year, month, day)
        except ValueError:
            return False
        return True

    readings = {(m, d) for m, d in ((first, second), (second, first)) if valid(m, d)}
    if not readings:
        _fail(f'"{tok.raw}" is not a date in either month/day or day/month order. {_EXAMPLE}')
    if len(readings) > 1:
        # Both orders are real dates: show both readings, and the text rewritten with each.
        (m1, d1), (m2, d2) = sorted(readings, key=lambda r: (r[0] != first, r))
        word1 = f"{_MONTH_ABBR[m1 - 1]} {d1}"
        word2 = f"{_MONTH_ABBR[m2 - 1]} {d2}"
        if year is not None:
            word1, word2 = f"{word1} {year}", f"{word2} {year}"
        start, end = tok.start, tok.end
        example1 = _short(text[:start] + word1 + text[end:]).strip()
        example2 = _short(text[:start] + word2 + text[end:]).strip()
        _fail(
            f'"{tok.raw}" is ambiguous: it could be {d1} {_MONTH_FULL[m1 - 1]} (month/day) or '
            f"{d2} {_MONTH_FULL[m2 - 1]} (day/month). Write the month as a word, e.g. "
            f'"{example1}" or "{example2}".'
        )
    month, day = readings.pop()
    if year is None:
        return _DateSpec("md", tok.raw, month=month, day=day, from_slash=True)
    return _DateSpec("exact", tok.raw, month=month, day=day, year=year, from_slash=True)


# --------------------------------------------------------------------------------------------
# Clock times


def _other_half(mer: str) -> str:
    return "am" if mer == "pm" else "pm"


def _clock(spec: _TimeSpec, *, end: bool) -> tuple[time, bool]:
    """The wall-clock time of ``spec`` and whether it is the 24:00 that ends a day."""
    if spec.word == "noon":
        return time(12), False
    if spec.word == "midnight":
        return time(0), False
    hour, minute, second = spec.hour, spec.minute, spec.second
    if minute > 59 or second > 59:
        _fail(_bad_clock_message(spec.raw))
    if spec.mer is not None:
        if not 1 <= hour <= 12:
            _fail(_bad_clock_message(spec.raw))
        hour = hour % 12 + (12 if spec.mer == "pm" else 0)
    elif hour == 24 and minute == 0 and second == 0:
        if not end:
            _fail(f'"{spec.raw}" can only end a window; start at 00:00 instead. {_EXAMPLE}')
        return time(0), True
    elif hour > 23:
        _fail(_bad_clock_message(spec.raw))
    return time(hour, minute, second), False


def _minutes_of_day(spec: _TimeSpec) -> int:
    clock, end_of_day = _clock(spec, end=True)
    return 24 * 3600 if end_of_day else clock.hour * 3600 + clock.minute * 60 + clock.second


def _carryable(spec: _TimeSpec) -> bool:
    return spec.mer is None and spec.word is None and not spec.zero_lead and 1 <= spec.hour <= 12


def _carry(start: _TimeSpec, end: _TimeSpec) -> tuple[_TimeSpec, _TimeSpec]:
    """am/pm written on one side applies to the other unless that puts the start after the end.

    Then the bare side takes the other half of the day: "11-1pm" is 11:00-13:00, and "9am-5"
    is 09:00-17:00.
    """
    if end.mer is not None and _carryable(start):
        carried = replace(start, mer=end.mer)
        if _minutes_of_day(carried) > _minutes_of_day(end):
            carried = replace(start, mer=_other_half(end.mer))
        return carried, end
    if start.mer is not None and _carryable(end):
        carried = replace(end, mer=start.mer)
        if _minutes_of_day(start) > _minutes_of_day(carried):
            carried = replace(end, mer=_other_half(start.mer))
        return start, carried
    return start, end


# --------------------------------------------------------------------------------------------
# Wall clock -> instant


def _transition_instant(zone: tzinfo, before: datetime, after: datetime) -> datetime:
    """First UTC instant in (before, after] that has ``after``'s offset (whole seconds)."""
    target = after.astimezone(zone).utcoffset()
    lo, hi = int(before.timestamp()), int(after.timestamp()) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _wall_to_instant(day: date, clock: time, ctx: _Ctx, res: _Resolution | None) -> datetime:
    """The UTC instant of a wall-clock time in ``ctx.zone``.

    With ``res`` the time must exist (a spring-forward gap is an error) and an ambiguous time
    is recorded for the notes; without it (used only to compare against now), gaps are read
    with fold=0 silently.
    """
    naive = datetime.combine(day, clock)
    first = naive.replace(tzinfo=ctx.zone)
    instant = first.astimezone(UTC)
    if res is None:
        return instant
    if instant.astimezone(ctx.zone).replace(tzinfo=None) != naive:
        _fail(_gap_message(naive, ctx))
    if first.utcoffset() != naive.replace(tzinfo=ctx.zone, fold=1).utcoffset():
        res.ambiguous.append(first)
    return instant


def _gap_message(naive: datetime, ctx: _Ctx) -> str:
    zone = ctx.zone
    # In a gap fold=1 reads the wall with the new offset (an instant before the change) and
    # fold=0 with the old one (an instant after it); the change lies between them.
    before = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    change = _transition_instant(zone, before, after)
    old_offset = (change - timedelta(seconds=1)).astimezone(zone).utcoffset() or timedelta(0)
    gap_start = (change + old_offset).replace(tzinfo=None)
    gap_end = change.astimezone(zone).replace(tzinfo=None)
    last_minute = gap_end - timedelta(minutes=1)
    valid = gap_end.strftime("%H:%M")
    example = f"{_MONTH_ABBR[gap_end.month - 1]} {gap_end.day} {valid} for 1h"
    return (
        f"{_clock_text(naive)} on {_day_text(naive.date())} does not exist in {ctx.zone_name}: "
        f"the clocks jump from {gap_start:%H:%M} to {valid} for daylight-saving time (the DST "
        f"gap is {gap_start:%H:%M}–{last_minute:%H:%M}). The nearest valid time is {valid}, "
        f'e.g. "{example}".'
    )


# --------------------------------------------------------------------------------------------
# Resolution


def _start_date(spec: _DateSpec, clock: time, ctx: _Ctx) -> date:
    if spec.kind == "weekday":
        # The next such weekday whose window has not started: today only if still ahead.
        day = ctx.today + timedelta(days=(spec.weekday - ctx.today.weekday()) % 7)
        if day == ctx.today and _wall_to_instant(day, clock, ctx, None) < ctx.now:
            day += timedelta(days=7)
        return day
    return _calendar_date(spec, ctx.today, ctx)


def _calendar_date(spec: _DateSpec, base: date, ctx: _Ctx) -> date:
    """The date of ``spec``; weekdays and year-less dates are the first on or after ``base``."""
    if spec.kind == "weekday":
        return base + timedelta(days=(spec.weekday - base.weekday()) % 7)
    if spec.kind == "next":
        # The weekday of the following ISO week (Monday to Sunday), whatever today is.
        next_monday = ctx.today + timedelta(days=7 - ctx.today.weekday())
        return next_monday + timedelta(days=spec.weekday)
    if spec.kind == "rel":
        return ctx.today + timedelta(days=spec.days)
    if spec.year is not None:
        return date(spec.year, spec.month, spec.day)
    # Feb 29 may be years away; eight years always include a leap year.
    for year in range(base.year, base.year + 9):
        try:
            candidate = date(year, spec.month, spec.day)
        except ValueError:
            continue
        if candidate >= base:
            return candidate
    _fail(f'"{spec.raw}" is not a date. {_EXAMPLE}')  # pragma: no cover - checked at parse


def _check_weekday(side: _Side, day: date) -> None:
    check = side.weekday_check
    if check is not None and check.weekday != day.weekday():
        _fail(
            f"{_day_text(day)} is a {_DAY_FULL[day.weekday()]}, not a "
            f'{_DAY_FULL[check.weekday]}. Check the date, e.g. "{_DAY_ABBR[day.weekday()]} '
            f'{day.day} {_MONTH_ABBR[day.month - 1]} 2-4am".'
        )


@dataclass(frozen=True, slots=True)
class _Start:
    instant: datetime
    local_date: date
    local_clock: time
    date_only: bool


def _resolve_start(left: _Side, shared: _DateSpec | None, ctx: _Ctx, res: _Resolution) -> _Start:
    if left.instant is not None:
        local = left.instant.astimezone(ctx.zone)
        return _Start(left.instant, local.date(), local.time(), False)
    spec = left.date or shared
    if spec is None and left.time is None:
        _fail(f'The window needs a start before "to" or "-". {_EXAMPLE}')
    clock = _clock(left.time, end=False)[0] if left.time is not None else time(0)
    if spec is None:
        # A clock time with no day: today if the start is still ahead, otherwise tomorrow.
        day = ctx.today
        if _wall_to_instant(day, clock, ctx, None) < ctx.now:
            day += timedelta(days=1)
    else:
        day = _start_date(spec, clock, ctx)
    _check_weekday(left, day)
    instant = _wall_to_instant(day, clock, ctx, res)
    return _Start(instant, day, clock, left.time is None)


def _resolve_end(
    right: _Side, shared: bool, start: _Start, ctx: _Ctx, res: _Resolution
) -> datetime:
    """The end instant; only an end without its own day is subject to the rollover rule."""
    if right.instant is not None:
        return right.instant
    if right.date is not None and not shared:
        # A weekday or year-less date at the end is the first such day on or after the
        # start's day: "Dec 30 - Jan 2" crosses the new year, and a range never wraps twice.
        day = _calendar_date(right.date, start.local_date, ctx)
        if right.date.kind == "md":
            _check_reversed_dates(right.date, day, start, ctx)
        _check_weekday(right, day)
        if right.time is None:
            # A date-only end includes its whole day.
            return _wall_to_instant(day + timedelta(days=1), time(0), ctx, res)
        clock, end_of_day = _clock(right.time, end=True)
        if end_of_day:
            day += timedelta(days=1)
        return _wall_to_instant(day, clock, ctx, res)
    if right.time is None:  # pragma: no cover - a non-empty side has a date, time or instant
        _fail(f"The window needs an end after the range word. {_EXAMPLE}")
    clock, end_of_day = _clock(right.time, end=True)
    day = start.local_date
    # Rollover: an end without its own day whose clock is before the start's is the next day.
    if end_of_day or clock < start.local_clock:
        day += timedelta(days=1)
    return _wall_to_instant(day, clock, ctx, res)


def _check_reversed_dates(end: _DateSpec, day: date, start: _Start, ctx: _Ctx) -> None:
    """Reject "Dec 5 to Dec 3" as an end before its start, not as a year-long window."""
    if day.year == start.local_date.year or day - start.local_date <= ctx.max_length:
        return
    try:
        same_year = date(start.local_date.year, end.month, end.day)
    except ValueError:
        return
    if same_year < start.local_date:
        _fail(
            f"The end ({_day_text(same_year)}) is before the start "
            f"({_day_text(start.local_date)}). Put the end after the start, e.g. "
            f'"Friday 11pm to Saturday 1am" or "Dec 24-26".'
        )


def _local_text(instant: datetime, zone: tzinfo) -> str:
    local = instant.astimezone(zone)
    return f"{_day_text(local.date())} {_clock_text(local)} {local.tzname() or ''}".rstrip()


def _day_text(day: date) -> str:
    return f"{_DAY_ABBR[day.weekday()]} {day.day} {_MONTH_ABBR[day.month - 1]} {day.year}"


def _clock_text(moment: datetime | time) -> str:
    if moment.second or moment.microsecond:
        return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _dst_notes(start: datetime, end: datetime, ctx: _Ctx, res: _Resolution) -> list[str]:
    notes: list[str] = []
    zone = ctx.zone
    if res.ambiguous:
        first = res.ambiguous[0]
        back = (first.utcoffset() or timedelta(0)) - (
            first.replace(fold=1).utcoffset() or timedelta(0)
        )
        times = " and ".join(f"{_clock_text(a)} on {_day_text(a.date())}" for a in res.ambiguous)
        verb = "happens" if len(res.ambiguous) == 1 else "happen"
        notes.append(
            f"{times} {verb} twice in {ctx.zone_name} (the clocks go back "
            f"{length(back, exact=True)} at the end of daylight-saving time); read as the first "
            f"occurrence, on {first.tzname()}."
        )
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if res.ambiguous or local_start.utcoffset() != local_end.utcoffset():
        real = end - start
        wall = local_end.replace(tzinfo=None) - local_start.replace(tzinfo=None)
        note = (
            f"The window touches a DST change in {ctx.zone_name}: it really lasts "
            f"{length(real, exact=True)}"
        )
        if wall != real:
            note += f", not the {length(wall, exact=True)} the clock shows"
        notes.append(note + ".")
    return notes


def _split_range(tokens: list[_Tok], text: str) -> tuple[list[_Tok], list[_Tok] | None, _Tok]:
    between = any(t.low == "between" for t in tokens)
    seps = [
        i
        for i, t in enumerate(tokens)
        if t.kind == _DASH or t.low in _RANGE_WORDS or (between and t.low == "and")
    ]
    if not seps:
        return tokens, None, tokens[0] if tokens else _Tok(_WORD, "", "", 0, 0)
    if len(seps) > 1:
        words = " and ".join(f'"{tokens[i].raw}"' for i in seps[:3])
        _fail(
            f"I can read only one range, but {words} each join a start and an end in "
            f'"{_short(text)}". {_EXAMPLE}'
        )
    k = seps[0]
    return tokens[:k], tokens[k + 1 :], tokens[k]


def _meaningful(tokens: list[_Tok]) -> list[_Tok]:
    return [t for t in tokens if t.low not in _FILLERS]


def _parse_sides(
    left_toks: list[_Tok], right_toks: list[_Tok] | None, ctx: _Ctx
) -> tuple[_Side, _Side | None]:
    left = _SideParser(left_toks, ctx).parse()
    if right_toks is None:
        return left, None
    # "Dec 24-26": a bare day number after a month-day is a day of the same month.
    bare_right = _meaningful(right_toks)
    if (
        left.date is not None
        and left.date.kind in ("md", "exact")
        and not left.date.from_slash
        and left.date.raw[:1].isalpha()
        and left.time is None
        and bare_right
        and _is_day_number(bare_right[0])
        and (len(bare_right) == 1 or bare_right[1].kind == _YEAR)
        and len(bare_right) <= 2
    ):
        right = _SideParser(right_toks, ctx, (left.date.month, left.date.year)).parse()
        if left.date.year is None and right.date is not None and right.date.year is not None:
            left.date = _month_day(left.date.month, left.date.day, right.date.year, left.date.raw)
        return left, right
    right = _SideParser(right_toks, ctx).parse()
    # "24-26 Dec": a bare day number before a day-month is a day of the same month.
    bare_left = _meaningful(left_toks)
    if (
        len(bare_left) == 1
        and _is_day_number(bare_left[0])
        and right.date is not None
        and right.date.kind in ("md", "exact")
        and not right.date.from_slash
        and right.date.raw[:1].isdigit()
        and right.time is None
    ):
        left = _SideParser(left_toks, ctx, (right.date.month, right.date.year)).parse()
    return left, right


def _parse(text: str, tz: str, now: datetime, max_length: timedelta) -> Window:
    if len(text) > MAX_TEXT_LENGTH:
        _fail(
            f"That text is {len(text)} characters long; a window fits in {MAX_TEXT_LENGTH}. "
            f"{_EXAMPLE}"
        )
    if not text.strip():
        _fail(f"The window text is empty: say when the window is. {_EXAMPLE}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    user_zone, user_zone_name = _zone_with_name(tz)

    # Slack and phones bring non-breaking spaces and curly apostrophes.
    normalized = " ".join(text.split()).replace("\u2019", "'")
    tokens, bad = _tokenize(normalized)
    for tok in tokens:
        if tok.low in _RECURRING:
            _fail(
                f'"{tok.raw}" makes this a recurring window; maintbot plans one window at a '
                f'time. Give one occurrence, e.g. "Saturday 2-4am".'
            )
    if not any(
        tok.kind not in (_WORD, _MER, _DASH, _IANA) or tok.low in _DATE_TIME_WORDS
        for tok in tokens
        if tok.kind != _OFFSET
    ):
        _fail(f'I found no date or time in "{_short(text.strip())}". {_EXAMPLE}')
    if bad:
        _fail(f'I can\'t read "{bad[0]}" in "{_short(text.strip())}". {_EXAMPLE}')

    tokens, zones = _extract_zones(tokens)
    names = {z.name for z in zones}
    if len(names) > 1:
        listed = " and ".join(sorted(names))
        _fail(f'The text names two zones, {listed}; name one, e.g. "Saturday 2-4am UTC".')
    if zones:
        zone, zone_name = zones[0].zone, zones[0].name
    else:
        zone, zone_name = user_zone, user_zone_name
        # An ISO date-time with an offset names the zone for the rest of the text.
        for tok in tokens:
            if tok.kind == _ISODT:
                match = _ISODT_RE.fullmatch(tok.raw)
                if match and match.group(8):
                    zone, zone_name = _iso_offset_zone(match.group(8), tok.raw)
                break
    now_utc = now.astimezone(UTC)
    ctx = _Ctx(zone, zone_name, now_utc, now_utc.astimezone(zone).date(), text, max_length)

    tokens = _mark_years(tokens)
    duration: timedelta | None = None
    fors = [i for i, t in enumerate(tokens) if t.low == "for"]
    if len(fors) > 1:
        _fail(f'Give one length with "for", e.g. "Saturday 2am for 2h". {_EXAMPLE}')
    if fors:
        k = fors[0]
        parts, used = _read_duration(tokens, k + 1)
        if not parts or used != len(tokens):
            _fail(
                'After "for" I expected a length such as "2h", "90m", "1h30" or "3 days", '
                'e.g. "Saturday 2am for 2h".'
            )
        duration = _elapsed(parts)
        tokens = tokens[:k]

    left_toks, right_toks, sep = _split_range(tokens, text)
    if not _meaningful(left_toks):
        if right_toks is not None:
            _fail(f'The window needs a start before "{sep.raw}", e.g. "now {sep.raw} 4pm".')
        _fail(f'The window needs a start, e.g. "now for 2h" or "Saturday 2am for 2h". {_EXAMPLE}')
    if right_toks is not None and not _meaningful(right_toks):
        _fail(f'The window needs an end after "{sep.raw}", e.g. "Saturday 2am {sep.raw} 4am".')
    if right_toks is not None and duration is not None:
        _fail('Give an end or a length, not both: e.g. "Saturday 2-4am" or "Saturday 2am for 2h".')

    left, right = _parse_sides(left_toks, right_toks, ctx)
    if (
        right is not None
        and left.time is not None
        and right.time is not None
        and left.instant is None
        and right.instant is None
    ):
        left.time, right.time = _carry(left.time, right.time)

    # A day written after the end's time with no day on the start ("2-4am Saturday") is
    # the day of the whole range, not the end's own day.
    shared = (
        right is not None
        and left.date is None
        and left.instant is None
        and right.date is not None
        and right.time is not None
        and right.date_after_time
    )
    res = _Resolution()
    start = _resolve_start(left, right.date if shared and right else None, ctx, res)
    if shared and right is not None:
        _check_weekday(right, start.local_date)

    if right is None:
        if duration is not None:
            end = start.instant + duration
        elif start.date_only:
            end = _wall_to_instant(start.local_date + timedelta(days=1), time(0), ctx, res)
        else:
            example = f"{_short(text.strip())} for 2h"
            hint = ""
            if zones and zones[0].raw.startswith("-"):
                hint = (
                    f' I read "{zones[0].raw}" as a UTC offset; for a range, write the dash '
                    f'without a space before it, e.g. "10:00-12:00".'
                )
            _fail(
                f'"{_short(text.strip())}" gives a start but no end.{hint} Add an end or a '
                f'length, e.g. "{example}" or "Saturday 2-4am".'
            )
    else:
        # After rollover only an end that names its own day can still be before the start.
        end = _resolve_end(right, shared, start, ctx, res)

    if end < start.instant:
        _fail(
            f"The end ({_local_text(end, zone)}) is before the start "
            f"({_local_text(start.instant, zone)}). Put the end after the start, e.g. "
            f'"Friday 11pm to Saturday 1am".'
        )
    if end == start.instant:
        _fail(
            f"The window has no length: it starts and ends at {_local_text(end, zone)}. "
            f'Give a later end or a length, e.g. "Saturday 2-4am" or "now for 2h".'
        )
    if start.instant < now_utc:
        _fail(
            f"The window would start {_local_text(start.instant, zone)}, which is already "
            f"past (it is now {_local_text(now_utc, zone)}). Start now or later, e.g. "
            f'"now for 2h" or "tomorrow 2-4am".'
        )
    if end - start.instant > max_length:
        _fail(
            f"The window would last {length(end - start.instant, exact=True)}; the longest "
            f"allowed is {length(max_length, exact=True)}. Plan a shorter one, e.g. "
            f'"Dec 24-26" or "Saturday 22:00 to Monday 06:00".'
        )
    notes = _dst_notes(start.instant, end, ctx, res)
    for side in (left, right):
        if side is not None and side.date is not None and side.date.kind == "next":
            day = _calendar_date(side.date, ctx.today, ctx)
            notes.append(
                f'"{side.date.raw}" is read as the {_DAY_FULL[day.weekday()]} of next week '
                f"(Monday to Sunday): {_day_text(day)}."
            )
    return Window(start=start.instant, end=end, tz=zone_name, text=text, notes=tuple(notes))


def parse_window(
    text: str,
    *,
    tz: str,
    now: datetime,
    max_length: timedelta = DEFAULT_MAX_LENGTH,
    languages: Sequence[str] = (),
) -> Window:
    """Read ``text`` as one maintenance window, following ``window-conventions.md``.

    ``tz`` is the user's zone (IANA name or UTC) used unless the text names one; ``now`` is
    the aware reference instant. ``languages`` are the user's (a Slack locale such as
    ``fr-FR``), tried first when the text is French, German, Spanish, Portuguese or
    Japanese (:mod:`bot.vocabulary` rewrites it into this grammar's words). Raises
    :class:`WindowError` with a message that says what was wrong and shows a text that works.
    """
    try:
        reading = to_grammar(text, languages)
        if reading.language is None:
            return _parse(text, tz, now, max_length)
        try:
            window = _parse(reading.text, tz, now, max_length)
        except WindowError as err:
            raise WindowError(
                f'I read "{_short(text.strip())}" ({reading.language_name}) as '
                f'"{_short(reading.text)}". {err}'
            ) from None
        return window.model_copy(update={"text": text})
    except OverflowError:
        # Dates past year 9999 (e.g. "in 999999 weeks") cannot be represented at all.
        raise WindowError(f"That date is too far away for a window. {_EXAMPLE}") from None


_LENGTH_EXAMPLE: Final = 'Write a length such as "45m", "1h30" or "2 hours".'


def parse_length(text: str) -> timedelta:
    """Read ``text`` as a length ("45m", "1h30", "2 hours", "half an hour"; a bare whole
    number is minutes, as ``--minutes`` is). Raises :class:`WindowError` naming what it
    could not read; a zero length is refused too."""
    words = text.strip()
    if not words:
        _fail(f"No length given. {_LENGTH_EXAMPLE}")
    if words.isdigit() and len(words) <= 6:
        delta = timedelta(minutes=int(words))
    else:
        tokens, bad = _tokenize(words)
        if bad:
            _fail(f'I can\'t read "{_short(words)}" as a length. {_LENGTH_EXAMPLE}')
        parts, used = _read_duration(tokens, 0)
        if not parts or used < len(tokens):
            rest = words[tokens[used].start :] if used < len(tokens) else words
            _fail(f'I can\'t read "{_short(rest)}" as a length. {_LENGTH_EXAMPLE}')
        try:
            delta = _elapsed(parts)
        except OverflowError:
            _fail(f'"{_short(words)}" is far too long. {_LENGTH_EXAMPLE}')
    if delta <= timedelta(0):
        _fail(f"A length must be more than zero. {_LENGTH_EXAMPLE}")
    return delta


# --------------------------------------------------------------------------------------------
# Echo


def echo_lines(
    window: Window, *, user_tz: str | None = None, locale: str | None = None
) -> list[str]:
    """The human echo: the window in its zone, in UTC, its real length and any notes.

    With ``user_tz`` (the person's own zone) the window is also shown there when the text
    was read in another zone, so "Saturday 2-4am UTC" says what that is locally. With
    ``locale`` (the Slack user's, e.g. ``fr-FR``) the days and months are that locale's
    words ("sam. 21 nov. 2026"); English otherwise.
    """
    found = _lookup_zone(window.tz)
    zone, zone_name = found if found is not None else (UTC, "UTC")
    day_text = day_formatter(locale) or _day_text
    lines = [_range_text(window.start, window.end, zone, zone_name, day_text)]
    mine = _lookup_zone(user_tz) if user_tz else None
    if mine is not None and mine[1] not in (zone_name, "UTC"):
        lines.append(_range_text(window.start, window.end, *mine, day_text))
    if zone_name != "UTC":
        lines.append(_range_text(window.start, window.end, UTC, "UTC", day_text))
    lines.append(f"Length: {length(window.end - window.start, exact=True)}")
    lines.extend(window.notes)
    return lines


def _range_text(
    start: datetime,
    end: datetime,
    zone: tzinfo,
    zone_name: str,
    day_text: Callable[[date], str] = _day_text,
) -> str:
    a, b = start.astimezone(zone), end.astimezone(zone)
    name_a, name_b = a.tzname() or zone_name, b.tzname() or zone_name
    first = f"{day_text(a.date())} {_clock_text(a)}"
    if name_a != name_b:
        first += f" {name_a}"
    second = _clock_text(b)
    if b.date() != a.date():
        second = f"{day_text(b.date())} {second}"
    line = f"{first} – {second} {name_b}"
    if zone_name not in (name_a, name_b):
        line += f" ({zone_name})"
    return line


def warm_up() -> None:
    """Exercise the parser once so the first real call does not pay for lazy set-up.

    The grammar has no heavy dependency (no dateparser), so this only primes the zone cache
    and the code paths; it is cheap. The other languages' words (CLDR, through Babel) are
    loaded here too, about 30 ms, so the first French or Japanese text is not the one to
    pay for it.
    """
    reference = datetime(2026, 1, 7, 12, tzinfo=UTC)
    for name in ("UTC", "America/Los_Angeles", "Europe/Berlin"):
        parse_window("tomorrow 2-4am", tz=name, now=reference)
    parse_window("土曜日 2時から4時", tz="UTC", now=reference)
