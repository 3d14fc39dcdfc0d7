"""The window grammar of ``shared/window-conventions.md``: a text becomes one :class:`Window`.

Pure: no I/O and no clock. ``now`` and the user's zone are always passed in, so the same
text said at the same instant always gives the same window.

The grammar is the project's own. A tokenizer made of anchored, non-nested regular
expressions turns the text into tokens; courtesy words are dropped, an ISO 8601 interval is
expanded into "START to END" or "START for LENGTH", zone mentions are marked, and the words
around the window expression become its title (the rule is written above ``_split_title``:
a run at the beginning or the end holding no date, time, zone or range token and no word of
the grammar). A small hand-written parser then splits the rest at the one range word into
a start side and an end side and reads each side's day and clock time;
``_resolve_start`` and ``_resolve_end`` turn those into instants with :mod:`zoneinfo`.
dateparser is not used: the contract decides every case it covers, and a general-purpose
parser both reads some of them differently and can take seconds on hostile input. Leftover
words inside the expression are errors that name the word rather than guesses, and so are
words that would change the window ("not", "or", "around"), wherever they stand.

This module reads the English of ``window-conventions.md`` including its "Version 2
additions" (titles, US zone words and "<City> time", ISO intervals, weekends, ordinal days,
number words); recurring texts are refused here, and other languages are not read here.

All arithmetic happens on UTC instants; wall clocks are only ever built from a calendar date
plus a clock time and converted once, which is where DST gaps and overlaps are detected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from itertools import pairwise
from typing import Final, Literal, NoReturn

from bot.errors import WindowError
from bot.format import length
from bot.model import Window
from bot.vocabulary import day_formatter, foreign_day_word, to_grammar
from bot.zones import city_zone, lookup_zone, offset_name

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
    "AEST": 10 * 60,
    "AEDT": 11 * 60,
    "JST": 9 * 60,
    "SGT": 8 * 60,
    "HKT": 8 * 60,
    "NZST": 12 * 60,
    "NZDT": 13 * 60,
}
"""The only abbreviations the contract accepts, as fixed offsets in minutes (not zones)."""

# The zones whose clocks the fixed abbreviations are halves of: typing "PST" in July is a
# fixed -08:00 while Los Angeles is on -07:00, which the echo points out.
_ABBREVIATION_HOMES: Final[dict[str, tuple[str, str, str]]] = {
    # abbreviation: (the zone in words, its IANA name, what to type for its local clock)
    **dict.fromkeys(("PST", "PDT"), ("Pacific time", "America/Los_Angeles", "PT")),
    **dict.fromkeys(("MST", "MDT"), ("Mountain time", "America/Denver", "MT")),
    **dict.fromkeys(("CST", "CDT"), ("Central time", "America/Chicago", "CT")),
    **dict.fromkeys(("EST", "EDT"), ("Eastern time", "America/New_York", "ET")),
    **dict.fromkeys(("CET", "CEST"), ("Berlin time", "Europe/Berlin", "Europe/Berlin")),
    "BST": ("London time", "Europe/London", "London time"),
    **dict.fromkeys(("AEST", "AEDT"), ("Sydney time", "Australia/Sydney", "Sydney time")),
    **dict.fromkeys(("NZST", "NZDT"), ("New Zealand time", "Pacific/Auckland", "Auckland time")),
}
# US zone words are real zones with daylight-saving time. The two-letter forms only in
# capitals: lower-case "et" is a word in other languages ("entre 2h et 4h").
_US_ZONE_WORDS: Final[dict[str, str]] = {
    "pacific": "America/Los_Angeles",
    "mountain": "America/Denver",
    "central": "America/Chicago",
    "eastern": "America/New_York",
}
_US_ZONE_LETTERS: Final[dict[str, str]] = {
    "PT": "America/Los_Angeles",
    "MT": "America/Denver",
    "CT": "America/Chicago",
    "ET": "America/New_York",
}

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
_TODAY_WORDS: Final = frozenset({"today", "tonight", "tonite"})
_TONIGHT_WORDS: Final = frozenset({"tonight", "tonite"})
_TOMORROW_WORDS: Final = frozenset({"tomorrow", "tmrw", "tmr", "tomorow"})
_UNIT_WORDS: Final[dict[str, str]] = {
    "week": "w", "weeks": "w", "day": "d", "days": "d", "hour": "h", "hours": "h", "hr": "h",
    "hrs": "h", "minute": "m", "minutes": "m", "min": "m", "mins": "m",
}
_ONES: Final[dict[str, int]] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9,
}
_TENS: Final[dict[str, int]] = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_NUMBER_WORDS: Final[dict[str, int]] = {
    **_ONES, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "eighteen": 18,
    **_TENS, "sixty": 60, "ninety": 90,
    # "forty-five" is one word once the tokenizer has joined it (_join_number_words).
    **{f"{tens}-{ones}": t + o for tens, t in _TENS.items() for ones, o in _ONES.items()},
}
_ORDINAL_WORDS: Final[dict[str, int]] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1,
}
# Words that say which part of the day a clock time is in, next to a day.
_QUALIFIERS: Final = frozenset({"night", "evening", "morning", "early", "afternoon"})
_ORDINAL_NAMES: Final[dict[int, str]] = {
    1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last",
}
_DATE_TIME_WORDS: Final = (
    frozenset(_WEEKDAYS) | frozenset(_MONTHS) | _TODAY_WORDS | _TOMORROW_WORDS
    | {"now", "noon", "midday", "midnight", "weekend"} | frozenset(_UNIT_WORDS)
)
# Words that can change what the window means: an error wherever they stand, never a title.
_MEANING_WORDS: Final[dict[str, str]] = {
    **dict.fromkeys(("not", "no", "except", "unless", "or", "either", "nor", "neither",
                     "without"), "changes which window is meant"),
    **dict.fromkeys(("before", "after"), "makes the time relative to another one"),
    **dict.fromkeys(("around", "about", "approximately", "approx", "roughly", "circa",
                     "maybe", "perhaps", "ish"), "makes the time approximate"),
}
_NOT_A_TIME: Final = frozenset({"eod", "cob", "eob"})
_NOT_A_TIME_PHRASES: Final = (
    ("end", "of", "day"), ("end", "of", "the", "day"), ("end", "of", "business"),
    ("close", "of", "business"),
)
# Dropped wherever they stand: they say nothing about the window.
_COURTESY: Final = frozenset({"please", "pls", "plz", "thanks", "thx"})
_COURTESY_PHRASES: Final = (("can", "we", "do"), ("could", "we", "do"), ("thank", "you"))
_COURTESY_STARTS: Final = frozenset(phrase[0] for phrase in _COURTESY_PHRASES)
# Words of the grammar that may also stand inside a title ("Patch the db on Saturday"); at
# the edge of a title next to the window they are the window's (see _split_title).
_SOFT_WORDS: Final = frozenset(
    {"the", "a", "an", "of", "on", "at", "in", "for", "to", "and", "with", "from", "over"}
)
# Words a title never takes: the grammar's own, and time-of-day words it does not read
# ("late", "overnight"), so a text such as "late Saturday 11-1" is refused, not titled.
_GRAMMAR_WORDS: Final = (
    _DATE_TIME_WORDS | frozenset(_NUMBER_WORDS) | frozenset(_ORDINAL_WORDS) | _QUALIFIERS
    | _RANGE_WORDS | frozenset(_MEANING_WORDS) | _NOT_A_TIME
    | {"this", "next", "between", "half", "o'clock", "utc", "gmt", "z", "late", "overnight",
       "lunchtime", "lunch", "dawn", "dusk", "tonite", "am", "pm", "wk", "wks", "month",
       "months", "year", "years"}
) - _SOFT_WORDS
# What a title word that is not the grammar's may be a typo of ("Saturady 2-4am" must not
# become a window titled "Saturady" today).
_TYPO_TARGETS: Final = tuple(
    sorted(
        {name.lower() for name in _DAY_FULL}
        | {name.lower() for name in _MONTH_FULL if len(name) >= 5}
        | {"today", "tonight", "tomorrow", "midnight", "weekend", "morning", "evening",
           "afternoon"}
    )
)
# Abbreviations people type that the contract deliberately does not accept: reported as
# unknown zones (not unknown words) so the user knows to write an IANA name or an offset.
_OTHER_ABBREVIATIONS: Final = frozenset({
    "acst", "acdt", "awst", "akst", "akdt", "hst", "hdt", "kst", "eet", "eest", "wet", "west",
    "msk", "pht", "wib", "ict", "cat", "eat", "wat", "sast", "brt", "art", "ast", "adt", "nst",
    "ndt",
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
_COLON: Final = "colon"
_ISOIV: Final = "isoiv"
# Made by the parser, not the tokenizer: a quoted title, and where a zone was named.
_QUOTED: Final = "quoted"
_ZONE: Final = "zone"

# One alternative per token kind, tried in order at each position. No alternative nests a
# quantifier inside another, the zone name's segments are possessive (no backtracking into
# them), and the text is at most MAX_TEXT_LENGTH characters, so the scan stays cheap.
# ``bad`` catches any single character nothing else accepts.
_TOKEN_RE: Final = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<isoiv>(?:\d{4}-\d{1,2}-\d{1,2}[\dt:.z+-]{0,30}|p[\dt][\d.ymwdths]{0,30})
                /[\da-z:.+-]{1,40}(?![a-z\d]))
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
    | (?P<colon>:)
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
        if kind == _COLON:
            # Kept only to find a "Label:" title; everywhere else it is punctuation.
            tokens.append(_Tok(_COLON, raw, raw, match.start(), match.end()))
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
    return _join_number_words(tokens), bad


def _join_number_words(tokens: list[_Tok]) -> list[_Tok]:
    """Join "forty-five" into one word: its hyphen is not a range."""
    out: list[_Tok] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if (
            tok.low in _TENS
            and i + 2 < len(tokens)
            and tokens[i + 1].kind == _DASH
            and tokens[i + 1].start == tok.end
            and tokens[i + 2].low in _ONES
            and tokens[i + 2].start == tokens[i + 1].end
        ):
            last = tokens[i + 2]
            raw = f"{tok.raw}-{last.raw}"
            out.append(_Tok(_WORD, raw, raw.lower(), tok.start, last.end))
            i += 3
            continue
        out.append(tok)
        i += 1
    return out


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


def _named_zone(name: str, raw: str) -> _NamedZone:
    return _NamedZone(*_zone_with_name(name), raw=raw)


def _city_before_time(tokens: list[_Tok], i: int) -> tuple[str, int] | None:
    """``(IANA name, tokens used)`` for "New York time" starting at ``tokens[i]``."""
    for span in (3, 2, 1):
        k = i + span
        if k >= len(tokens) or tokens[k].low != "time":
            continue
        words = tokens[i:k]
        if all(w.kind == _WORD for w in words):
            zone = city_zone(" ".join(w.low for w in words))
            if zone is not None:
                return zone, span + 1
    return None


def _is_anchor(tok: _Tok | None) -> bool:
    """Whether ``tok`` is part of a date or time (so a word right after it is at the edge
    of the window expression, where a zone would stand)."""
    if tok is None:
        return False
    return tok.kind in (_NUM, _TIME, _MER, _ISODT, _ISODATE, _SLASH, _ORD, _DUR, _H30) or (
        tok.kind == _WORD and tok.low in _DATE_TIME_WORDS
    )


def _extract_zones(tokens: list[_Tok]) -> tuple[list[_Tok], list[_NamedZone]]:
    """Replace the zone mentions in ``tokens`` by one ``_ZONE`` token each (which the title
    rule treats as part of the window, and the parser then drops); unknown IANA-looking
    names and unknown cities before "time" are errors."""
    kept: list[_Tok] = []
    zones: list[_NamedZone] = []
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < n else None
        found: _NamedZone | None = None
        used = 1
        city = _city_before_time(tokens, i) if tok.kind == _WORD else None
        if tok.kind == _WORD and tok.low in _US_ZONE_WORDS:
            if nxt is not None and nxt.low in ("european", "europe"):
                _fail(_unknown_zone_message(f"{tok.raw} {nxt.raw}"))
            found = _named_zone(_US_ZONE_WORDS[tok.low], tok.raw)
        elif tok.kind == _WORD and tok.raw in _US_ZONE_LETTERS:
            found = _named_zone(_US_ZONE_LETTERS[tok.raw], tok.raw)
        elif city is not None:
            found = _named_zone(city[0], " ".join(t.raw for t in tokens[i : i + city[1]]))
            used = city[1]
        elif tok.low == "local" and nxt is not None and nxt.low == "time":
            # "local time" is the user's own zone: nothing to name.
            kept.append(_Tok(_ZONE, tok.raw, tok.low, tok.start, nxt.end))
            i += 2
            continue
        elif (
            tok.kind == _WORD
            and nxt is not None
            and nxt.low == "time"
            and tok.low not in _GRAMMAR_WORDS
            and tok.low not in _SOFT_WORDS
            and _is_anchor(kept[-1] if kept else None)
        ):
            # "Saturday 2-4am Gotham time": a city that names no zone.
            _fail(
                f'I don\'t know a time zone for the city "{tok.raw}". Name a city with its '
                'own zone, e.g. "Saturday 2-4am London time", or an IANA name such as '
                '"Saturday 2-4am Europe/Berlin".'
            )
        elif tok.kind == _WORD and tok.low in ("utc", "gmt", "z"):
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
        # "PT time", "UTC time", "Europe/London time": the word "time" is the zone's.
        if i + used < n and tokens[i + used].low == "time":
            used += 1
        zones.append(found)
        last = tokens[i + used - 1]
        kept.append(_Tok(_ZONE, found.raw, found.raw.lower(), tok.start, last.end))
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
    # "first Sunday of January 2027"
    if p1.low in _MONTHS and p2.low in ("of", "in") and p3 is not None and p3.low in _WEEKDAYS:
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
    # weekend and week: whole days from a Saturday or a Monday ("this weekend", "next week");
    # dom: a day of the month ("the 5th"); nth: "first Sunday of January".
    kind: Literal["weekday", "next", "rel", "md", "exact", "weekend", "week", "dom", "nth"]
    raw: str
    weekday: int = 0
    days: int = 0
    month: int = 0
    day: int = 0
    year: int | None = None
    from_slash: bool = False
    nth: int = 0  # 1-5, or -1 for "last"
    following: bool = False  # "next weekend", "of next month": of the next week or month


@dataclass(slots=True)
class _Side:
    date: _DateSpec | None = None
    weekday_check: _DateSpec | None = None
    time: _TimeSpec | None = None
    instant: datetime | None = None
    instant_raw: str = ""
    date_after_time: bool = False
    qualifier: _Tok | None = None  # "night", "early", ... next to the day

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
    zone_suffix: str = ""  # " Europe/Berlin" when the text named the zone: for examples


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
        elif tok.low in _NUMBER_WORDS and nxt is not None and _unit_of(nxt.low):
            parts.append((float(_NUMBER_WORDS[tok.low]), _unit_of(nxt.low) or "h"))
            i += 2
        elif (
            # "two and a half hours", "1 and a half days"
            (tok.low in _NUMBER_WORDS or (tok.kind == _NUM and len(tok.raw) <= 3))
            and _and_a_half(tokens, i + 1)
            and i + 4 < n
            and (unit := _unit_of(tokens[i + 4].low)) is not None
        ):
            whole = _NUMBER_WORDS.get(tok.low) or int(tok.raw)
            parts.append((whole + 0.5, unit))
            i += 5
        elif parts and _and_a_half(tokens, i):
            # "an hour and a half": half of the unit just read.
            parts.append((0.5, parts[-1][1]))
            i += 3
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
        elif (
            tok.low == "and"
            and parts
            and nxt is not None
            and (nxt.kind in (_DUR, _H30) or nxt.low in _NUMBER_WORDS or nxt.low in ("a", "an"))
        ):
            i += 1
        else:
            break
    return parts, i


def _and_a_half(tokens: list[_Tok], i: int) -> bool:
    return (
        i + 2 < len(tokens)
        and tokens[i].low == "and"
        and tokens[i + 1].low == "a"
        and tokens[i + 2].low == "half"
    )


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
                self._this_or_next(tok, nxt)
            elif low == "weekend":
                self._set_date(_DateSpec("weekend", tok.raw))
                self.i += 1
            elif low == "over" and self._weekend_after(self.i + 1):
                self.i += 1  # "over the weekend" is this weekend
            elif low in _ORDINAL_WORDS:
                self._nth_weekday(tok, _ORDINAL_WORDS[low])
            elif low in _QUALIFIERS:
                if self.side.qualifier is not None and {self.side.qualifier.low, low} != {
                    "early",
                    "morning",
                }:
                    _fail(
                        f'"{self.side.qualifier.raw}" and "{tok.raw}" say two parts of the '
                        f'day. Give one, e.g. "Saturday night 11pm-1am".'
                    )
                self.side.qualifier = tok
                self.i += 1
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

    def _weekend_after(self, k: int) -> bool:
        tok = self.at(k)
        if tok is not None and tok.low == "the":
            tok = self.at(k + 1)
        return tok is not None and tok.low == "weekend"

    def _this_or_next(self, tok: _Tok, nxt: _Tok | None) -> None:
        low = tok.low
        if nxt is not None and nxt.low in _WEEKDAYS:
            kind: Literal["weekday", "next"] = "next" if low == "next" else "weekday"
            raw = f"{tok.raw} {nxt.raw}"
            self._set_date(_DateSpec(kind, raw, weekday=_WEEKDAYS[nxt.low]))
            self.i += 2
            return
        if nxt is not None and nxt.low == "weekend":
            self._set_date(_DateSpec("weekend", f"{tok.raw} {nxt.raw}", following=low == "next"))
            self.i += 2
            return
        if low == "next" and nxt is not None and nxt.low == "week":
            after = self.at(self.i + 2)
            raw = f"{tok.raw} {nxt.raw}"
            if after is not None and after.low in _WEEKDAYS:
                # "next week Tuesday" is the Tuesday of next week, as "next Tuesday" is.
                self._set_date(
                    _DateSpec("next", f"{raw} {after.raw}", weekday=_WEEKDAYS[after.low])
                )
                self.i += 3
                return
            date = self.side.date
            if date is not None and date.kind == "weekday" and date.raw.lower() in _WEEKDAYS:
                # "Tuesday next week"
                self.side.date = _DateSpec("next", f"{date.raw} {raw}", weekday=date.weekday)
            else:
                self._set_date(_DateSpec("week", raw, following=True))
            self.i += 2
            return
        week = "" if low == "this" else ' or "next week"'
        _fail(
            f'"{tok.raw}" needs a weekday or "weekend" after it, e.g. "{low} Saturday 2-4am" '
            f'or "{low} weekend"{week}. {_EXAMPLE}'
        )

    def _nth_weekday(self, tok: _Tok, nth: int) -> None:
        """Read "first Sunday of January [2027]" or "the last Friday of the month"."""
        day_tok = self.at(self.i + 1)
        of = self.at(self.i + 2)
        example = f'e.g. "{tok.raw} Sunday of January 2-6am" or "last Sunday of the month"'
        if day_tok is None or day_tok.low not in _WEEKDAYS:
            _fail(f'"{tok.raw}" needs a weekday and a month after it, {example}.')
        if of is None or of.low not in ("of", "in"):
            if nth == -1:
                _fail(
                    f'"{tok.raw} {day_tok.raw}" is already past. For the coming one write '
                    f'"{day_tok.raw} 2-4am"; for a month\'s last one, {example}.'
                )
            _fail(f'"{tok.raw} {day_tok.raw}" needs a month, {example}.')
        weekday = _WEEKDAYS[day_tok.low]
        month_tok = self.at(self.i + 3)
        raw = f"{tok.raw} {day_tok.raw} {of.raw}"
        if month_tok is not None and month_tok.low in _MONTHS:
            self.i += 4
            year = self._year_at(self.i)
            if year is not None:
                self.i += 1
            spec = _DateSpec(
                "nth",
                f"{raw} {month_tok.raw}",
                weekday=weekday,
                month=_MONTHS[month_tok.low],
                year=year,
                nth=nth,
            )
        elif (
            month_tok is not None
            and month_tok.low in ("the", "this", "next")
            and (word := self.at(self.i + 4)) is not None
            and word.low == "month"
        ):
            self.i += 5
            spec = _DateSpec(
                "nth",
                f"{raw} {month_tok.raw} month",
                weekday=weekday,
                nth=nth,
                following=month_tok.low == "next",
            )
        else:
            _fail(f'"{raw}" needs a month after it, {example}.')
        self._set_date(spec)

    def _set_date(self, spec: _DateSpec) -> None:
        side = self.side
        spans = ("weekend", "week")
        if side.date is not None and (side.date.kind in spans or spec.kind in spans):
            _fail(
                f'"{side.date.raw}" and "{spec.raw}" are two days for one end of the window. '
                f'Give one, e.g. "this weekend" or "Saturday 2-4am".'
            )
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
            following = self.at(self.i + 1)
            if following is not None and following.low in _WEEKDAYS:
                self._nth_weekday(tok, _day_value(tok))
                return
            previous = self.at(self.i - 1)
            date = self.side.date
            if (
                previous is not None
                and previous.low == "the"
                and (date is None or date.kind == "weekday")
            ):
                day = _day_value(tok)
                if not 1 <= day <= 31:
                    _fail(f'"{tok.raw}" is not a day of the month: they run 1–31. {_EXAMPLE}')
                self._set_date(_DateSpec("dom", f"the {tok.raw}", day=day))
                self.i += 1
                return
            _fail(
                f'"{tok.raw}" needs a month, e.g. "Dec {tok.raw}" or "{tok.raw} of December", '
                f'or "the", e.g. "the {tok.raw} 2-4am". {_EXAMPLE}'
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
        # v2: the end is the first such clock time after the start ("2pm-2" ends at 02:00).
        if _minutes_of_day(start) >= _minutes_of_day(carried):
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
        if max(instant, naive.replace(tzinfo=ctx.zone, fold=1).astimezone(UTC)) < ctx.now:
            # A past time in a gap is past first: suggesting the gap's way out would
            # suggest a window that cannot be planned either.
            _fail(_past_message(instant, ctx))
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
    year = f" {gap_end.year}" if _needs_year(gap_end.date(), ctx) else ""
    example = f"{_MONTH_ABBR[gap_end.month - 1]} {gap_end.day}{year} {valid} for 1h"
    example += ctx.zone_suffix
    return (
        f"{_clock_text(naive)} on {_day_text(naive.date())} does not exist in {ctx.zone_name}: "
        f"the clocks jump from {gap_start:%H:%M} to {valid} for daylight-saving time (the DST "
        f"gap is {gap_start:%H:%M}–{last_minute:%H:%M}). The nearest valid time is {valid}, "
        f'e.g. "{example}".'
    )


# --------------------------------------------------------------------------------------------
# Resolution


def _start_date(spec: _DateSpec, clock: time, ctx: _Ctx) -> date:
    def ahead(day: date) -> bool:
        return day > ctx.today or (
            day == ctx.today and _wall_to_instant(day, clock, ctx, None) >= ctx.now
        )

    if spec.kind == "weekday":
        # The next such weekday whose window has not started: today only if still ahead.
        day = ctx.today + timedelta(days=(spec.weekday - ctx.today.weekday()) % 7)
        if not ahead(day):
            day += timedelta(days=7)
        return day
    if spec.kind in ("dom", "nth"):
        # The next one whose window has not started: this month (or year) if still ahead.
        return _first_such_day(spec, ctx.today, ahead)
    return _calendar_date(spec, ctx.today, ctx)


def _nth_weekday_of(year: int, month: int, weekday: int, nth: int) -> date | None:
    if nth == -1:
        last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    return day if day.month == month else None


def _first_such_day(spec: _DateSpec, base: date, ahead: Callable[[date], bool]) -> date:
    """The first date of a "the 5th" or "first Sunday of ..." that ``ahead`` accepts, looking
    from ``base``'s month (or, for a named month, ``base``'s year) on."""
    if spec.kind == "dom":
        # "the 31st" skips the months that have no 31st; a year always has one.
        for step in range(13):
            year, month = divmod(base.month - 1 + step, 12)
            try:
                day = date(base.year + year, month + 1, spec.day)
            except ValueError:
                continue
            if ahead(day):
                return day
        _fail(f'"{spec.raw}" is not a day of any month. {_EXAMPLE}')
    candidates: list[tuple[int, int]]
    if spec.month:
        # A month already over this year is next year's.
        first = base.year + (spec.month < base.month)
        years = [spec.year] if spec.year is not None else [first, first + 1]
        candidates = [(year, spec.month) for year in years]
    elif spec.following:
        year, month = divmod(base.month, 12)
        candidates = [(base.year + year, month + 1)]
    else:
        candidates = [
            (base.year + (base.month - 1 + step) // 12, (base.month - 1 + step) % 12 + 1)
            for step in range(2)
        ]
    for year, month in candidates:
        found = _nth_weekday_of(year, month, spec.weekday, spec.nth)
        if found is None:
            _fail(
                f"{_MONTH_FULL[month - 1]} {year} has no {_ORDINAL_NAMES[spec.nth]} "
                f'{_DAY_FULL[spec.weekday]}. Try "last {_DAY_FULL[spec.weekday]} of '
                f'{_MONTH_FULL[month - 1]}" or "first Sunday of January 2-6am".'
            )
        if ahead(found):
            return found
    # An explicit year that is past: the past check names it.
    year, month = candidates[-1]
    return _nth_weekday_of(year, month, spec.weekday, spec.nth) or date(year, month, 1)


def _calendar_date(spec: _DateSpec, base: date, ctx: _Ctx) -> date:
    """The date of ``spec``; weekdays and year-less dates are the first on or after ``base``."""
    if spec.kind == "weekday":
        return base + timedelta(days=(spec.weekday - base.weekday()) % 7)
    if spec.kind in ("dom", "nth"):
        return _first_such_day(spec, base, lambda day: day >= base)
    if spec.kind in ("weekend", "week"):
        monday = ctx.today - timedelta(days=ctx.today.weekday())
        if spec.following or spec.kind == "week":
            monday += timedelta(days=7)
        return monday + timedelta(days=5 if spec.kind == "weekend" else 0)
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


def _check_weekday(side: _Side, day: date, ctx: _Ctx) -> None:
    check = side.weekday_check
    if check is not None and check.weekday != day.weekday():
        _fail(
            f"{_day_text(day)} is a {_DAY_FULL[day.weekday()]}, not a "
            f'{_DAY_FULL[check.weekday]}. Check the date, e.g. "{_DAY_ABBR[day.weekday()]} '
            f'{_day_month(day, ctx)} 2-4am{ctx.zone_suffix}".'
        )


def _day_month(day: date, ctx: _Ctx) -> str:
    """The day as "5 Dec", or "5 Dec 2027" when "5 Dec" said now would be another year's:
    a suggested text must give the very day the message names."""
    text = f"{day.day} {_MONTH_ABBR[day.month - 1]}"
    return f"{text} {day.year}" if _needs_year(day, ctx) else text


def _needs_year(day: date, ctx: _Ctx) -> bool:
    nearest = _calendar_date(_DateSpec("md", "", month=day.month, day=day.day), ctx.today, ctx)
    return nearest != day


@dataclass(frozen=True, slots=True)
class _Start:
    instant: datetime
    local_date: date
    local_clock: time
    date_only: bool
    end_day: date | None = None  # a date-only start ends at this day's 00:00


def _resolve_start(left: _Side, shared: _DateSpec | None, ctx: _Ctx, res: _Resolution) -> _Start:
    if left.instant is not None:
        local = left.instant.astimezone(ctx.zone)
        return _Start(left.instant, local.date(), local.time(), False)
    spec = left.date or shared
    if spec is not None and spec.kind in ("weekend", "week"):
        day = _calendar_date(spec, ctx.today, ctx)
        end_day = day + timedelta(days=2 if spec.kind == "weekend" else 7)
        instant = _wall_to_instant(day, time(0), ctx, res)
        if instant < ctx.now and spec.kind == "weekend":
            # The weekend under way: from now.
            local = ctx.now.astimezone(ctx.zone)
            return _Start(ctx.now, local.date(), local.time(), True, end_day)
        return _Start(instant, day, time(0), True, end_day)
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
    _check_weekday(left, day, ctx)
    instant = _wall_to_instant(day, clock, ctx, res)
    return _Start(instant, day, clock, left.time is None, day + timedelta(days=1))


def _resolve_end(
    right: _Side, shared: bool, start: _Start, ctx: _Ctx, res: _Resolution
) -> datetime:
    """The end instant; only an end without its own day is subject to the rollover rule."""
    if right.instant is not None:
        return right.instant
    if right.date is not None and not shared:
        # A weekday or year-less date at the end is the first such day on or after the
        # start's day: "Dec 30 - Jan 2" crosses the new year, and a range never wraps twice.
        # v2: a year-less date is never read as before the start: "Dec 20 to Jan 5" is 17
        # days (refused as too long), "Dec 5 to Dec 3" a year (the same).
        day = _calendar_date(right.date, start.local_date, ctx)
        _check_weekday(right, day, ctx)
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


# --------------------------------------------------------------------------------------------
# Words around the window (version 2)
#
# The rule for a title: after courtesy words are dropped and zone mentions are marked, the
# title is the longest run of tokens at the *beginning* and the longest run at the *end* of
# the text that holds no date, time, zone or range token and no word of the grammar (see
# _GRAMMAR_WORDS); a few grammar words ("the", "on", "for", "to" ... _SOFT_WORDS) may stand
# inside such a run. A leading "Label:" is a title too, and so is a run in double quotes,
# taken literally. Everything between the first and the last token of the window
# expression must still be understood, so "sat db 2-4am" names "db" as unknown. Title
# words that look like a misspelt day or month, a place or a zone abbreviation are
# refused, not titled: "Saturady 2-4am" must not become a window titled "Saturady" today.

_QUOTED_RE: Final = re.compile(r'"([^"]{1,100})"|\u201c([^\u201d]{1,100})\u201d')


def _quoted_titles(text: str) -> tuple[str, list[_Tok]]:
    """``text`` with each quoted run blanked out, and one ``_QUOTED`` token per run."""
    found: list[_Tok] = []
    for match in _QUOTED_RE.finditer(text):
        inner = (match.group(1) or match.group(2) or "").strip()
        if inner:
            found.append(_Tok(_QUOTED, inner, inner.lower(), match.start(), match.end()))
    for tok in found:
        text = text[: tok.start] + " " * (tok.end - tok.start) + text[tok.end :]
    return text, found


def _drop_courtesy(tokens: list[_Tok]) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(tokens):
        low = tokens[i].low
        if low in _COURTESY:
            i += 1
            continue
        if low in _COURTESY_STARTS:
            phrase = _phrase_at(tokens, i, _COURTESY_PHRASES)
            if phrase is not None:
                i += len(phrase)
                continue
        out.append(tokens[i])
        i += 1
    return out


def _phrase_at(
    tokens: list[_Tok], i: int, phrases: tuple[tuple[str, ...], ...]
) -> tuple[str, ...] | None:
    for phrase in phrases:
        if tuple(t.low for t in tokens[i : i + len(phrase)]) == phrase:
            return phrase
    return None


def _check_words(tokens: list[_Tok]) -> None:
    """Words that would change the window, and end-of-day words, are errors anywhere."""
    for i, tok in enumerate(tokens):
        if tok.kind != _WORD:
            continue
        low = tok.low
        if low == "after" and i > 0 and tokens[i - 1].low == "day":
            continue  # "day after tomorrow"
        if low in _MEANING_WORDS:
            _fail(
                f'"{tok.raw}" {_MEANING_WORDS[low]}, so I won\'t guess the window. Give '
                f'exact times for one window, e.g. "Saturday 2-4am" or "now until 17:00".'
            )
        phrase = _phrase_at(tokens, i, _NOT_A_TIME_PHRASES) if low in ("end", "close") else None
        if low in _NOT_A_TIME or phrase is not None:
            shown = " ".join(t.raw for t in tokens[i : i + len(phrase)]) if phrase else tok.raw
            _fail(
                f'"{shown}" is not a clock time: say when the window ends, e.g. '
                f'"now until 17:00" or "today 2-5pm".'
            )


_ISO_DURATION_RE: Final = re.compile(
    r"p(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?"
    r"(?:t(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?)?",
    re.IGNORECASE | re.ASCII,
)
_ISO_INTERVAL_EXAMPLE: Final = (
    'Write an ISO interval as START/END or START/DURATION, e.g. "2026-12-24T22:00Z/PT2H" or '
    '"2026-12-24T22:00/2026-12-25T01:00".'
)


def _single_token(raw: str, kinds: tuple[str, ...]) -> str | None:
    match = _TOKEN_RE.fullmatch(raw)
    return match.lastgroup if match is not None and match.lastgroup in kinds else None


def _expand_intervals(tokens: list[_Tok]) -> list[_Tok]:
    """An ISO 8601 interval becomes the tokens of "START to END" or "START for DURATION"."""
    out: list[_Tok] = []
    for tok in tokens:
        if tok.kind != _ISOIV:
            out.append(tok)
            continue
        left, right = tok.raw.split("/")
        middle = tok.start + len(left)
        left_kind = _single_token(left, (_ISODT, _ISODATE))
        if left_kind is None:
            _fail(f'"{tok.raw}" does not start with a date or date-time. {_ISO_INTERVAL_EXAMPLE}')
        out.append(_Tok(left_kind, left, left.lower(), tok.start, middle))
        if right[:1].lower() == "p":
            out.append(_Tok(_WORD, "/", "for", middle, middle + 1))
            out.extend(_iso_duration(right, tok, middle + 1))
            continue
        right_kind = _single_token(right, (_ISODT, _ISODATE, _TIME))
        if right_kind is None:
            _fail(f'"{tok.raw}" does not end with a date, time or length. {_ISO_INTERVAL_EXAMPLE}')
        out.append(_Tok(_WORD, "/", "to", middle, middle + 1))
        out.append(_Tok(right_kind, right, right.lower(), middle + 1, tok.end))
    return out


def _iso_duration(raw: str, whole: _Tok, at: int) -> list[_Tok]:
    match = _ISO_DURATION_RE.fullmatch(raw)
    if match is None or not any(match.groups()) or raw.lower().endswith("t"):
        _fail(f'"{raw}" in "{whole.raw}" is not an ISO length. {_ISO_INTERVAL_EXAMPLE}')
    years, months, weeks, days, hours, minutes, seconds = match.groups()
    if years or months:
        _fail(
            f'"{raw}" counts years or months, which are no fixed length. Count days, e.g. '
            f'"{whole.raw.split("/")[0]}/P3D".'
        )
    parts = [
        f"{value}{unit}"
        for value, unit in ((weeks, "w"), (days, "d"), (hours, "h"), (minutes, "m"))
        if value
    ]
    if seconds:
        parts.append(f"{float(seconds) / 60:.6f}m")
    return [_Tok(_DUR, part, part, at, whole.end) for part in parts]


def _word_is_plain(tok: _Tok) -> bool:
    """A word the grammar does not use (nor its possessive: "tomorrow's")."""
    low = tok.low
    stem = low[:-2] if low.endswith("'s") else low
    return (
        low not in _GRAMMAR_WORDS
        and stem not in _GRAMMAR_WORDS
        and low not in _RECURRING
        and low not in _US_ZONE_WORDS
        and tok.raw.upper() not in FIXED_ABBREVIATIONS
    )


def _titleable(tokens: list[_Tok]) -> list[bool]:
    """Which tokens may belong to a title run (see the rule above)."""
    marks = [False] * len(tokens)
    for i, tok in enumerate(tokens):
        previous = tokens[i - 1] if i else None
        glued_to_title = previous is not None and marks[i - 1] and previous.end == tok.start
        if tok.kind == _QUOTED:
            marks[i] = True
        elif tok.kind == _WORD:
            marks[i] = _word_is_plain(tok)
        elif tok.kind == _NUM and glued_to_title and previous is not None:
            marks[i] = previous.kind == _WORD  # "db2", "pg14"
        elif tok.kind == _DASH and glued_to_title and i + 1 < len(tokens):
            following = tokens[i + 1]  # "db-failover", "re-index"
            marks[i] = (
                following.kind == _WORD and following.start == tok.end and _word_is_plain(following)
            )
    return marks


# At the inner edge of a leading title these go back to the window ("Patch the db in 2
# hours": "in" is the window's); the others are dropped ("Maintenance for Saturday").
_GIVE_BACK_LEADING: Final = frozenset({"in", "to", "on", "at", "the", "from", "a", "an", "over"})


def _split_title(tokens: list[_Tok], text: str) -> tuple[list[_Tok], str | None]:
    """The tokens of the window expression, and the title around it (or None)."""
    marks = _titleable(tokens)
    n = len(tokens)
    lead_end = 0
    colons = [i for i, t in enumerate(tokens) if t.kind == _COLON]
    if colons and colons[0] > 0:
        # "CHG0042 release 4: Saturday 2-4am": a label may hold numbers too.
        label = tokens[: colons[0]]
        if all(marks[i] or t.kind == _NUM for i, t in enumerate(label)):
            lead_end = colons[0] + 1
    while lead_end < n and (marks[lead_end] or tokens[lead_end].kind == _COLON):
        lead_end += 1
    trail_start = n
    while trail_start > lead_end and (
        marks[trail_start - 1] or tokens[trail_start - 1].kind == _COLON
    ):
        trail_start -= 1
    # A run of soft words alone is no title: "now for an" keeps its "for an".
    if not any(t.kind != _COLON and t.low not in _SOFT_WORDS for t in tokens[:lead_end]):
        lead_end = 0
    if not any(t.kind != _COLON and t.low not in _SOFT_WORDS for t in tokens[trail_start:]):
        trail_start = n
    lead, body, trail = tokens[:lead_end], tokens[lead_end:trail_start], tokens[trail_start:]
    # Soft words at the inner edges are the window's, or nobody's.
    given: list[_Tok] = []
    while lead and (lead[-1].kind == _COLON or lead[-1].low in _SOFT_WORDS):
        word = lead.pop()
        if word.kind == _COLON:
            continue
        following = (given or body)[0] if given or body else None
        duration_next = following is not None and (
            following.kind in (_DUR, _H30)
            or following.low in ("a", "an", "half")
            or following.low in _NUMBER_WORDS
        )
        if word.low in _GIVE_BACK_LEADING or (word.low == "for" and duration_next):
            given.insert(0, word)
    body = given + body
    while trail and (trail[0].kind == _COLON or trail[0].low in _SOFT_WORDS):
        word = trail.pop(0)
        if word.low == "to":
            body.append(word)  # "Sat 2am to whenever" still lacks an end
    # "db failover - Sat 2-4am", "Sat 2-4am - db failover": that dash only sets the title off.
    if lead and body and body[0].kind == _DASH:
        body = body[1:]
    if trail and body and body[-1].kind == _DASH:
        body = body[:-1]
    if not any(t.kind not in (_ZONE, _COLON) for t in body):
        _fail(f'I found no date or time in "{_short(text.strip())}". {_EXAMPLE}')
    _check_title_words(lead, text, at_edge=False)
    _check_title_words(trail, text, at_edge=True)
    parts = [_title_text(run, text) for run in (lead, trail) if run]
    title = " – ".join(part for part in parts if part) or None
    return [t for t in body if t.kind not in (_COLON, _ZONE)], title


def _title_text(run: list[_Tok], text: str) -> str:
    if len(run) == 1 and run[0].kind == _QUOTED:
        return run[0].raw
    pieces: list[str] = []
    for k, tok in enumerate(run):
        if k:
            gap = text[run[k - 1].end : tok.start]
            pieces.append(gap if not any(ch.isalnum() for ch in gap) else " ")
        pieces.append(tok.raw if tok.kind == _QUOTED else text[tok.start : tok.end])
    return "".join(pieces).strip().strip(":").strip().strip('"\u201c\u201d').strip()


def _check_title_words(run: list[_Tok], text: str, *, at_edge: bool) -> None:
    """Refuse title words that are more likely a mistyped part of the window. ``at_edge``:
    the run follows the window, where a zone would stand."""
    words = [t for t in run if t.kind == _WORD]
    if not words:
        return
    # The way out the messages offer: the same text with the title in quotes.
    first, last = run[0].start, run[-1].end
    quoted = _short(f"{text[:first]}\u201c{text[first:last]}\u201d{text[last:]}".strip())
    for k, tok in enumerate(words):
        raw, low = tok.raw, tok.low
        if low in ("pt", "mt", "ct", "et"):
            _fail(
                f'Is "{raw}" a US time zone? Write it in capitals, "{raw.upper()}", or as '
                f'a word, e.g. "Saturday 2-4am Eastern".'
            )
        zone_like = raw.isupper() and raw.isalpha() and 3 <= len(raw) <= 5 and raw.endswith("T")
        if (low in _OTHER_ABBREVIATIONS and (raw.isupper() or len(raw) >= 4)) or (
            at_edge and k == 0 and zone_like
        ):
            _fail(_unknown_zone_message(raw))
        for span in (3, 2, 1):
            group = words[k : k + span]
            if len(group) < span or any(b.start - a.end != 1 for a, b in pairwise(group)):
                continue
            place = " ".join(t.raw for t in group)
            zone = city_zone(place) if len(group[0].raw) >= 3 else None
            # A capitalised city anywhere; a lower-case one only where a zone would stand.
            if zone is not None and (group[0].raw[:1].isupper() or (at_edge and k == 0)):
                _fail(
                    f'"{place}" looks like a place. For the time there write "{place} time" '
                    f'or "{zone}", e.g. "Saturday 2-4am {place} time"; to keep it as a title, '
                    f'put the title in quotes, e.g. "{quoted}".'
                )
        foreign = foreign_day_word(raw) if not raw.isupper() else None
        if foreign is not None:
            language, english = foreign
            _fail(
                f'"{raw}" is {language} for "{english}", which I read only when {language} is '
                f"your language (your Slack's, or --locale on the command line); write it in "
                f'English, e.g. "{english.capitalize()} 2-4am", or put a title in quotes, e.g. '
                f'"{quoted}".'
            )
        target = _typo_of(low)
        if target is not None:
            _fail(
                f'I don\'t understand "{raw}" in "{_short(text)}": did you mean '
                f'"{target.capitalize()}"? If it is part of the title, put the title in quotes, '
                f'e.g. "{quoted}".'
            )


@lru_cache(maxsize=4096)
def _typo_of(word: str) -> str | None:
    """The day or month word that ``word`` is one or two slips away from, if any."""
    if len(word) < 4 or not word.isalpha():
        return None
    for target in _TYPO_TARGETS:
        limit = 1 if len(target) <= 5 or word[:2] != target[:2] else 2
        if abs(len(word) - len(target)) > limit or (word[0] != target[0] and word[1] != target[1]):
            continue
        if _slips(word, target) <= limit:
            return target
    return None


def _slips(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) between two short words."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[-1]


# --------------------------------------------------------------------------------------------
# Parts of the day next to a day: "Saturday night 11pm-1am", "Sunday early 1-3"

# The clock hours (24-hour, from inclusive, to exclusive) each word allows.
_QUALIFIER_HOURS: Final[dict[str, tuple[int, int]]] = {
    "morning": (0, 12),
    "early": (0, 12),
    "afternoon": (12, 18),
    "evening": (16, 24),
    "night": (18, 24),
}


def _qualify(side: _Side, implicit_night: bool) -> None:
    """Give a bare clock time the half of the day its word says ("night 11" is 23:00)."""
    word = side.qualifier.low if side.qualifier is not None else ("night" if implicit_night else "")
    spec = side.time
    if not word or spec is None or not _carryable(spec):
        return
    if word in ("morning", "early"):
        side.time = replace(spec, mer="am")
    elif word == "night" and not 6 <= spec.hour <= 11:
        return  # "night 2": which night? _check_qualifier says so
    else:
        side.time = replace(spec, mer="pm")


def _check_qualifier(side: _Side, implicit_night: bool, ctx: _Ctx) -> None:
    qualifier = side.qualifier
    if qualifier is None and not implicit_night:
        return
    word = qualifier.low if qualifier is not None else "night"
    shown = qualifier.raw if qualifier is not None else "tonight"
    if qualifier is not None and side.date is None:
        _fail(
            f'"{shown}" needs a day next to it, e.g. "Saturday night 11pm-1am" or '
            f'"Sunday early 1-3".'
        )
    if side.time is None:
        if qualifier is None:
            return  # "tonight" alone is today, as in the first contract
        day = side.date.raw if side.date is not None else "Saturday"
        _fail(
            f'"{day} {shown}" is not a time: give the clock time, e.g. '
            f'"{day} {shown} 11pm-1am" or "{day} 22:00 for 2h".'
        )
    spec = side.time
    clock, end_of_day = _clock(spec, end=True)
    hour = 24 if end_of_day else clock.hour
    low, high = _QUALIFIER_HOURS[word]
    if low <= hour < high or (word == "night" and hour == 24):
        return
    day = side.date.raw if side.date is not None else "today"
    if word == "night" and hour < 6:
        _fail(
            f'"{day} {shown} {spec.raw}" could be the early hours of {day} or of the day '
            f'after. Name the day the time is on, e.g. "Sunday 2-4am" or "Saturday 11pm-1am".'
        )
    _fail(
        f'"{spec.raw}" is not in the {word}. Give a time that is, or leave "{shown}" out, '
        f'e.g. "Saturday night 11pm-1am" or "Sunday early 1-3".'
    )


# --------------------------------------------------------------------------------------------
# Notes about the zone named


def _zone_notes(zones: list[_NamedZone], start: datetime, end: datetime) -> list[str]:
    notes: list[str] = []
    if not zones:
        return notes
    named = zones[0]
    home = _ABBREVIATION_HOMES.get(named.name)
    if home is not None:
        words, iana, write = home
        fixed = timedelta(minutes=FIXED_ABBREVIATIONS[named.name])
        real_zone = resolve_zone(iana)
        for instant in (start, end - timedelta(microseconds=1)):
            real = instant.astimezone(real_zone).utcoffset()
            if real is not None and real != fixed:
                local_day = instant.astimezone(real_zone).date()
                notes.append(
                    f"{named.name} is a fixed {_offset_text(fixed)}; {words} ({iana}) is on "
                    f"{_offset_text(real)} on {_day_text(local_day)}. For the local clock "
                    f'there, write "{write}" instead of "{named.raw}".'
                )
                break
    elif named.name.upper().startswith("ETC/GMT") and named.name[7:8] in ("+", "-"):
        offset = start.astimezone(named.zone).utcoffset() or timedelta(0)
        written = named.name[7:]
        notes.append(
            f"{named.name} is UTC{_offset_text(offset)}: IANA's Etc/GMT names reverse the "
            f'sign. For UTC{written} as written, write "UTC{written}".'
        )
    return notes


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    return offset_name(minutes).replace("-", "\u2212")


def _past_message(instant: datetime, ctx: _Ctx) -> str:
    return (
        f"The window would start {_local_text(instant, ctx.zone)}, which is already "
        f"past (it is now {_local_text(ctx.now, ctx.zone)}). Start now or later, e.g. "
        f'"now for 2h" or "tomorrow 2-4am".'
    )


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
    unquoted, quoted = _quoted_titles(normalized)
    tokens, bad = _tokenize(unquoted)
    if quoted:
        tokens = sorted(tokens + quoted, key=lambda t: t.start)
    tokens = _expand_intervals(_drop_courtesy(tokens))
    for tok in tokens:
        if tok.low in _RECURRING:
            _fail(
                f'"{tok.raw}" makes this a recurring window; maintbot plans one window at a '
                f'time. Give one occurrence, e.g. "Saturday 2-4am".'
            )
    _check_words(tokens)
    if not any(
        tok.kind not in (_WORD, _MER, _DASH, _IANA, _QUOTED, _COLON) or tok.low in _DATE_TIME_WORDS
        for tok in tokens
        if tok.kind != _OFFSET
    ):
        _fail(f'I found no date or time in "{_short(text.strip())}". {_EXAMPLE}')
    if bad:
        _fail(f'I can\'t read "{bad[0]}" in "{_short(text.strip())}". {_EXAMPLE}')

    tokens, zones = _extract_zones(tokens)
    tokens, title = _split_title(tokens, normalized)
    # Where the expression ends: a suggested length goes there, before a trailing title.
    expression_end = tokens[-1].end if tokens else len(normalized)
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
    suffix = f" {zone_name}" if zone_name != user_zone_name else ""
    today = now_utc.astimezone(zone).date()
    ctx = _Ctx(zone, zone_name, now_utc, today, text, max_length, suffix)

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
    _check_spans(left, right, duration, text)
    tonight = [
        side is not None and side.date is not None and side.date.raw.lower() in _TONIGHT_WORDS
        for side in (left, right)
    ]
    _qualify(left, tonight[0])
    if right is not None:
        _qualify(right, tonight[1])
    if (
        right is not None
        and left.time is not None
        and right.time is not None
        and left.instant is None
        and right.instant is None
    ):
        left.time, right.time = _carry(left.time, right.time)
    _check_qualifier(left, tonight[0], ctx)
    if right is not None:
        _check_qualifier(right, tonight[1], ctx)

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
        _check_weekday(right, start.local_date, ctx)

    if right is None:
        if duration is not None:
            end = start.instant + duration
        elif start.date_only and start.end_day is not None:
            end = _wall_to_instant(start.end_day, time(0), ctx, res)
        else:
            example = _short(
                f"{normalized[:expression_end]} for 2h{normalized[expression_end:]}".strip()
            )
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
        _fail(_past_message(start.instant, ctx))
    if end - start.instant > max_length:
        _fail(
            f"The window would last {length(end - start.instant, exact=True)} (from "
            f"{_local_text(start.instant, zone)} to {_local_text(end, zone)}); the longest "
            f"allowed is {length(max_length, exact=True)}. Plan a shorter one, e.g. "
            f'"Dec 24-26" or "Saturday 22:00 to Monday 06:00".'
        )
    notes = _dst_notes(start.instant, end, ctx, res)
    notes.extend(_zone_notes(zones, start.instant, end))
    for side in (left, right):
        if side is None or side.date is None:
            continue
        if side.date.kind == "next":
            day = _calendar_date(side.date, ctx.today, ctx)
            notes.append(
                f'"{side.date.raw}" is read as the {_DAY_FULL[day.weekday()]} of next week '
                f"(Monday to Sunday): {_day_text(day)}."
            )
        elif side.date.kind in ("weekend", "week") and side.date.following:
            day = _calendar_date(side.date, ctx.today, ctx)
            span = 2 if side.date.kind == "weekend" else 7
            what = "the weekend of next week" if span == 2 else "the week after this one"
            notes.append(
                f'"{side.date.raw}" is read as {what} (weeks run Monday to Sunday): '
                f"{_day_text(day)} 00:00 to {_day_text(day + timedelta(days=span))} 00:00."
            )
    return Window(
        start=start.instant, end=end, tz=zone_name, text=text, notes=tuple(notes), title=title
    )


def _check_spans(left: _Side, right: _Side | None, duration: timedelta | None, text: str) -> None:
    """Refuse a time, end or length with "this weekend" or "next week": they are whole
    days on their own."""
    for side in (left, right):
        if side is None or side.date is None or side.date.kind not in ("weekend", "week"):
            continue
        if side.time is not None or right is not None or duration is not None:
            _fail(
                f'"{side.date.raw}" is whole days (Saturday 00:00 to Monday 00:00 for a weekend, '
                f"Monday to Monday for a week); it takes no time, end or length. Name a day for "
                f'times, e.g. "Saturday 2-4am" or "Saturday 22:00 to Monday 06:00".'
            )


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
    """The human echo: the window in its zone (after its title, when it has one:
    ``"db failover": Thu 19 Nov 2026 22:00 – 23:00 PST (America/Los_Angeles)``), in UTC,
    its real length and any notes.

    With ``user_tz`` (the person's own zone) the window is also shown there when the text
    was read in another zone, so "Saturday 2-4am UTC" says what that is locally. With
    ``locale`` (the Slack user's, e.g. ``fr-FR``) the days and months are that locale's
    words ("sam. 21 nov. 2026"); English otherwise.
    """
    found = _lookup_zone(window.tz)
    zone, zone_name = found if found is not None else (UTC, "UTC")
    day_text = day_formatter(locale) or _day_text
    lines = [_range_text(window.start, window.end, zone, zone_name, day_text)]
    if window.title:
        # Quoted and before a colon, the line still reads back as the same window and title.
        lines[0] = f'"{window.title}": {lines[0]}'
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
    # Titles and "<city> time" look cities up: this lists the zones once.
    parse_window("db failover tomorrow 2-4am London time", tz="UTC", now=reference)
