"""Window texts in French, German, Spanish, Portuguese and Japanese, rewritten into the
tokens the English grammar of :mod:`bot.windows` reads.

There is one grammar. This module only swaps words: ``samedi 2h-4h`` becomes
``saturday 2:00-4:00`` and ``土曜日 2時から4時`` becomes ``saturday 2:00 to 4:00``; the English
grammar then decides every rule (rollover, am/pm carrying, DST, what is rejected), so a
foreign text can never be read by rules of its own.

Where the words come from. Day, month, relative-day, day-period (am/pm), noon/midnight,
"now" and unit words are CLDR's, read through Babel (``babel.Locale``): the same data the
echo formats dates with, so the words accepted and the words shown agree. dateparser's
locale data was the first candidate; ``bench/bench_languages.py --compare`` compares the two on
the contract's words (CLDR covers more of them, and dateparser's lists carry forms such
as German ``die``/``mit``/``so`` for weekdays, which are everyday words). The structural
words CLDR does not describe (range words, clock forms such as ``22h30`` or ``2時``, the
``24.12.`` date, tonight words, fillers) are the tables under "The project's own words".

Pure and bounded: no I/O; Babel's data is loaded on first use per language (not at
import, so ``maintbot --help`` does not pay for it); the scan is linear in the text, which
the grammar caps at 200 characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Final, Literal, NoReturn

from bot.errors import WindowError

__all__ = [
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "Translated",
    "day_formatter",
    "foreign_day_word",
    "known_words",
    "language_of",
    "to_grammar",
]

LANGUAGES: Final = ("fr", "de", "es", "pt", "ja")
LANGUAGE_NAMES: Final[Mapping[str, str]] = {
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "pt": "Portuguese",
    "ja": "Japanese",
}
_EXAMPLES: Final[Mapping[str, str]] = {
    "fr": "samedi 2h-4h",
    "de": "Samstag 2-4 Uhr",
    "es": "sábado de 2 a 4",
    "pt": "sábado das 2 às 4",
    "ja": "土曜日 2時から4時",
}
_MAX_TEXT: Final = 200  # bot.windows.MAX_TEXT_LENGTH (not imported: windows imports us)

_ENGLISH_WEEKDAYS: Final = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)  # fmt: skip
_ENGLISH_MONTHS: Final = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip

Role = Literal[
    "day",  # a day word: weekday, relative day, tonight
    "month",  # a month name; ``value`` is its number
    "word",  # an English word the grammar reads (noon, early, around, every, ...)
    "now",
    "unit",  # a length unit: hours, minutes, days, weeks
    "period",  # a day period after a clock time: "de la mañana" (am), "du soir" (pm)
    "mer_before",  # Japanese 午前/午後, written before the clock time
    "to",  # always a range word
    "closer",  # "à", "a", "às": a range word after an opener, otherwise "at" (dropped)
    "from",  # an opener: "de", "von", "das", "desde"
    "of_from",  # "de" between a day number and a month is "of", otherwise "from"
    "between",
    "and",
    "for",
    "in",
    "after_length",  # Japanese 後: "2時間後" is "in 2 hours"
    "am_or_drop",  # German "am": "on" before a day ("am Samstag"), otherwise am
    "drop",  # fillers that carry no meaning: "le", "el", "の"
    "past",  # yesterday and last week: refused with a clear message
    "ambiguous",  # a form that names two things in one language (Spanish "mar")
]
_CONTENT: Final = frozenset(
    {"day", "month", "word", "now", "unit", "period", "mer_before", "to", "past", "ambiguous"}
)


@dataclass(frozen=True, slots=True)
class _Entry:
    english: str
    role: Role
    value: int = 0
    # A day period's CLDR span in seconds of the day, [start, end).
    span: tuple[int, int] = (0, 0)
    shown: str = ""  # the language's own form, for messages


@dataclass(frozen=True, slots=True)
class Translated:
    """What the English grammar reads, and the language it was read from (None: English,
    the text is left exactly as it was)."""

    text: str
    language: str | None = None

    @property
    def language_name(self) -> str:
        return LANGUAGE_NAMES.get(self.language or "", "English")


def normalize(text: str) -> str:
    """NFKC (full-width ``２時`` is ``2時``), case-folded (``SAMSTAG``), one apostrophe."""
    return unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")


def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def language_of(locale: str | None) -> str | None:
    """The base language of a Slack/BCP 47 locale (``fr-FR`` → ``fr``, ``pt_BR`` → ``pt``)."""
    if not locale:
        return None
    base = re.split(r"[-_.@]", locale.strip(), maxsplit=1)[0].lower()
    return base or None


# --------------------------------------------------------------------------------------------
# The project's own words: structure that CLDR does not describe. Each maps a phrase (as
# normalize() leaves it) to an English word of the grammar and its role.

# fmt: off
_OWN: Final[Mapping[str, Mapping[str, tuple[str, Role]]]] = {
    "fr": {
        "ce soir": ("tonight", "day"), "cette nuit": ("tonight", "day"),
        "à": ("to", "closer"), "a": ("to", "closer"), "de": ("from", "of_from"),
        "du": ("from", "from"), "au": ("to", "closer"),
        "jusqu'à": ("until", "to"), "jusqu'a": ("until", "to"),
        "entre": ("between", "between"), "et": ("and", "and"),
        "pendant": ("for", "for"), "pour": ("for", "for"), "durant": ("for", "for"),
        "le": ("", "drop"), "la": ("", "drop"), "tôt": ("early", "word"),
        "tous les": ("every", "word"), "chaque": ("every", "word"),
        # Words that change the meaning: translated so the grammar refuses them by name.
        "vers": ("around", "word"), "environ": ("about", "word"), "sauf": ("except", "word"),
        "pas": ("not", "word"), "ou": ("or", "word"), "avant": ("before", "word"),
        "après": ("after", "word"), "peut-être": ("maybe", "word"),
    },
    "de": {
        "heute nacht": ("tonight", "day"), "heute abend": ("tonight", "day"),
        "morgen früh": ("tomorrow early", "day"), "früh": ("early", "word"),
        "von": ("from", "from"), "ab": ("from", "from"), "bis": ("to", "to"),
        "zwischen": ("between", "between"), "und": ("and", "and"),
        "für": ("for", "for"), "am": ("on", "am_or_drop"), "um": ("", "drop"),
        "den": ("", "drop"), "der": ("", "drop"), "jeden": ("every", "word"),
        "jede": ("every", "word"),
        "gegen": ("around", "word"), "etwa": ("about", "word"), "ungefähr": ("about", "word"),
        "außer": ("except", "word"), "nicht": ("not", "word"), "oder": ("or", "word"),
        "vor": ("before", "word"), "nach": ("after", "word"), "vielleicht": ("maybe", "word"),
    },
    "es": {
        "esta noche": ("tonight", "day"), "de": ("from", "of_from"),
        "desde": ("from", "from"), "a": ("to", "closer"), "hasta": ("until", "to"),
        "entre": ("between", "between"), "y": ("and", "and"),
        "durante": ("for", "for"), "por": ("for", "for"),
        "el": ("", "drop"), "del": ("", "drop"), "la": ("", "drop"), "las": ("", "drop"),
        "temprano": ("early", "word"),
        "todos los": ("every", "word"), "cada": ("every", "word"),
        "hacia": ("around", "word"), "alrededor de": ("around", "word"),
        "aproximadamente": ("approximately", "word"), "excepto": ("except", "word"),
        "salvo": ("except", "word"), "no": ("no", "word"), "o": ("or", "word"),
        "antes": ("before", "word"), "después": ("after", "word"), "quizás": ("maybe", "word"),
    },
    "pt": {
        "hoje à noite": ("tonight", "day"), "esta noite": ("tonight", "day"),
        "hoje de noite": ("tonight", "day"),
        "das": ("from", "from"), "dos": ("from", "from"), "de": ("from", "of_from"),
        "às": ("to", "closer"), "a": ("to", "closer"), "até": ("until", "to"),
        "entre": ("between", "between"), "e": ("and", "and"),
        "durante": ("for", "for"), "por": ("for", "for"),
        "no": ("", "drop"), "na": ("", "drop"), "o": ("", "drop"), "cedo": ("early", "word"),
        "todos os": ("every", "word"), "todas as": ("every", "word"), "cada": ("every", "word"),
        "por volta de": ("around", "word"), "cerca de": ("about", "word"),
        "exceto": ("except", "word"), "não": ("not", "word"), "ou": ("or", "word"),
        "antes": ("before", "word"), "depois": ("after", "word"), "talvez": ("maybe", "word"),
    },
    "ja": {
        "今夜": ("tonight", "day"), "今晩": ("tonight", "day"),
        "から": ("to", "to"), "〜": ("to", "to"), "~": ("to", "to"), "まで": ("", "drop"),
        "の": ("", "drop"), "に": ("", "drop"), "は": ("", "drop"), "後": ("in", "after_length"),
        "毎週": ("every", "word"), "毎日": ("daily", "word"),
        "頃": ("around", "word"), "ごろ": ("around", "word"), "約": ("about", "word"),
        "以外": ("except", "word"), "または": ("or", "word"),
    },
}
# fmt: on

# Clock and date forms, tried at each digit before the digit is read as a number. Each
# gives (kind, groups): "clock" (hour, minute), "date" (day, month, year or None),
# "ja_*" the Japanese counters after a number.
_DOT_DATE: Final = re.compile(r"(\d{1,2})\.(\d{1,2})\.(?:(\d{4})(?!\d))?")
_CLOCK_COLON: Final = re.compile(r"(\d{1,2}):(\d{2})(?![\d:])")
_CLOCK_H: Final = re.compile(r"(\d{1,2})h(\d{2})?(?![^\W_])")  # 2h, 22h30 (fr, es, pt)
_CLOCK_UHR: Final = re.compile(r"(\d{1,2})(?:[.:](\d{2}))? ?uhr(?![^\W_])")  # 2 Uhr, 14.30 Uhr
_CLOCK_DOT: Final = re.compile(r"(\d{1,2})\.(\d{2})(?![\d.])")  # German 14.30
_JA_DATE: Final = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(?:(\d{1,2})日)?")
_JA_CLOCK: Final = re.compile(r"(\d{1,2})時(?!間)(?:(\d{1,2})分|(半))?")
_JA_LENGTH: Final = re.compile(r"(\d{1,4})(時間|分間|分|日間|週間)")
_JA_UNITS: Final[Mapping[str, str]] = {
    "時間": "hours", "分間": "minutes", "分": "minutes", "日間": "days", "週間": "weeks",
}  # fmt: skip
_CLOCK_FORMS: Final[Mapping[str, tuple[re.Pattern[str], ...]]] = {
    "fr": (_CLOCK_H,),
    "es": (_CLOCK_H,),
    "pt": (_CLOCK_H,),
    "de": (_CLOCK_UHR, _CLOCK_DOT),
    "ja": (),
}
_WORD_RE: Final = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_ASCII_WORD_RE: Final = re.compile(r"[a-z]+(?:'[a-z]+)?")
_SPACE_RE: Final = re.compile(r"\s+")
_MAX_PHRASE_WORDS: Final = 4
_NO_SPACES: Final = frozenset({"ja"})


# --------------------------------------------------------------------------------------------
# CLDR's words, through Babel (imported here, on first use, not at module import).


def _locale_data(language: str) -> Any:
    from babel import Locale

    return Locale.parse(language)


def _forms(text: str) -> Iterator[str]:
    """The normalised form of a CLDR name, and the same without its abbreviation dot."""
    word = normalize(text).replace("\u202f", " ").replace("\xa0", " ").strip()
    yield word
    if word.endswith("."):
        yield word[:-1]


def _cldr_entries(language: str) -> Iterator[tuple[str, _Entry]]:
    locale = _locale_data(language)
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for number, name in locale.days[context][width].items():
                wide = locale.days[context]["wide"][number]
                for form in _forms(name):
                    yield form, _Entry(_ENGLISH_WEEKDAYS[number], "day", shown=wide)
            for number, name in locale.months[context][width].items():
                wide = locale.months[context]["wide"][number]
                for form in _forms(name):
                    english = _ENGLISH_MONTHS[number - 1]
                    yield form, _Entry(english, "month", number, shown=wide)
    fields = locale._data["date_fields"]
    relative_days = {0: "today", 1: "tomorrow", 2: "day after tomorrow"}
    for offset, name in fields["day"]["relative"].items():
        if offset in relative_days:
            yield normalize(name), _Entry(relative_days[offset], "day", shown=name)
        else:
            yield normalize(name), _Entry("", "past", shown=name)
    for english in _ENGLISH_WEEKDAYS:
        for offset, name in fields[english[:3]]["relative"].items():
            if offset == 0:
                yield normalize(name), _Entry(f"this {english}", "day", shown=name)
            elif offset == 1:
                yield normalize(name), _Entry(f"next {english}", "day", shown=name)
            else:
                yield normalize(name), _Entry("", "past", shown=name)
    now = fields["second"]["relative"].get(0)
    if now:
        yield normalize(now), _Entry("now", "now", shown=now)
    yield from _cldr_periods(locale)
    yield from _cldr_units(language, locale)


def _cldr_periods(locale: Any) -> Iterator[tuple[str, _Entry]]:
    """Day periods as am/pm. Morning periods say am and afternoon or evening ones pm, for
    any hour of that half ("4 de la mañana" is 04:00, though CLDR's morning starts at 06:00).
    Night periods differ by language (French "du matin" before 04:00, Spanish "de la noche"
    from 20:00), so a time after one must lie in its CLDR span: "2 Uhr nachts" is 02:00, and
    "11 Uhr nachts" is refused rather than read as 11:00."""
    rules = locale.day_period_rules.get(None, {})
    periods = locale.day_periods
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            names = periods.get(context, {}).get(width, {})
            for period, name in names.items():
                if period in ("am", "pm"):
                    role: Role = "mer_before" if locale.language == "ja" else "word"
                    yield normalize(name), _Entry(period, role, shown=name)
                    continue
                if period in ("noon", "midnight"):
                    yield normalize(name), _Entry(period, "word", shown=name)
                    continue
                span = (0, 0)
                if period.startswith("morning"):
                    english = "am"
                elif period.startswith(("afternoon", "evening")):
                    english = "pm"
                else:
                    spans = [
                        (int(rule.get("from", 0)), int(rule.get("before", 0)))
                        for rule in rules.get(period, ())
                    ]
                    if len(spans) != 1 or not spans[0][0] < spans[0][1]:
                        continue  # a night across midnight (Japanese 夜中) says neither
                    span = spans[0]
                    if span[1] <= 43200:
                        english = "am"
                    elif span[0] >= 43200:
                        english = "pm"
                    else:
                        continue
                for form in _forms(name):
                    yield form, _Entry(english, "period", span=span, shown=name)


def _cldr_units(language: str, locale: Any) -> Iterator[tuple[str, _Entry]]:
    """Length units from CLDR's unit patterns ("{0} heures") and the "in N days" phrasing
    of its relative fields ("dans {0} jours" gives "dans" = in)."""
    units = locale._data["unit_patterns"]
    for unit, english in (("hour", "hours"), ("minute", "minutes"), ("day", "days"),
                          ("week", "weeks")):  # fmt: skip
        for width in ("long", "short"):
            for count, pattern in units[f"duration-{unit}"][width].items():
                if count == "per":
                    continue
                word = normalize(pattern.replace("{0}", "")).replace("\u202f", " ").strip()
                for form in _forms(word):
                    if form and not form.isdigit():
                        yield form, _Entry(english, "unit", shown=pattern)
        future = locale._data["date_fields"].get(unit, {}).get("future", {})
        for pattern in future.values():
            before, _, after = normalize(pattern).partition("{0}")
            if before.strip() and language not in _NO_SPACES:
                yield before.strip(), _Entry("in", "in", shown=pattern)
            if after.strip() and language not in _NO_SPACES:
                yield after.strip(), _Entry(english, "unit", shown=pattern)


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    language: str
    words: Mapping[str, _Entry]
    longest: int  # characters (Japanese) or words (the others) of the longest key


@lru_cache(maxsize=len(LANGUAGES))
def _vocabulary(language: str) -> _Vocabulary:
    found: dict[str, set[_Entry]] = {}
    for key, entry in _cldr_entries(language):
        if key:
            found.setdefault(key, set()).add(entry)
    words: dict[str, _Entry] = {}
    for key, entries in found.items():
        # A day period is read only after a clock time, so any other meaning of the same
        # word wins ("mañana" alone is tomorrow; "2 de la mañana" is 2am).
        if any(e.role != "period" for e in entries):
            entries = {e for e in entries if e.role != "period"}
        if len({(e.english, e.role) for e in entries}) > 1 and {e.role for e in entries} <= {
            "unit",
            "in",
        }:
            entries = {e for e in entries if e.role == "unit"}
        if len({(e.english, e.role) for e in entries}) == 1:
            # The same am/pm from a morning and a night period: no span to check wins.
            words[key] = min(entries, key=lambda e: (e.span != (0, 0), e.shown))
        else:
            # Spanish "mar" is both martes and marzo: neither reading is safe to pick.
            shown = " or ".join(sorted({e.shown for e in entries}))
            words[key] = _Entry(shown, "ambiguous", shown=key)
    for key, (english, role) in _OWN[language].items():
        words[normalize(key)] = _Entry(english, role, shown=key)
    # Portuguese weekdays are as often written without "-feira" (segunda, sexta).
    for key, entry in list(words.items()):
        if language == "pt" and key.endswith("-feira"):
            words.setdefault(key.removesuffix("-feira"), entry)
    # Series words: plural weekdays after "tous les", "todos los" ("samedis", "sábados").
    if language in ("fr", "es", "pt"):
        for key, entry in list(words.items()):
            if entry.role == "day" and entry.english in _ENGLISH_WEEKDAYS and len(key) > 4:
                words.setdefault(key + "s", _Entry(entry.english + "s", "word", shown=key + "s"))
    # People type without accents: "sabado", "manana". Only where that names nothing else.
    for key, entry in list(words.items()):
        plain = _strip_accents(key)
        if plain != key and len(plain) > 3:
            words.setdefault(plain, entry)
    if language in _NO_SPACES:
        longest = max(len(k) for k in words)
    else:
        longest = min(_MAX_PHRASE_WORDS, max(len(k.split()) for k in words))
    return _Vocabulary(language, words, longest)


# --------------------------------------------------------------------------------------------
# Reading a text


@dataclass(slots=True)
class _Item:
    text: str
    kind: Literal["pass", "num", "clock", "word"]
    space_before: bool
    entry: _Entry | None = None
    hour: int = 0
    minute: int = 0
    shown: str = ""


@dataclass(slots=True)
class _Attempt:
    language: str
    items: list[_Item] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    content: int = 0
    passed_words: int = 0  # ASCII words left for the grammar ("utc", or one not known here)
    unknown_end: int = -1  # where the last unknown Japanese character ended


def _scan(text: str, vocabulary: _Vocabulary) -> _Attempt:
    """Items of ``text`` (already normalised) in ``vocabulary``'s language."""
    language = vocabulary.language
    attempt = _Attempt(language)
    items = attempt.items
    words = vocabulary.words
    clock_forms = _CLOCK_FORMS[language]
    i, n = 0, len(text)
    space = False
    while i < n:
        char = text[i]
        if char.isspace():
            space = True
            i = _SPACE_RE.match(text, i).end()  # type: ignore[union-attr]
            continue
        if char.isdigit():
            i = _scan_number(text, i, language, clock_forms, attempt, space)
        elif language in _NO_SPACES and not char.isascii():
            i = _scan_unspaced(text, i, vocabulary, attempt, space)
        elif (
            match := (_ASCII_WORD_RE if language in _NO_SPACES else _WORD_RE).match(text, i)
        ) is not None:
            i = _scan_word(text, match, vocabulary, attempt, space)
        else:
            entry = words.get(char)
            if entry is not None:
                items.append(_Item(entry.english, "word", space, entry, shown=char))
            elif char.isascii() or not char.isalnum():
                # Dashes, quotes and other marks are the grammar's to read or refuse.
                items.append(_Item(char, "pass", space))
            else:
                attempt.unknown.append(char)
            i += 1
        space = False
    attempt.passed_words = sum(1 for item in items if item.kind == "pass" and item.text.isalpha())
    # Words spelt as in English ("am", "pm" in French) do not make a text French.
    attempt.content = sum(
        1
        for item in items
        if (item.kind == "clock" and item.shown != item.text)
        or (item.entry and item.entry.role in _CONTENT and item.entry.english != item.shown)
    )
    return attempt


def _scan_number(
    text: str,
    i: int,
    language: str,
    clock_forms: tuple[re.Pattern[str], ...],
    attempt: _Attempt,
    space: bool,
) -> int:
    items = attempt.items
    if (match := _DOT_DATE.match(text, i)) is not None:
        day, month, year = match.groups()
        if 1 <= int(month) <= 12:
            words = f"{_ENGLISH_MONTHS[int(month) - 1]} {int(day)}" + (f" {year}" if year else "")
            entry = _Entry(words, "day")
            items.append(_Item(words, "word", space, entry, shown=match.group()))
            return match.end()
    if language == "ja":
        if (match := _JA_DATE.match(text, i)) is not None and 1 <= int(match.group(2)) <= 12:
            year, month, day = match.groups()
            words = _ENGLISH_MONTHS[int(month) - 1]
            if day:
                words += f" {int(day)}"
            if year:
                words += f" {year}"
            role: Role = "day" if day else "month"
            items.append(_Item(words, "word", space, _Entry(words, role), shown=match.group()))
            return match.end()
        if (match := _JA_LENGTH.match(text, i)) is not None:
            unit = _JA_UNITS[match.group(2)]
            entry = _Entry(unit, "unit")
            items.append(_Item(match.group(1), "num", space))
            items.append(_Item(unit, "word", False, entry, shown=match.group(2)))
            return match.end()
        if (match := _JA_CLOCK.match(text, i)) is not None:
            minute = 30 if match.group(3) else int(match.group(2) or 0)
            items.append(_clock(int(match.group(1)), minute, space, match.group()))
            return match.end()
    if (match := _CLOCK_COLON.match(text, i)) is not None:
        items.append(
            _clock(int(match.group(1)), int(match.group(2)), space, match.group(), as_written=True)
        )
        return match.end()
    previous = _last_meaningful(items)
    lengthy = previous is not None and (
        previous.text in ("for", "in")
        if previous.entry is None
        else previous.entry.role in ("for", "in")
    )
    for pattern in clock_forms:
        if (match := pattern.match(text, i)) is not None:
            if lengthy and pattern is _CLOCK_H:
                break  # "pendant 2h": a length, which the grammar reads as written
            hour, minute = int(match.group(1)), int(match.group(2) or 0)
            items.append(_clock(hour, minute, space, match.group()))
            return match.end()
    end = i
    while end < len(text) and text[end].isdigit():
        end += 1
    items.append(_Item(text[i:end], "num", space))
    return end


def _clock(hour: int, minute: int, space: bool, raw: str, *, as_written: bool = False) -> _Item:
    # A leading zero ("02h00") keeps the grammar's reading: plainly 24-hour, no am/pm carried.
    text = raw if as_written else f"{hour:0{2 if raw.startswith('0') else 1}d}:{minute:02d}"
    return _Item(text, "clock", space, hour=hour, minute=minute, shown=raw)


def _scan_word(
    text: str, match: re.Match[str], vocabulary: _Vocabulary, attempt: _Attempt, space: bool
) -> int:
    # The longest phrase of up to ``longest`` words that the vocabulary knows.
    spans = [match.span()]
    while len(spans) < vocabulary.longest:
        nxt = re.compile(r" ([^\W\d_]+(?:['-][^\W\d_]+)*)").match(text, spans[-1][1])
        if nxt is None:
            break
        spans.append(nxt.span(1))
    for count in range(len(spans), 0, -1):
        key = text[spans[0][0] : spans[count - 1][1]]
        entry = vocabulary.words.get(key)
        if entry is not None:
            attempt.items.append(_Item(entry.english, "word", space, entry, shown=key))
            return spans[count - 1][1]
    word = match.group()
    if word.isascii():
        attempt.items.append(_Item(word, "pass", space))
    else:
        attempt.unknown.append(word)
    return match.end()


def _scan_unspaced(
    text: str, i: int, vocabulary: _Vocabulary, attempt: _Attempt, space: bool
) -> int:
    """Japanese has no spaces: the longest vocabulary word starting here, else one unknown
    character (consecutive unknown characters are reported as one word)."""
    words = vocabulary.words
    for size in range(min(vocabulary.longest, len(text) - i), 0, -1):
        key = text[i : i + size]
        entry = words.get(key)
        if entry is not None:
            attempt.items.append(_Item(entry.english, "word", space, entry, shown=key))
            return i + size
    if attempt.unknown_end == i and not space:
        attempt.unknown[-1] += text[i]
    else:
        attempt.unknown.append(text[i])
    attempt.unknown_end = i + 1
    return i + 1


def _last_meaningful(items: list[_Item]) -> _Item | None:
    for item in reversed(items):
        if item.entry is None or item.entry.role != "drop":
            return item
    return None


# --------------------------------------------------------------------------------------------
# Context: the few words whose reading depends on their neighbours.


def _resolve(attempt: _Attempt) -> list[_Item]:
    items = attempt.items
    out: list[_Item] = []
    opened = False
    pending_mer: str | None = None
    for k, item in enumerate(items):
        entry = item.entry
        if item.kind == "clock":
            if pending_mer is not None:
                item = _with_meridiem(item, pending_mer)
                pending_mer = None
            out.append(item)
            continue
        if entry is None:
            out.append(item)
            continue
        role = entry.role
        if role == "drop":
            continue
        if role == "mer_before":
            pending_mer = entry.english
            continue
        if role == "period":
            out.append(_apply_period(out, item, entry))
            continue
        if role == "past":
            _fail_past(item.shown)
        if role == "ambiguous":
            _fail(
                f'"{item.shown}" can be {entry.english} in {LANGUAGE_NAMES[attempt.language]}: '
                f'write the whole word, e.g. "{_EXAMPLES[attempt.language]}".'
            )
        if role in ("from", "between"):
            opened = True
        elif role == "of_from":
            nxt = _next_entry(items, k)
            prev = out[-1] if out else None
            if prev is not None and prev.kind == "num" and nxt is not None and nxt.role == "month":
                item = _Item("of", "word", item.space_before, entry, shown=item.shown)
            else:
                opened = True
        elif role == "closer":
            # "22h às 23h", "minuit à 2h", "23h à dimanche 4h": between two times it joins them.
            prev = out[-1] if out else None
            nxt_item = next(
                (i for i in items[k + 1 :] if i.entry is None or i.entry.role != "drop"), None
            )
            between_times = (
                prev is not None
                and _time_like(prev)
                and nxt_item is not None
                and (
                    _time_like(nxt_item)
                    or (nxt_item.entry is not None and nxt_item.entry.role == "day")
                )
            )
            if not opened and not between_times:
                continue  # "à 14h", "a las 2": "at", which the grammar does not need
            opened = False
        elif role == "am_or_drop":
            nxt = _next_entry(items, k)
            prev = out[-1] if out else None
            if nxt is not None and nxt.role in ("day", "month"):
                continue
            if prev is None or prev.kind not in ("num", "clock"):
                continue
            item = _Item("am", "word", item.space_before, _Entry("am", "word"), shown=item.shown)
        elif role == "after_length":
            _prefix_length(out, "in")
            continue
        elif role == "unit" and attempt.language in _NO_SPACES:
            nxt = _next_entry(items, k)
            if nxt is None or nxt.role != "after_length":
                _prefix_length(out, "for")
        out.append(item)
    return out


def _time_like(item: _Item) -> bool:
    return item.kind in ("num", "clock") or (
        item.entry is not None and item.entry.english in ("noon", "midnight")
    )


def _next_entry(items: list[_Item], k: int) -> _Entry | None:
    for item in items[k + 1 :]:
        if item.entry is not None and item.entry.role == "drop":
            continue
        return item.entry
    return None


def _prefix_length(out: list[_Item], word: str) -> None:
    """Put "in"/"for" before the number just read ("2時間後" is "in 2 hours"); a "to"
    right before a length is the length's "for" ("2時から2時間")."""
    k = len(out) - 1
    last = out[k].entry if k >= 0 else None
    if last is not None and last.role == "unit":
        k -= 1
    if k < 0 or out[k].kind != "num":
        return
    before = out[k - 1] if k > 0 else None
    if before is not None and before.entry is not None and before.entry.role in ("for", "in"):
        return
    entry = _Entry(word, "for" if word == "for" else "in")
    if before is not None and before.entry is not None and before.entry.role == "to":
        out[k - 1] = _Item(word, "word", before.space_before, entry)
        return
    out.insert(k, _Item(word, "word", out[k].space_before, entry))


def _with_meridiem(item: _Item, mer: str) -> _Item:
    return _Item(
        f"{item.hour}:{item.minute:02d}{mer}", "clock", item.space_before,
        hour=item.hour, minute=item.minute, shown=item.shown,
    )  # fmt: skip


def _apply_period(out: list[_Item], item: _Item, entry: _Entry) -> _Item:
    """ "2 de la tarde" is 14:00: the period after a clock time says am or pm, and the time
    must lie in the period's span (CLDR's), so "11 Uhr nachts" is not read as 11am."""
    prev = out[-1] if out else None
    if prev is None or prev.kind not in ("num", "clock") or prev.text.endswith(("am", "pm")):
        _fail(
            f'"{item.shown}" needs a clock time before it, e.g. "2 {item.shown}" '
            f'or "Saturday 2-4am".'
        )
    if prev.kind == "num":
        if len(prev.text) > 2:
            _fail(f'"{prev.text} {item.shown}" is not a clock time. Try "2 {item.shown}".')
        hour, minute = int(prev.text), 0
    else:
        hour, minute = prev.hour, prev.minute
    if hour > 23 or minute > 59:
        _fail(f'"{prev.text}" is not a clock time. Try "2 {item.shown}".')
    pm = entry.english == "pm"
    if 1 <= hour <= 12:
        clock = (hour % 12 + (12 if pm else 0)) * 3600 + minute * 60
    elif (hour > 12) == pm:
        clock = hour * 3600 + minute * 60  # "14 de la tarde", "0 Uhr nachts"
    else:
        _fail(
            f'{prev.text} is not "{item.shown}". Write the time on the 24-hour clock, e.g. "23:00".'
        )
    start, end = entry.span
    if end and not start <= clock < end:
        _fail(
            f'{prev.text} is not "{item.shown}", which runs {start // 3600:02d}:00–'
            f'{end // 3600:02d}:00. Write the time on the 24-hour clock, e.g. "23:00".'
        )
    out.pop()
    text = f"{clock // 3600}:{clock % 3600 // 60:02d}"
    if 1 <= hour <= 12:
        text = f"{hour}:{minute:02d}{entry.english}"
    return _Item(text, "clock", prev.space_before, hour=hour, minute=minute, shown=item.shown)


def _join(items: list[_Item]) -> str:
    parts: list[str] = []
    previous_word = False
    for item in items:
        is_word = item.kind == "word"
        if parts and (item.space_before or is_word or previous_word):
            parts.append(" ")
        parts.append(item.text)
        previous_word = is_word
    return "".join(parts).strip()


# --------------------------------------------------------------------------------------------
# Entry point


def to_grammar(text: str, languages: Sequence[str] = ()) -> Translated:
    """``text`` rewritten into the English grammar's words, or left as it is.

    ``languages`` are the user's (locales such as ``fr-FR`` are fine), tried first; then
    the other supported languages. A language reads the text when it knows at least one
    of its day, month, clock or range words and every word outside ASCII. ASCII words no
    language knows pass through for the grammar to judge ("UTC", "Europe/Berlin", "pm").
    An ASCII text from a user with no supported language (or English first) is left
    exactly as it was, so English texts keep their meaning.

    Raises :class:`WindowError` naming the first word outside ASCII that no language
    knows, and for words that cannot be read safely (a past day, Spanish "mar").
    """
    if len(text) > _MAX_TEXT or not text.strip():
        return Translated(text)  # the grammar's own message says what is wrong
    preferred = [language_of(code) for code in languages]
    if not _foreign(text) and (not preferred or preferred[0] not in LANGUAGES):
        return Translated(text)
    order = [code for code in preferred if code in LANGUAGES]
    if _foreign(text):
        order += [code for code in LANGUAGES if code not in order]
    # An ASCII text is tried only in the user's own languages: English words that are
    # abbreviations elsewhere ("Mar" is mardi in French) keep their English meaning.
    normalized = normalize(text)
    attempts = [_scan(normalized, _vocabulary(language)) for language in order]
    readable = [a for a in attempts if not a.unknown and a.content]
    if readable:
        # The language that leaves the fewest words unread ("hoje à noite" is Portuguese,
        # though French knows "à" and "23h"); on a tie, the user's language, then the order.
        best = min(readable, key=lambda a: a.passed_words)
        return Translated(_join(_resolve(best)), best.language)
    if not _foreign(normalized):
        return Translated(text)
    best = attempts[0] if order[0] in preferred else min(attempts, key=lambda a: len(a.unknown))
    _fail_unknown(best.unknown[0] if best.unknown else normalized, text)


def _foreign(text: str) -> bool:
    """Whether ``text`` has a letter or digit outside ASCII (marks such as "–" are not)."""
    return not text.isascii() and any(not c.isascii() and c.isalnum() for c in text)


def _fail(message: str) -> NoReturn:
    raise WindowError(message)


def _fail_past(word: str) -> NoReturn:
    _fail(f'"{word}" is in the past; a window starts now or later, e.g. "tomorrow 2-4am".')


def _fail_unknown(word: str, text: str) -> NoReturn:
    shown = word if len(word) <= 30 else word[:30] + "…"
    quoted = text.strip() if len(text.strip()) <= 80 else text.strip()[:80] + "…"
    names = ", ".join(LANGUAGE_NAMES[code] for code in LANGUAGES[:-1])
    _fail(
        f'I don\'t understand "{shown}" in "{quoted}". I read English, {names} and '
        f'{LANGUAGE_NAMES[LANGUAGES[-1]]} window texts, e.g. "{_EXAMPLES["fr"]}" or '
        f'"{_EXAMPLES["ja"]}".'
    )


# --------------------------------------------------------------------------------------------
# The echo


@lru_cache(maxsize=64)
def day_formatter(locale: str | None) -> Callable[[date], str] | None:
    """A function that names a date in ``locale``'s words ("sam. 21 nov. 2026", "2026年11月21日
    (土)"), formatted by Babel from CLDR; None for English, no locale, or one Babel does not
    know (the echo then stays in English)."""
    language = language_of(locale)
    if language is None or language == "en" or locale is None:
        return None
    from babel import Locale, UnknownLocaleError
    from babel.dates import format_skeleton

    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        try:
            parsed = Locale.parse(language)
        except (UnknownLocaleError, ValueError, TypeError):
            return None

    def name(day: date) -> str:
        return str(format_skeleton("yMMMEd", day, locale=parsed))

    return name


def foreign_day_word(word: str) -> tuple[str, str] | None:
    """``(language name, English word)`` when ``word`` (ASCII, accents dropped) is a day or
    month name or a relative day in one of :data:`LANGUAGES` and not a short abbreviation;
    else ``None``. The English grammar asks this of the words it would take as a title, so
    "samedi 2-4am" typed without a French locale is refused, not read as "2-4am" titled
    "samedi"."""
    low = _strip_accents(normalize(word))
    if len(low) < 5 or not low.isascii() or not low.isalpha():
        return None
    return _foreign_days().get(low)


@lru_cache(maxsize=1)
def _foreign_days() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for language in LANGUAGES:
        for phrase, entry in _vocabulary(language).words.items():
            key = _strip_accents(phrase)
            if entry.role in ("day", "month") and " " not in key and len(key) >= 5:
                found.setdefault(key, (LANGUAGE_NAMES[language], entry.english))
    return found


def known_words(language: str) -> frozenset[str]:
    """Every word and phrase ``language`` knows (normalised), for tests and benchmarks."""
    return frozenset(_vocabulary(language).words)
