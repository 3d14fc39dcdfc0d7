"""Recurring windows ("every Saturday 2-4am"): a text becomes a :class:`Series`, and a series
expands into :class:`Occurrence` objects, each the one-off window of its own date.

Pure: no I/O and no clock; ``now`` and the user's zone are passed in.

Only the recurrence is read here: the repeat ("every other Saturday", "first Sunday of each
month"), its end ("until Mar 31", "for 6 weeks", "10 times") and a leading title. What is left
is the occurrence's own text ("2-4am", "22:00 for 2h Europe/Berlin"), and every occurrence is
that text read by :func:`bot.windows.parse_window` on the occurrence's date. So a series and a
one-off window follow the same clock rules (am/pm carry, rollover past midnight, zones named
in the text, DST gaps and overlaps) because the same grammar reads both.

The rule is an RFC 5545 RRULE (without the ``RRULE:`` prefix) so that calendars read it too.
It is expanded with python-dateutil's ``rrulestr`` over naive wall-clock datetimes in the
series' zone: a 02:00 start stays 02:00 on both sides of a DST change, and each date's own
offset comes from :mod:`zoneinfo` when the occurrence is read. An occurrence whose start (or
end) does not exist on its date is reported with the grammar's reason, never shifted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Any, Final, NoReturn

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]  # no stubs
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]  # no stubs in the venv
from pydantic import BaseModel, ConfigDict

from bot.errors import WindowError
from bot.format import length
from bot.model import Instant, Window
from bot.vocabulary import to_grammar
from bot.windows import (
    DEFAULT_MAX_LENGTH,
    MAX_TEXT_LENGTH,
    RECURRING_WORDS,
    echo_lines,
    parse_window,
    resolve_zone,
)

__all__ = [
    "GAP_SCAN",
    "MAX_COUNT",
    "MAX_INTERVAL",
    "MIN_OPEN_ENDED_INTERVAL",
    "Occurrence",
    "Series",
    "describe",
    "occurrences",
    "parse_series",
    "series_json",
    "series_lines",
]

MIN_OPEN_ENDED_INTERVAL: Final = timedelta(days=1)
"""Policy: a series with no end may not start occurrences closer together than this."""

MAX_COUNT: Final = 1000
"""The most occurrences ``N times`` may ask for."""

MAX_INTERVAL: Final = 999
"""The largest ``every N ...``."""

GAP_SCAN: Final = 60
"""How many candidate dates are read to find the first occurrence that exists (and to
measure the rule's shortest interval): a rule whose first 60 all fall in a DST gap is
refused, since a yearly rule on a DST day would otherwise be scanned to the year 9999."""

_EXAMPLE: Final = (
    'Try "every Saturday 2-4am", "weekdays 1-2am" or "first Sunday of each month 2-6am".'
)

_DAY_CODES: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# fmt: off
_WEEKDAYS: Final[dict[str, int]] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "weds": 2, "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
_PLURAL_WEEKDAYS: Final[dict[str, int]] = {
    name.lower() + "s": number for number, name in enumerate(_DAY_NAMES)
}
_MONTHS: Final[dict[str, int]] = {
    **{name.lower(): n for n, name in enumerate(_MONTH_NAMES, start=1)},
    **{name.lower()[:3]: n for n, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}
_NUMBER_WORDS: Final[dict[str, int]] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
# "every second Saturday" is every other Saturday; "second Sunday of the month" is a position.
_ORDINAL_WORDS: Final[dict[str, int]] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1,
}
_UNTIL_WORDS: Final = frozenset({"until", "till", "til", "through", "thru", "ending"})
_SPAN_UNITS: Final[dict[str, str]] = {
    "day": "days", "days": "days", "d": "days", "week": "weeks", "weeks": "weeks", "w": "weeks",
    "wk": "weeks", "wks": "weeks", "month": "months", "months": "months", "year": "years",
    "years": "years",
}
_COUNT_WORDS: Final = frozenset({"times", "occurrences", "occurrence"})
# Words that only qualify the clock time next to a day ("every Saturday night 11pm-1am").
_QUALIFIERS: Final = frozenset({"night", "morning", "evening", "early", "afternoon"})
_NOISE: Final = frozenset({"recurring", "repeating", "repeat", "repeats", "repeated"})
_COURTESY: Final = ("can we do", "please", "pls", "plz", "thanks", "thx", "thank you")
# fmt: on

_TOKEN_RE: Final = re.compile(r"[a-z]+|\d+(?:st|nd|rd|th)?", re.IGNORECASE | re.ASCII)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Series(_Frozen):
    """A recurring window.

    ``rrule`` is the RFC 5545 rule without its ``RRULE:`` prefix, including ``COUNT`` or
    ``UNTIL`` when the series has an end; with ``dtstart`` (the first occurrence's start, a
    UTC instant) and ``tz`` (the series' zone, whose wall clock the rule repeats in) it is
    what a calendar needs. ``until`` is the last instant an occurrence may start (RFC 5545's
    inclusive UNTIL), ``count`` the number of occurrences from ``dtstart``. ``occurrence_text``
    is the one-off text each occurrence is read from, after its date. ``duration`` is the
    first occurrence's real length (others differ on DST nights when the text gives a clock
    range, since each is read on its own date).
    """

    rrule: str
    dtstart: Instant
    tz: str
    until: Instant | None = None
    count: int | None = None
    duration: timedelta
    occurrence_text: str
    title: str | None = None
    notes: tuple[str, ...] = ()
    text: str = ""


class Occurrence(_Frozen):
    """One date of a series: its window, or the reason it cannot happen (``problem``: a
    start or end in a DST gap on that date). ``day`` and ``clock`` are the rule's wall-clock
    start in the series' zone."""

    day: date
    clock: time
    window: Window | None = None
    problem: str | None = None

    @property
    def start(self) -> datetime | None:
        return self.window.start if self.window is not None else None

    @property
    def end(self) -> datetime | None:
        return self.window.end if self.window is not None else None


def _fail(message: str) -> NoReturn:
    raise WindowError(message)


# --------------------------------------------------------------------------------------------
# The repeat


@dataclass(frozen=True, slots=True)
class _Tok:
    low: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Rule:
    freq: str  # RFC 5545 FREQ
    interval: int = 1
    byday: tuple[str, ...] = ()
    bymonthday: tuple[int, ...] = ()
    bymonth: tuple[int, ...] = ()

    def text(self) -> str:
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.bymonth:
            parts.append("BYMONTH=" + ",".join(str(m) for m in self.bymonth))
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in self.bymonthday))
        if self.byday:
            parts.append("BYDAY=" + ",".join(self.byday))
        return ";".join(parts)

    @property
    def sub_daily(self) -> bool:
        return self.freq in ("HOURLY", "MINUTELY")


class _Reader:
    """Finds the one repeat phrase in the tokens and reads it into a :class:`_Rule`."""

    def __init__(self, tokens: list[_Tok], text: str) -> None:
        self.toks = tokens
        self.text = text

    def at(self, k: int) -> str:
        return self.toks[k].low if 0 <= k < len(self.toks) else ""

    def phrase(self, i: int, j: int) -> str:
        return self.text[self.toks[i].start : self.toks[j - 1].end]

    def find(self) -> tuple[_Rule, int, int] | None:
        """``(rule, first token, token after)`` of the first repeat phrase, or None."""
        for i in range(len(self.toks)):
            found = self._at(i)
            if found is not None:
                rule, j = found
                if self.at(i - 1) == "on":
                    i -= 1
                if self.at(i - 1) == "the" and self.at(i - 2) == "on":
                    i -= 2
                while self.at(j) in _QUALIFIERS:
                    j += 1
                return rule, i, j
        return None

    # -- numbers -----------------------------------------------------------------------------

    def _count(self, k: int) -> int | None:
        word = self.at(k)
        if word.isdigit():
            return int(word) if len(word) <= 6 else MAX_INTERVAL + 1
        return _NUMBER_WORDS.get(word)

    def _position(self, k: int) -> int | None:
        """1..5 or -1 for "first".."fifth", "1st".."5th", "last"."""
        word = self.at(k)
        if word in _ORDINAL_WORDS:
            return _ORDINAL_WORDS[word]
        if re.fullmatch(r"[1-5](st|nd|rd|th)", word):
            return int(word[0])
        return None

    def _day_number(self, k: int) -> int | None:
        word = self.at(k)
        if re.fullmatch(r"\d{1,2}(st|nd|rd|th)", word):
            return int(word[:-2])
        if word in _ORDINAL_WORDS and word != "last":
            return _ORDINAL_WORDS[word]
        return None

    def _days(self, k: int, *, plural: bool) -> tuple[tuple[int, ...], int]:
        """Weekdays from ``k`` ("Mon, Wed and Fri"): their numbers and the index after."""
        names = _PLURAL_WEEKDAYS if plural else {**_WEEKDAYS, **_PLURAL_WEEKDAYS}
        days: list[int] = []
        while self.at(k) in names:
            days.append(names[self.at(k)])
            if self.at(k + 1) in ("and", "or") and self.at(k + 2) in names:
                if self.at(k + 1) == "or":
                    _fail(
                        f'"or" leaves the day open in "{self.phrase(k, k + 3)}". Name every day '
                        f'the series runs on, e.g. "every Monday and Thursday 1-2am".'
                    )
                k += 2
            else:
                k += 1
        return tuple(sorted(set(days))), k

    def _interval(self, k: int) -> tuple[int, int]:
        """``every [N|other|second] ...``: the interval and the index after it."""
        word = self.at(k)
        if word == "other":
            return 2, k + 1
        if word in ("second", "third", "fourth", "fifth") and self._position(k + 2) is None:
            # "every second Saturday" (of the month is handled by the caller first)
            return _ORDINAL_WORDS[word], k + 1
        n = self._count(k)
        if n is not None:
            return n, k + 1
        return 1, k

    def _check_interval(self, n: int, i: int, j: int, unit: str) -> None:
        if n < 1:
            _fail(
                f'"{self.phrase(i, j)}" repeats nothing: an interval is at least 1. Try '
                f'"every 2 {unit} 1-2am" or "every {unit.rstrip("s")} 1-2am".'
            )
        if n > MAX_INTERVAL:
            _fail(
                f'"{self.phrase(i, j)}" is too far apart: the largest interval is {MAX_INTERVAL}. '
                f'Try "every 2 {unit} 1-2am".'
            )

    # -- phrases -----------------------------------------------------------------------------

    def _at(self, i: int) -> tuple[_Rule, int] | None:
        word = self.at(i)
        if word in ("every", "each"):
            return self._every(i)
        if word in ("daily", "nightly", "everyday"):
            return _Rule("DAILY"), i + 1
        if word == "hourly":
            return _Rule("HOURLY"), i + 1
        if word in ("weekly", "fortnightly", "biweekly"):
            interval = 1 if word == "weekly" else 2
            return self._weekly_on(i, i + 1, interval)
        if word == "monthly":
            return self._monthly_on(i, i + 1, 1)
        if word in ("yearly", "annually"):
            return self._yearly_on(i, i + 1, 1)
        if word == "weekdays":
            return _Rule("WEEKLY", byday=_DAY_CODES[:5]), i + 1
        if word == "weekends":
            return _Rule("WEEKLY", byday=_DAY_CODES[5:]), i + 1
        if word in _PLURAL_WEEKDAYS:
            days, j = self._days(i, plural=False)
            return _Rule("WEEKLY", byday=tuple(_DAY_CODES[d] for d in days)), j
        start = i + 1 if word == "the" else i
        return self._of_each_month(i, start)

    def _every(self, i: int) -> tuple[_Rule, int]:
        k = i + 1
        # "every first Sunday of the month", "every 1st of the month"
        monthly = self._of_each_month(i, k, every=True)
        if monthly is not None:
            return monthly
        interval, k = self._interval(k)
        word = self.at(k)
        if word in ("day", "days", "night", "nights"):
            self._check_interval(interval, i, k + 1, "days")
            return _Rule("DAILY", interval=interval), k + 1
        if word in ("weekday", "weekdays"):
            if interval != 1:
                _fail(
                    f'"{self.phrase(i, k + 1)}" is not a rule I can read: weekdays repeat every '
                    f'week. Try "weekdays 1-2am" or "every other Monday 1-2am".'
                )
            return _Rule("WEEKLY", byday=_DAY_CODES[:5]), k + 1
        if word in ("weekend", "weekends"):
            self._check_interval(interval, i, k + 1, "weeks")
            return _Rule("WEEKLY", interval=interval, byday=_DAY_CODES[5:]), k + 1
        if word in _WEEKDAYS or word in _PLURAL_WEEKDAYS:
            days, j = self._days(k, plural=False)
            self._check_interval(interval, i, j, "weeks")
            return _Rule("WEEKLY", interval=interval, byday=tuple(_DAY_CODES[d] for d in days)), j
        if word in ("week", "weeks"):
            self._check_interval(interval, i, k + 1, "weeks")
            return self._weekly_on(i, k + 1, interval)
        if word in ("month", "months"):
            self._check_interval(interval, i, k + 1, "months")
            return self._monthly_on(i, k + 1, interval)
        if word in ("year", "years"):
            self._check_interval(interval, i, k + 1, "years")
            return self._yearly_on(i, k + 1, interval)
        if word in ("hour", "hours", "hr", "hrs", "h"):
            self._check_interval(interval, i, k + 1, "hours")
            return _Rule("HOURLY", interval=interval), k + 1
        if word in ("minute", "minutes", "min", "mins", "m"):
            self._check_interval(interval, i, k + 1, "minutes")
            return _Rule("MINUTELY", interval=interval), k + 1
        _fail(
            f'I can\'t read "{self.phrase(i, min(k + 1, len(self.toks)))}" as a repeat. {_EXAMPLE}'
        )

    def _weekly_on(self, i: int, k: int, interval: int) -> tuple[_Rule, int]:
        if self.at(k) == "on":
            k += 1
        days, j = self._days(k, plural=False)
        if not days:
            _fail(
                f'"{self.phrase(i, k)}" needs the day it falls on, e.g. "every week on Saturday '
                f'2-4am" or "every 2 weeks on Sunday 1-3am".'
            )
        return _Rule("WEEKLY", interval=interval, byday=tuple(_DAY_CODES[d] for d in days)), j

    def _month_day(self, k: int) -> tuple[tuple[str, ...], tuple[int, ...], int] | None:
        """At ``k``: "first Sunday" (BYDAY=1SU), "15th" or "last day" (BYMONTHDAY), after an
        optional "the"; ``(byday, bymonthday, index after)``."""
        if self.at(k) == "the":
            k += 1
        position = self._position(k)
        if position is not None and self.at(k + 1) in _WEEKDAYS:
            weekday = _DAY_CODES[_WEEKDAYS[self.at(k + 1)]]
            return (f"{position}{weekday}",), (), k + 2
        if self.at(k) == "last" and self.at(k + 1) == "day":
            return (), (-1,), k + 2
        day = self._day_number(k)
        if day is not None:
            return (), (day,), k + 1
        return None

    def _of_each_month(self, i: int, k: int, *, every: bool = False) -> tuple[_Rule, int] | None:
        """``[the] first Sunday|1st|last day of|in (each|every|the) [N|other] month``."""
        found = self._month_day(k)
        if found is None:
            return None
        byday, bymonthday, k = found
        if self.at(k) not in ("of", "in"):
            return None
        k += 1
        if self.at(k) in ("each", "every") or (every and self.at(k) == "the"):
            k += 1
        elif not every:
            return None
        interval, k = self._interval(k)
        if self.at(k) not in ("month", "months"):
            return None
        self._check_interval(interval, i, k + 1, "months")
        rule = _Rule("MONTHLY", interval=interval, byday=byday, bymonthday=bymonthday)
        self._check_month_days(rule, i, k + 1)
        return rule, k + 1

    def _monthly_on(self, i: int, k: int, interval: int) -> tuple[_Rule, int]:
        if self.at(k) == "on":
            k += 1
        found = self._month_day(k)
        if found is None:
            _fail(
                f'"{self.phrase(i, k)}" needs the day of the month, e.g. "every month on the '
                f'1st 00:00-02:00" or "monthly on the first Sunday 2-6am".'
            )
        byday, bymonthday, j = found
        rule = _Rule("MONTHLY", interval=interval, byday=byday, bymonthday=bymonthday)
        self._check_month_days(rule, i, j)
        return rule, j

    def _check_month_days(self, rule: _Rule, i: int, j: int) -> None:
        for day in rule.bymonthday:
            if not (1 <= day <= 31 or day == -1):
                _fail(f'"{self.phrase(i, j)}": a month has days 1 to 31. {_EXAMPLE}')
            # With an interval, a 29th-31st could miss every month the rule lands on.
            if day > 28 and rule.interval > 1:
                _fail(
                    f'"{self.phrase(i, j)}" may never happen: not every month has a {day}th. '
                    f'Use a day from 1 to 28 or "the last day", e.g. "every 2 months on the '
                    f'last day 1-3am".'
                )

    def _yearly_on(self, i: int, k: int, interval: int) -> tuple[_Rule, int]:
        if self.at(k) == "on":
            k += 1
        if self.at(k) == "the":
            k += 1
        month: int | None = None
        day: int | None = None
        position = self._position(k)
        if position is not None and self.at(k + 1) in _WEEKDAYS:
            weekday = _DAY_CODES[_WEEKDAYS[self.at(k + 1)]]
            if self.at(k + 2) in ("of", "in") and self.at(k + 3) in _MONTHS:
                month = _MONTHS[self.at(k + 3)]
                rule = _Rule("YEARLY", interval, byday=(f"{position}{weekday}",), bymonth=(month,))
                return rule, k + 4
        elif self.at(k) in _MONTHS and (self._day_number(k + 1) or self.at(k + 1).isdigit()):
            month, day, j = _MONTHS[self.at(k)], self._plain_day(k + 1), k + 2
        elif self._plain_day(k) and self.at(k + 1) == "of" and self.at(k + 2) in _MONTHS:
            month, day, j = _MONTHS[self.at(k + 2)], self._plain_day(k), k + 3
        elif self._plain_day(k) and self.at(k + 1) in _MONTHS:
            month, day, j = _MONTHS[self.at(k + 1)], self._plain_day(k), k + 2
        if month is None or day is None:
            _fail(
                f'"{self.phrase(i, min(k + 1, len(self.toks)))}" needs the date, e.g. "every year '
                f'on Dec 24 00:00-06:00" or "every year on the last Sunday of March 2-4am".'
            )
        if not 1 <= day <= _MONTH_DAYS[month - 1]:
            _fail(
                f'"{self.phrase(i, j)}": {_MONTH_NAMES[month - 1]} has no day {day}. '
                f'Try "every year on Dec 24 00:00-06:00".'
            )
        if month == 2 and day == 29 and interval > 1:
            _fail(f'"{self.phrase(i, j)}" may never happen. Try "every year on Feb 28 1-2am".')
        return _Rule("YEARLY", interval, bymonthday=(day,), bymonth=(month,)), j

    def _plain_day(self, k: int) -> int | None:
        word = self.at(k)
        if word.isdigit() and len(word) <= 2:
            return int(word)
        return self._day_number(k)


# --------------------------------------------------------------------------------------------
# The end


@dataclass(frozen=True, slots=True)
class _End:
    until_text: str | None = None
    span: tuple[int, str] | None = None  # (number, "days"|"weeks"|"months"|"years")
    count: int | None = None
    days: tuple[int, tuple[int, int]] | None = None  # "for N days": a span or a length


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    kept, at = [], 0
    for a, b in sorted(spans):
        kept.append(text[at:a])
        at = max(at, b)
    kept.append(text[at:])
    return " ".join(" ".join(kept).split())


def _read_date(text: str, zone_name: str, now: datetime) -> date | None:
    """The date a date-only text ("Mar 31", "2027-03-31") names, read by the one-off grammar
    from the start of today (so today itself is still a date on or after today), or None."""
    zone = resolve_zone(zone_name)
    today = now.astimezone(zone).date()
    midnight = datetime.combine(today, time(0), tzinfo=zone)
    try:
        window = parse_window(text, tz=zone_name, now=midnight)
    except WindowError:
        # A date already past ("until 2026-11-01") is still a date: the caller says the
        # series would end before it starts, which is clearer than "no end".
        try:
            window = parse_window(text, tz=zone_name, now=midnight - timedelta(days=400))
        except WindowError:
            return None
    local_start, local_end = window.start.astimezone(zone), window.end.astimezone(zone)
    if local_start.time() != time(0) or local_end.time() != time(0):
        return None
    if local_end.date() - local_start.date() != timedelta(days=1):
        return None
    return local_start.date()


def _until_date(text: str, tz: str, now: datetime) -> str | None:
    """The longest run of leading words of ``text`` that names one date ("Mar 31" out of
    "Mar 31 2-4am"), or None."""
    words = _strip_courtesy(text).split()
    if words and words[0].lower() == "on":
        words = words[1:]
    for n in range(min(len(words), 6), 0, -1):
        candidate = " ".join(words[:n])
        if _read_date(candidate, tz, now) is not None:
            return candidate
    return None


def _ends(
    tokens: list[_Tok], text: str, taken: tuple[int, int], tz: str, now: datetime
) -> tuple[_End, list[tuple[int, int]]]:
    """The series' end phrases outside the repeat phrase (token indices ``taken``) and the
    character spans they cover. A "for N days" is kept apart: it is the series' span only if
    the occurrence has a length without it (decided once the rest is read)."""
    until_text: str | None = None
    spans_found: list[tuple[int, str]] = []
    counts: list[int] = []
    days: tuple[int, tuple[int, int]] | None = None
    cut: list[tuple[int, int]] = []
    outside = [k for k in range(len(tokens)) if not taken[0] <= k < taken[1]]

    def word(k: int) -> str:
        return tokens[k].low if 0 <= k < len(tokens) and k in outside else ""

    def number(k: int) -> int | None:
        value = word(k)
        if value.isdigit():
            return int(value) if len(value) <= 7 else MAX_COUNT * 1000
        return _NUMBER_WORDS.get(value)

    for k in outside:
        tok = tokens[k]
        if tok.low in _COUNT_WORDS:
            n = number(k - 1)
            if n is not None:
                counts.append(n)
                cut.append((tokens[k - 1].start, tok.end))
        elif tok.low == "for":
            n = number(k + 1)
            unit = _SPAN_UNITS.get(word(k + 2))
            if n is None or unit is None:
                continue
            if k + 3 < len(tokens) and tokens[k + 3].start == tokens[k + 2].end:
                continue  # "for 2d3h" is a length the grammar reads
            place = (tok.start, tokens[k + 2].end)
            if unit == "days":
                days = (n, place)
            else:
                spans_found.append((n, unit))
                cut.append(place)
        elif tok.low in _UNTIL_WORDS:
            stops = [tokens[m].start for m in range(k + 1, len(tokens)) if m not in outside]
            stops += [tokens[m].start for m in outside if m > k and tokens[m].low == "for"]
            stops += [
                tokens[m - 1].start for m in outside if m > k and tokens[m].low in _COUNT_WORDS
            ]
            stop = min([s for s in stops if s > tok.end] + [len(text)])
            found = _until_date(text[tok.end : stop], tz, now)
            if found is None:
                continue
            if until_text is not None:
                _fail(f'Give one end, e.g. "every Saturday 2-4am until Mar 31". {_EXAMPLE}')
            until_text = found
            after_date = text.find(found, tok.end) + len(found)
            cut.append((tok.start, after_date))
    if len(counts) > 1 or len(spans_found) > 1:
        _fail(f'Give the series one end, e.g. "every Saturday 2-4am 10 times". {_EXAMPLE}')
    end = _End(
        until_text,
        spans_found[0] if spans_found else None,
        counts[0] if counts else None,
        days,
    )
    return end, cut


# --------------------------------------------------------------------------------------------
# Occurrences


def _occurrence_text(series: Series, start: datetime) -> str:
    """The one-off text of the occurrence that starts at the naive wall clock ``start``."""
    if _rule_of(series.rrule).freq in ("HOURLY", "MINUTELY"):
        minutes = max(1, round(series.duration.total_seconds() / 60))
        return f"{start.date().isoformat()} {start:%H:%M} for {minutes}m"
    return f"{start.date().isoformat()} {series.occurrence_text}".rstrip()


def _resolve(series: Series, start: datetime) -> Occurrence:
    # Two days before the date in UTC is before the date's start in every zone: the grammar's
    # "not in the past" rule never applies to an occurrence read on its own date.
    reference = datetime.combine(start.date() - timedelta(days=2), time(0), tzinfo=UTC)
    try:
        window = parse_window(_occurrence_text(series, start), tz=series.tz, now=reference)
    except WindowError as exc:
        return Occurrence(day=start.date(), clock=start.time(), problem=str(exc))
    return Occurrence(day=start.date(), clock=start.time(), window=window)


def _rule_of(rrule: str) -> _Rule:
    fields = dict(part.split("=", 1) for part in rrule.split(";"))

    def numbers(key: str) -> tuple[int, ...]:
        return tuple(int(v) for v in fields[key].split(",")) if key in fields else ()

    return _Rule(
        fields["FREQ"],
        int(fields.get("INTERVAL", "1")),
        tuple(fields["BYDAY"].split(",")) if "BYDAY" in fields else (),
        numbers("BYMONTHDAY"),
        numbers("BYMONTH"),
    )


def _wall_starts(rrule: str, first: datetime) -> Iterator[datetime]:
    """The rule's naive wall-clock starts from ``first`` (COUNT honoured; UNTIL is an
    instant, so the caller compares it on instants)."""
    without_until = ";".join(p for p in rrule.split(";") if not p.startswith("UNTIL="))
    rule = rrulestr(f"RRULE:{without_until}", dtstart=first)
    yield from rule


def _wall_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The instant a wall clock reads in ``zone`` (the earlier reading of an ambiguous one,
    the pre-gap offset of a missing one): for ordering only, never for a window."""
    return wall.replace(tzinfo=zone).astimezone(UTC)


def occurrences(series: Series, *, after: datetime, count: int) -> list[Occurrence]:
    """The first ``count`` occurrences of ``series`` that start at or after ``after`` (an
    aware instant), each read on its own date; fewer when the series ends first.

    An occurrence that cannot happen on its date (a start or end in a DST gap) is included
    with its ``problem`` and no window, in its place in the order.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be an aware datetime")
    if count < 1:
        raise ValueError("count must be at least 1")
    zone = resolve_zone(series.tz)
    first = series.dtstart.astimezone(zone).replace(tzinfo=None)
    found: list[Occurrence] = []
    try:
        for wall in _wall_starts(series.rrule, first):
            at = _wall_instant(wall, zone)
            if series.until is not None and at > series.until:
                break
            if at < after:
                continue
            occurrence = _resolve(series, wall)
            if occurrence.window is not None and occurrence.window.start < after:
                continue
            found.append(occurrence)
            if len(found) == count:
                break
    except OverflowError:
        pass  # the rule runs past the year 9999: there are no more occurrences
    return found


# --------------------------------------------------------------------------------------------
# Reading a text


def _normalize(text: str) -> str:
    return " ".join(text.split()).replace("\u2019", "'")


def _strip_courtesy(text: str) -> str:
    changed = True
    while changed:
        changed = False
        stripped = text.strip(" ,;.!?")
        low = stripped.lower()
        for word in _COURTESY:
            if low.startswith(word + " ") or low == word:
                stripped, changed = stripped[len(word) :], True
                break
            if low.endswith(" " + word):
                stripped, changed = stripped[: -len(word)], True
                break
        text = stripped
    return text.strip(" ,;.!?")


def parse_series(
    text: str,
    *,
    tz: str,
    now: datetime,
    max_length: timedelta = DEFAULT_MAX_LENGTH,
    languages: Sequence[str] = (),
) -> Series | None:
    """Read ``text`` as a recurring window; None when it is not recurring (no word such as
    "every", "daily", "weekdays" or "Saturdays" in it), so the caller reads it with
    :func:`bot.windows.parse_window` instead.

    ``tz`` is the user's zone (the text may name another); ``now`` the aware reference
    instant: the first occurrence is the first whose start is at or after it. A text in
    French, German, Spanish, Portuguese or Japanese (``languages`` first, as for
    :func:`bot.windows.parse_window`) is rewritten into English words by
    :mod:`bot.vocabulary` and read by the same rules. Raises :class:`WindowError` with a
    message that shows a text that works.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    try:
        reading = to_grammar(text, languages)
    except WindowError:
        return None  # not a text of these languages either: parse_window says why
    if reading.language is not None:
        found = parse_series(reading.text, tz=tz, now=now, max_length=max_length)
        return found.model_copy(update={"text": text}) if found is not None else None
    normalized = _normalize(text)
    tokens = [_Tok(m.group().lower(), m.start(), m.end()) for m in _TOKEN_RE.finditer(normalized)]
    if not any(t.low in RECURRING_WORDS for t in tokens):
        return None
    if len(text) > MAX_TEXT_LENGTH:
        _fail(
            f"That text is {len(text)} characters long; a series fits in {MAX_TEXT_LENGTH}. "
            f"{_EXAMPLE}"
        )
    try:
        return _parse(normalized, tokens, tz, now.astimezone(UTC), max_length, text)
    except OverflowError:
        _fail(f"That series reaches past the year 9999. {_EXAMPLE}")


def _parse(
    text: str,
    tokens: list[_Tok],
    tz: str,
    now: datetime,
    max_length: timedelta,
    original: str,
) -> Series:
    resolve_zone(tz)  # an unknown user zone is the grammar's own clear error
    found = _Reader(tokens, text).find()
    if found is None:
        words = [t for t in tokens if t.low in RECURRING_WORDS]
        _fail(f'I can\'t read "{words[0].low}" in "{text}" as a repeat. {_EXAMPLE}')
    rule, first_tok, after_tok = found
    end, end_spans = _ends(tokens, text, (first_tok, after_tok), tz, now)
    phrase = (tokens[first_tok].start, tokens[after_tok - 1].end)
    noise = [(t.start, t.end) for t in tokens if t.low in _NOISE]
    attempts = [end_spans]
    if end.days is not None:
        # "daily 1-2am for 10 days": a span; "every Saturday 22:00 for 2 days": a length.
        attempts.append([*end_spans, end.days[1]])
    error: WindowError | None = None
    for spans in attempts:
        try:
            clock, probe, title = _occurrence_part(text, phrase, spans + noise, tz, max_length)
        except WindowError as exc:
            error = error or exc
            continue
        if spans is not end_spans and end.days is not None:
            end = replace(end, span=(end.days[0], "days"))
        break
    else:
        assert error is not None
        raise error
    series_zone = probe.tz if probe is not None else tz
    zone = resolve_zone(series_zone)
    start_clock = probe.start.astimezone(zone).time() if probe is not None else time(0)
    length_ = probe.duration if probe is not None else timedelta(days=1)

    if rule.sub_daily and end.until_text is None and end.span is None and end.count is None:
        every = length(_interval_of(rule), exact=True)
        _fail(
            f"A series with no end may repeat at most once a day; this one repeats every "
            f'{every}. Give it an end, e.g. "every 6 hours 00:00-00:30 10 times", or repeat '
            f'daily: "daily 1-2am".'
        )
    if sum(x is not None for x in (end.until_text, end.span, end.count)) > 1:
        _fail(
            'Give the series one end: a date, a span or a count, e.g. "every Saturday 2-4am '
            'until Mar 31", "... for 6 weeks" or "... 10 times".'
        )
    if end.count is not None and not 1 <= end.count <= MAX_COUNT:
        _fail(
            f'A series has 1 to {MAX_COUNT} occurrences, not {end.count}. Try "every Saturday '
            f'2-4am 10 times".'
        )
    if end.span is not None and end.span[0] < 1:
        _fail(f'A series lasts at least one {end.span[1].rstrip("s")}. Try "... for 6 weeks".')

    draft = Series(
        rrule=rule.text(),
        dtstart=now,
        tz=series_zone,
        duration=length_,
        occurrence_text=clock,
        title=title,
        text=original,
    )
    today = now.astimezone(zone).date()
    notes: list[str] = []
    first, skipped = _first_occurrence(draft, rule, datetime.combine(today, start_clock), now)
    if skipped is not None:
        notes.append(f"The first date of the rule is skipped: {skipped}")
    first_wall = first.day, first.clock
    assert first.window is not None
    dtstart = first.window.start

    until: datetime | None = None
    if end.until_text is not None:
        until_day = _read_date(end.until_text, series_zone, now)
        if until_day is None:  # read as a date in the user's zone, but not in the text's
            _fail(f'Give the end as a date, e.g. "until 2027-03-31". {_EXAMPLE}')
        until = _day_start(until_day + timedelta(days=1), zone) - timedelta(seconds=1)
    elif end.span is not None:
        n, unit = end.span
        last = first_wall[0] + relativedelta(**{unit: n})
        until = _day_start(last, zone) - timedelta(seconds=1)
    if until is not None and until < dtstart:
        local = until.astimezone(zone)
        _fail(
            f"The series would end ({local:%a %-d %b %Y}) before its first occurrence "
            f"({dtstart.astimezone(zone):%a %-d %b %Y %H:%M}). Give a later end, e.g. "
            f'"every Saturday 2-4am until Mar 31" said before March 31.'
        )
    rrule = rule.text()
    if end.count is not None:
        rrule += f";COUNT={end.count}"
    if until is not None:
        rrule += f";UNTIL={until.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    series = draft.model_copy(
        update={"rrule": rrule, "dtstart": dtstart, "until": until, "count": end.count}
    )
    _check_overlap(series, rule, zone)
    notes.extend(_rule_notes(rule))
    return series.model_copy(update={"notes": tuple(notes)})


def _occurrence_part(
    text: str,
    phrase: tuple[int, int],
    spans: list[tuple[int, int]],
    tz: str,
    max_length: timedelta,
) -> tuple[str, Window | None, str | None]:
    """The occurrence's one-off text (``text`` without the repeat ``phrase`` and the
    ``spans`` of the end), a probe window read from it on an ordinary date (to learn its
    zone, clock time and length, and to have the grammar refuse what it must), and the
    title: a leading ``Label:``, or words before the repeat that the grammar cannot read."""
    before = _cut(text[: phrase[0]], [(a, b) for a, b in spans if b <= phrase[0]])
    after = _cut(
        text[phrase[1] :], [(a - phrase[1], b - phrase[1]) for a, b in spans if a >= phrase[1]]
    )
    title: str | None = None
    if before.rstrip().endswith(":"):
        title, before = before.rstrip()[:-1].strip() or None, ""
    before, after = _strip_courtesy(before), _strip_courtesy(after)
    for word in _TOKEN_RE.findall(f"{before} {after}"):
        if word.lower() in RECURRING_WORDS:
            _fail(
                f'"{word}": give the repeat once, e.g. "every Saturday and Sunday 2-4am". '
                f"{_EXAMPLE}"
            )
    candidates: list[tuple[str, str | None]] = [(f"{before} {after}".strip(), title)]
    if before and title is None:
        candidates.append((after, before))
    error: WindowError | None = None
    for clock, name in candidates:
        if not clock:
            return "", None, name
        try:
            probe = _probe(clock, tz, max_length)
        except WindowError as exc:
            error = exc if error is None or name is not None else error
            continue
        # A grammar that keeps titles itself (version 2) names the words around the window.
        own: str | None = getattr(probe, "title", None) or None
        return clock, probe, name or own
    assert error is not None
    raise error


def _probe(clock: str, tz: str, max_length: timedelta) -> Window:
    """The clock text read as a one-off around mid-January and mid-July (dates no zone
    changes its clocks on), from the start of the day, as the grammar reads "2-4am"."""
    zone = resolve_zone(tz)
    error: WindowError | None = None
    for month in (1, 7):
        reference = datetime(2026, month, 15, tzinfo=zone)
        try:
            window = parse_window(clock, tz=tz, now=reference, max_length=max_length)
        except WindowError as exc:
            error = error or exc
            continue
        if window.start - reference >= timedelta(days=2):
            # The text names a day of its own ("in 3 days", "Dec 5"): not a clock time.
            _fail(
                f'"{clock}" names a day; a series\' occurrence takes only clock times, e.g. '
                f'"every Saturday 2-4am" or "every Saturday 22:00 for 2h".'
            )
        return window
    assert error is not None
    raise error


def _day_start(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _first_occurrence(
    series: Series, rule: _Rule, from_wall: datetime, now: datetime
) -> tuple[Occurrence, str | None]:
    """The first occurrence whose start is at or after ``now`` and that exists. Any interval
    counts from that occurrence ("every other Saturday" said on a Sunday starts next
    Saturday), so the search runs on the rule with interval 1, except for sub-daily rules
    whose clock time anchors them."""
    zone = resolve_zone(series.tz)
    search = (
        rule if rule.sub_daily else _Rule(rule.freq, 1, rule.byday, rule.bymonthday, rule.bymonth)
    )
    problems: list[str] = []
    for wall in _wall_starts(search.text(), from_wall):
        # An occurrence that exists starts at its wall clock's instant (the grammar reads an
        # ambiguous time as the first, as this does): one before now is past, unread.
        if _wall_instant(wall, zone) < now:
            continue
        occurrence = _resolve(series, wall)
        if occurrence.window is not None:
            return occurrence, problems[0] if problems else None
        assert occurrence.problem is not None
        problems.append(occurrence.problem)
        if len(problems) >= GAP_SCAN:
            break
    if problems:
        _fail(
            f"Every occurrence I looked at ({len(problems)}) cannot happen; the first: "
            f"{problems[0]} Choose a clock time that exists on those dates, e.g. "
            f'"every year on the last Sunday of March 4-5am".'
        )
    _fail(f'"{series.text}" has no occurrence ahead. {_EXAMPLE}')


def _interval_of(rule: _Rule) -> timedelta:
    unit = {
        "MINUTELY": timedelta(minutes=1),
        "HOURLY": timedelta(hours=1),
        "DAILY": timedelta(days=1),
        "WEEKLY": timedelta(days=7),
        "MONTHLY": timedelta(days=28),
        "YEARLY": timedelta(days=365),
    }[rule.freq]
    return unit * rule.interval


def _check_overlap(series: Series, rule: _Rule, zone: tzinfo) -> None:
    """Refuse an occurrence longer than the time between two starts (measured on the wall
    clock over the first dates, so "weekdays" is one day and "every 2 weeks" fourteen)."""
    first = series.dtstart.astimezone(zone).replace(tzinfo=None)
    starts = []
    for index, wall in enumerate(_wall_starts(rule.text(), first)):
        if index >= GAP_SCAN:
            break
        starts.append(wall)
    gaps = [b - a for a, b in pairwise(starts)]
    shortest = min(gaps) if gaps else None
    if shortest is not None and series.duration > shortest:
        _fail(
            f"Each occurrence would last {length(series.duration, exact=True)}, longer than the "
            f"{length(shortest, exact=True)} between two starts, so they would overlap. Make it "
            f'shorter, e.g. "every day 1am for 2h" or "daily 1-3am".'
        )


def _rule_notes(rule: _Rule) -> list[str]:
    notes = []
    late = [d for d in rule.bymonthday if d > 28]
    if late:
        notes.append(
            f"Months without a day {late[0]} have no occurrence (RFC 5545 skips them); say "
            '"the last day of every month" for the end of each month.'
        )
    if any(b.startswith("5") for b in rule.byday):
        notes.append("Months without a fifth such weekday have no occurrence.")
    return notes


# --------------------------------------------------------------------------------------------
# Showing a series


def describe(series: Series) -> str:
    """The rule in words: "every 2 weeks on Sunday", "on the first Sunday of every month"."""
    rule = _rule_of(series.rrule)
    n = rule.interval
    unit = {
        "MINUTELY": "minute",
        "HOURLY": "hour",
        "DAILY": "day",
        "WEEKLY": "week",
        "MONTHLY": "month",
        "YEARLY": "year",
    }[rule.freq]
    every = f"every {unit}" if n == 1 else f"every {n} {unit}s"
    positions = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
    if rule.freq == "WEEKLY":
        names = [_DAY_NAMES[_DAY_CODES.index(code)] for code in rule.byday]
        if rule.byday == _DAY_CODES[:5] and n == 1:
            return "every weekday (Monday to Friday)"
        days = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"every {days}" if n == 1 else f"{every} on {days}"
    if rule.freq in ("MONTHLY", "YEARLY"):
        of = (
            "of every month"
            if rule.freq == "MONTHLY"
            else f"of {_MONTH_NAMES[rule.bymonth[0] - 1]}"
        )
        if rule.freq == "MONTHLY" and n > 1:
            of = f"of every {n} months"
        if rule.byday:
            code = rule.byday[0]
            day = _DAY_NAMES[_DAY_CODES.index(code[-2:])]
            what = f"the {positions[int(code[:-2])]} {day} {of}"
        elif rule.bymonthday == (-1,):
            what = f"the last day {of}"
        else:
            what = f"day {rule.bymonthday[0]} {of}"
        if rule.freq == "YEARLY":
            return f"{'every year' if n == 1 else every} on {what}"
        return f"on {what}"
    return every


def _end_text(series: Series, zone: tzinfo) -> str:
    if series.count is not None:
        return f"after {series.count} occurrence{'s' if series.count != 1 else ''}"
    if series.until is not None:
        local = series.until.astimezone(zone)
        return f"until {local:%a %-d %b %Y} (last start {local:%H:%M:%S} {local.tzname()})"
    return "no end"


def series_lines(series: Series, shown: list[Occurrence]) -> list[str]:
    """The human echo: the rule in words and as RRULE, the zone, the end, the occurrences."""
    zone = resolve_zone(series.tz)
    lines = []
    if series.title:
        lines.append(f"Title: {series.title}")
    lines += [
        f"Repeats {describe(series)}, {series.dtstart.astimezone(zone):%H:%M}, "
        f"{length(series.duration, exact=True)} each",
        f"RRULE: {series.rrule}",
        f"Zone: {series.tz}",
        f"Ends: {_end_text(series, zone)}",
        f"First {len(shown)} occurrence{'s' if len(shown) != 1 else ''}:",
    ]
    for occurrence in shown:
        if occurrence.window is None:
            lines.append(
                f"  {occurrence.day:%a %-d %b %Y} {occurrence.clock:%H:%M}: cannot happen: "
                f"{occurrence.problem}"
            )
        else:
            echo = echo_lines(occurrence.window)
            lines.append(f"  {echo[0]}")
            lines.extend(f"    {note}" for note in occurrence.window.notes)
    lines.extend(series.notes)
    return lines


def series_json(series: Series, shown: list[Occurrence]) -> dict[str, Any]:
    """The stable JSON shape of ``maintbot parse --json`` on a series (design.md, version 2).
    An occurrence that cannot happen has null instants and its ``problem``; the notes of an
    occurrence join the series' notes, after its date."""
    notes = list(series.notes)
    items: list[dict[str, Any]] = []
    for occurrence in shown:
        if occurrence.window is None:
            items.append({"start": None, "end": None, "problem": occurrence.problem})
            continue
        items.append(
            {"start": occurrence.window.start.isoformat(), "end": occurrence.window.end.isoformat()}
        )
        notes.extend(f"{occurrence.day.isoformat()}: {n}" for n in occurrence.window.notes)
    return {
        "series": {
            "rrule": series.rrule,
            "dtstart": series.dtstart.isoformat(),
            "tz": series.tz,
            "until": series.until.isoformat() if series.until is not None else None,
            "count": series.count,
        },
        "occurrences": items,
        "title": series.title,
        "notes": notes,
    }
