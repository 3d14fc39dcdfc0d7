"""The English rules of window-conventions.md's "Version 2 additions".

As in tests/test_windows.py, expected instants are written out (a wall time in a named zone,
or UTC), never computed by the code under test. Unless a case says otherwise, everything is
said on Wednesday 18 Nov 2026 at 10:00 in America/Los_Angeles (PST, UTC-8).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_windows import BERLIN, LA, NOW, NY, SYDNEY, la, parse, rejection, utc, wall

from bot.windows import FIXED_ABBREVIATIONS, echo_lines, resolve_zone

AUCKLAND = "Pacific/Auckland"
LORD_HOWE = "Australia/Lord_Howe"


def examples(message: str) -> list[str]:
    return re.findall(r'(?:e\.g\.|Try|write|For example) "([^"]+)"', message)


# --------------------------------------------------------------------------------------------
# Words around the window: titles, courtesy words, meaning-changing words.

TITLED: list[tuple[str, datetime, datetime, str | None]] = [
    # The contract's and the texts.
    ("db failover tmrw 22:00-23:00 pls", la(11, 19, 22), la(11, 19, 23), "db failover"),
    (
        "Planned maintenance: Saturday 02:00-04:00",
        la(11, 21, 2),
        la(11, 21, 4),
        "Planned maintenance",
    ),
    ("maint window sat 2-4am please", la(11, 21, 2), la(11, 21, 4), "maint window"),
    ("can we do sat 2-4am?", la(11, 21, 2), la(11, 21, 4), None),
    ("could we do sat 2-4am!", la(11, 21, 2), la(11, 21, 4), None),
    ("sat 2-4am thanks", la(11, 21, 2), la(11, 21, 4), None),
    ("sat 2-4am, thank you!", la(11, 21, 2), la(11, 21, 4), None),
    ("thx, sat please 2-4am", la(11, 21, 2), la(11, 21, 4), None),  # dropped anywhere
    # After the window, and around words of the grammar that may stand in a title.
    ("Saturday 2-4am db failover", la(11, 21, 2), la(11, 21, 4), "db failover"),
    ("Saturday 2-4am for db failover", la(11, 21, 2), la(11, 21, 4), "db failover"),
    ("Downtime for db Saturday 2-4am", la(11, 21, 2), la(11, 21, 4), "Downtime for db"),
    (
        "Patch the payments db on Saturday 2-4am, thanks",
        la(11, 21, 2),
        la(11, 21, 4),
        "Patch the payments db",
    ),
    ("Move db to new host sat 2-4am", la(11, 21, 2), la(11, 21, 4), "Move db to new host"),
    ("Failover in 2 hours for 30m", la(11, 18, 12), la(11, 18, 12, 30), "Failover"),
    ("Reindex in an hour for half an hour", la(11, 18, 11), la(11, 18, 11, 30), "Reindex"),
    ("Freeze from Sat 2am to Mon 6am", la(11, 21, 2), la(11, 23, 6), "Freeze"),
    ("Sat 2-4am in prod", la(11, 21, 2), la(11, 21, 4), "prod"),
    # Labels, glued words and numbers, quotes.
    ("CHG0012345: Sat 2-4am", la(11, 21, 2), la(11, 21, 4), "CHG0012345"),
    ("Release 42: Saturday 2-4am", la(11, 21, 2), la(11, 21, 4), "Release 42"),
    ("db2 failover sat 2-4am", la(11, 21, 2), la(11, 21, 4), "db2 failover"),
    ("re-index db sat 2-4am", la(11, 21, 2), la(11, 21, 4), "re-index db"),
    ('"money transfer" Saturday 2-4am', la(11, 21, 2), la(11, 21, 4), "money transfer"),
    ("\u201cSaturday patch\u201d Sunday 2-4am", la(11, 22, 2), la(11, 22, 4), "Saturday patch"),
    ('"no downtime" Sat 2-4am', la(11, 21, 2), la(11, 21, 4), "no downtime"),
    ("Label: db failover Sat 2-4am", la(11, 21, 2), la(11, 21, 4), "Label: db failover"),
    ("db failover Sat 2-4am sre team", la(11, 21, 2), la(11, 21, 4), "db failover – sre team"),
    # A colon that labels nothing is punctuation.
    ("Saturday: 2-4am", la(11, 21, 2), la(11, 21, 4), None),
    ("Sat 2-4am: db failover", la(11, 21, 2), la(11, 21, 4), "db failover"),
    # The window words still read as before.
    ("Saturday 2-4am Europe/Berlin", None, None, None),  # zone, no title; instants below
]


@pytest.mark.parametrize(
    ("text", "start", "end", "title"), TITLED[:-1], ids=[c[0] for c in TITLED[:-1]]
)
def test_words_around_the_window_are_its_title(
    text: str, start: datetime, end: datetime, title: str | None
) -> None:
    window = parse(text)
    assert (window.start, window.end, window.title) == (start, end, title)
    assert window.text == text


def test_a_zone_is_not_a_title() -> None:
    window = parse("Saturday 2-4am Europe/Berlin")
    assert (window.start, window.title) == (wall(BERLIN, 2026, 11, 21, 2), None)
    window = parse("db failover Saturday 2-4am London time thanks")
    assert (window.start, window.tz, window.title) == (
        utc(2026, 11, 21, 2),
        "Europe/London",
        "db failover",
    )


def test_a_title_is_echoed_first_and_reads_back() -> None:
    window = parse("db failover tmrw 22:00-23:00 pls")
    lines = echo_lines(window)
    assert lines == [
        '"db failover": Thu 19 Nov 2026 22:00 – 23:00 PST (America/Los_Angeles)',
        "Fri 20 Nov 2026 06:00 – 07:00 UTC",
        "Length: 1h",
    ]
    again = parse(lines[0].removesuffix(" PST (America/Los_Angeles)"))
    assert (again.start, again.end, again.title) == (window.start, window.end, "db failover")


def test_a_window_without_title_echoes_as_before() -> None:
    assert echo_lines(parse("Saturday 2-4am"))[0] == (
        "Sat 21 Nov 2026 02:00 – 04:00 PST (America/Los_Angeles)"
    )


MEANING_WORDS = [
    "not",
    "no",
    "except",
    "unless",
    "before",
    "after",
    "around",
    "about",
    "approximately",
    "maybe",
    "or",
    "either",
]


@pytest.mark.parametrize("word", MEANING_WORDS)
@pytest.mark.parametrize("where", ["{w} Saturday 2-4am", "Saturday {w} 2-4am", "Sat 2-4am {w}"])
def test_a_meaning_changing_word_is_an_error_wherever_it_stands(word: str, where: str) -> None:
    message = rejection(where.format(w=word))
    assert f'"{word}"' in message
    assert "won't guess" in message
    assert '"Saturday 2-4am"' in message
    # Not even inside a title.
    assert rejection(f"db {word} failover Saturday 2-4am") == rejection(f"{word} Saturday 2-4am")


def test_day_after_tomorrow_is_still_a_day() -> None:
    assert parse("day after tomorrow 1-2am").start == la(11, 20, 1)


INSIDE: list[tuple[str, str]] = [
    # A word between the expression's tokens is not a title: it is named.
    ("sat db 2-4am", 'don\'t understand "db"'),
    ("Saturday 2 failover to 4am", 'don\'t understand "failover"'),
    ("Saturday 2am to db 4am", 'don\'t understand "db"'),
    ("Sat 2am “db” for 2h", 'don\'t understand "db"'),
    # Near-misses of the grammar's words around the window are refused, not titled.
    ("Saturady 2-4am", 'did you mean "Saturday"'),
    ("2-4am Satruday", 'did you mean "Saturday"'),
    ("db failover tommorrow 2-4am", 'did you mean "Tomorrow"'),
    ("Thrusday 2-4am", 'did you mean "Thursday"'),
    ("Decmber 5 2-4am", 'did you mean "December"'),
    ("late Saturday 11-1", 'don\'t understand "late"'),
    ("Tomorrow's deploy: 2-4pm", "don't understand \"Tomorrow's\""),
    # A place or a zone abbreviation after the window is not a title either.
    ("Sat 2-4am London", '"London" looks like a place'),
    ("Sat 2-4am london", '"london" looks like a place'),
    ("Sat 2-4am in New York", '"New York" looks like a place'),
    ("Berlin rollout Sat 2-4am", '"Berlin" looks like a place'),
    ("Sat 2-4am KST", 'time zone "KST"'),
    ("Sat 2-4am WIBT", 'time zone "WIBT"'),
    ("Sat 2-4am et", 'Write it in capitals, "ET"'),
    ("Sat 2-4am pt", 'Write it in capitals, "PT"'),
    # Courtesy words alone are no window.
    ("please", "no date or time"),
    ("can we do it please?", "no date or time"),
    ("db failover", "no date or time"),
]


@pytest.mark.parametrize(("text", "reason"), INSIDE, ids=[c[0] for c in INSIDE])
def test_words_that_are_not_a_title(text: str, reason: str) -> None:
    message = rejection(text)
    assert reason in message
    assert examples(message), message


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("money transfer Saturday 2-4am", "\u201cmoney transfer\u201d Saturday 2-4am"),
        ("Sat 2-4am London", "Sat 2-4am \u201cLondon\u201d"),
    ],
)
def test_a_refused_title_word_suggests_quoting_and_the_suggestion_works(
    text: str, quoted: str
) -> None:
    message = rejection(text)
    assert f'"{quoted}"' in message
    window = parse(quoted)
    assert window.start == la(11, 21, 2)
    assert window.title in ("money transfer", "London")


# --------------------------------------------------------------------------------------------
# night, early, morning, evening next to a day; tonite.

QUALIFIED: list[tuple[str, datetime, datetime]] = [
    ("Saturday night 11pm-1am", la(11, 21, 23), la(11, 22, 1)),
    ("Saturday night 11-1", la(11, 21, 23), la(11, 22, 1)),
    ("Saturday night 22:00-02:00", la(11, 21, 22), la(11, 22, 2)),
    ("Sunday early 1-3", la(11, 22, 1), la(11, 22, 3)),
    ("early Sunday 1-3", la(11, 22, 1), la(11, 22, 3)),
    ("Sunday early morning 1-3", la(11, 22, 1), la(11, 22, 3)),
    ("tomorrow morning 9-11", la(11, 19, 9), la(11, 19, 11)),
    ("Sunday morning 11-1", la(11, 22, 11), la(11, 22, 13)),
    ("Friday evening 6-8", la(11, 20, 18), la(11, 20, 20)),
    ("Friday afternoon 2-4", la(11, 20, 14), la(11, 20, 16)),
    ("tonite 11pm-1am", la(11, 18, 23), la(11, 19, 1)),
    ("tonight 11-1", la(11, 18, 23), la(11, 19, 1)),
    ("Saturday 11pm to Sunday morning 2", la(11, 21, 23), la(11, 22, 2)),
]


@pytest.mark.parametrize(("text", "start", "end"), QUALIFIED, ids=[c[0] for c in QUALIFIED])
def test_part_of_day_words_qualify_the_clock_time(
    text: str, start: datetime, end: datetime
) -> None:
    window = parse(text)
    assert (window.start, window.end, window.title) == (start, end, None)


@pytest.mark.parametrize(
    ("text", "reason", "example"),
    [
        ("Saturday night", "is not a time", '"Saturday night 11pm-1am"'),
        ("Sunday early", "is not a time", '"Sunday early 11pm-1am"'),
        ("night 11pm-1am", "needs a day", '"Saturday night 11pm-1am"'),
        ("early 1-3", "needs a day", '"Sunday early 1-3"'),
        ("Saturday night 2-4am", "early hours of Saturday or of the day after", '"Sunday 2-4am"'),
        ("Saturday night 1-3", "early hours", '"Sunday 2-4am"'),
        ("tonight 2-4am", "early hours", '"Sunday 2-4am"'),
        ("Sunday morning 2pm-3pm", '"2pm" is not in the morning', '"Sunday early 1-3"'),
        ("Saturday night 14:00-16:00", '"14:00" is not in the night', '"Sunday early 1-3"'),
        ("Sunday morning night 2-4", "two parts of the day", '"Saturday night 11pm-1am"'),
    ],
)
def test_part_of_day_words_refused(text: str, reason: str, example: str) -> None:
    message = rejection(text)
    assert reason in message
    assert example in message


def test_tonight_alone_is_still_today() -> None:
    window = parse("now until tonite")
    assert (window.start, window.end) == (NOW, la(11, 19))


# --------------------------------------------------------------------------------------------
# Zones.

US_ZONES: list[tuple[str, str]] = [
    ("PT", LA),
    ("Pacific", LA),
    ("pacific time", LA),
    ("PT time", LA),
    ("MT", "America/Denver"),
    ("Mountain", "America/Denver"),
    ("CT", "America/Chicago"),
    ("Central Time", "America/Chicago"),
    ("ET", NY),
    ("Eastern", NY),
    ("eastern time", NY),
]


@pytest.mark.parametrize(("word", "zone"), US_ZONES)
def test_us_zone_words_are_real_zones_with_dst(word: str, zone: str) -> None:
    # Winter and summer: the same wall clock, the offset of that day.
    winter = parse(f"Saturday 2-4am {word}")
    assert (winter.start, winter.tz) == (wall(zone, 2026, 11, 21, 2), zone)
    july = utc(2026, 7, 1)
    summer = parse(f"Saturday 2-4am {word}", now=july)
    assert (summer.start, summer.tz) == (wall(zone, 2026, 7, 4, 2), zone)
    assert summer.notes == ()


def test_us_zone_word_across_the_spring_forward_week() -> None:
    # US clocks spring forward on Sun 8 Mar 2026: Saturday is on PST, Monday on PDT.
    said = utc(2026, 3, 5, 18)
    assert parse("Saturday 2-4am PT", now=said).start == utc(2026, 3, 7, 10)
    assert parse("Monday 2-4am PT", now=said).start == utc(2026, 3, 9, 9)
    message = rejection("Sunday 2:30-4am PT", now=said)
    assert "does not exist in America/Los_Angeles" in message
    window = parse(examples(message)[-1], now=said)
    assert window.start == utc(2026, 3, 8, 10)  # 03:00 PDT
    assert window.tz == LA


def test_tomorrow_9_10am_et_from_california() -> None:
    window = parse("tomorrow 9-10am ET")
    assert (window.start, window.end, window.tz) == (
        wall(NY, 2026, 11, 19, 9),
        wall(NY, 2026, 11, 19, 10),
        NY,
    )


def test_pt_no_longer_points_to_pst() -> None:
    window = parse("Sat 2-4am PT", now=utc(2026, 7, 1))
    assert window.start == utc(2026, 7, 4, 9)  # PDT, -07:00
    assert "PST" not in " ".join(window.notes)


FIXED_WRONG_HALF: list[tuple[str, datetime, str, str]] = [
    # (text, now, the fixed offset, the real zone's offset that day)
    ("Saturday 2-4am PST", utc(2026, 7, 1), "PST is a fixed −08:00", "is on −07:00 on Sat 4 Jul"),
    ("Saturday 2-4am PDT", NOW, "PDT is a fixed −07:00", "is on −08:00 on Sat 21 Nov"),
    ("Saturday 2-4am EST", utc(2026, 7, 1), "EST is a fixed −05:00", "is on −04:00"),
    ("Saturday 2-4am CDT", NOW, "CDT is a fixed −05:00", "is on −06:00"),
    ("Saturday 2-4am MST", utc(2026, 7, 1), "MST is a fixed −07:00", "is on −06:00"),
    ("Saturday 2-4am CET", utc(2026, 7, 1), "CET is a fixed +01:00", "is on +02:00"),
    ("Saturday 2-4am AEST", NOW, "AEST is a fixed +10:00", "is on +11:00"),
    ("Saturday 2-4am NZST", NOW, "NZST is a fixed +12:00", "is on +13:00"),
]


@pytest.mark.parametrize(("text", "now", "fixed", "real"), FIXED_WRONG_HALF)
def test_a_fixed_abbreviation_on_the_wrong_half_of_the_year_is_noted(
    text: str, now: datetime, fixed: str, real: str
) -> None:
    window = parse(text, now=now)
    assert window.tz == text.split()[-1]  # still the fixed offset the user typed
    [note] = window.notes
    assert fixed in note
    assert real in note
    assert note in echo_lines(window)


def test_a_fixed_abbreviation_on_its_own_half_has_no_note() -> None:
    assert parse("Saturday 2-4am PST").notes == ()
    assert parse("Saturday 2-4am PDT", now=utc(2026, 7, 1)).notes == ()
    assert parse("Saturday 2-4am AEDT").notes == ()


def test_the_note_suggests_a_text_that_follows_the_local_clock() -> None:
    [note] = parse("Saturday 2-4am PST", now=utc(2026, 7, 1)).notes
    assert 'write "PT" instead of "PST"' in note
    assert parse("Saturday 2-4am PT", now=utc(2026, 7, 1)).start == utc(2026, 7, 4, 9)


CITIES: list[tuple[str, str]] = [
    ("London time", "Europe/London"),
    ("Sydney time", SYDNEY),
    ("Berlin time", BERLIN),
    ("New York time", NY),
    ("new york time", NY),
    ("Los Angeles time", LA),
    ("Auckland time", AUCKLAND),
    ("Lord Howe time", LORD_HOWE),
    ("Buenos Aires time", "America/Argentina/Buenos_Aires"),
    ("in Tokyo time", "Asia/Tokyo"),
]


@pytest.mark.parametrize(("words", "zone"), CITIES)
def test_city_time_names_the_zone_whose_last_part_is_the_city(words: str, zone: str) -> None:
    window = parse(f"Saturday 2-4am {words}")
    assert (window.start, window.end, window.tz) == (
        wall(zone, 2026, 11, 21, 2),
        wall(zone, 2026, 11, 21, 4),
        zone,
    )


def test_local_time_is_the_users_zone() -> None:
    window = parse("Saturday 2-4am local time")
    assert (window.start, window.tz, window.title) == (la(11, 21, 2), LA, None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Saturday 2-4am Gotham time", 'time zone for the city "Gotham"'),
        ("Saturday 2-4am Springfield time", 'city "Springfield"'),
        ("Saturday 2-4am Central European Time", 'time zone "Central European"'),
        ("Saturday 2-4am London time Europe/Berlin", "two zones"),
        ("Saturday 2-4am PT ET", "two zones"),
    ],
)
def test_bad_zone_words(text: str, reason: str) -> None:
    message = rejection(text)
    assert reason in message
    for example in examples(message):
        if "Saturday 2-4am" in example:
            parse(example)


NEW_ABBREVIATIONS = {
    "AEST": 10,
    "AEDT": 11,
    "JST": 9,
    "SGT": 8,
    "HKT": 8,
    "NZST": 12,
    "NZDT": 13,
}


@pytest.mark.parametrize(("name", "hours"), NEW_ABBREVIATIONS.items())
def test_new_fixed_abbreviations(name: str, hours: int) -> None:
    assert FIXED_ABBREVIATIONS[name] == hours * 60
    for moment in (utc(2026, 1, 15), utc(2026, 7, 15)):
        assert resolve_zone(name).utcoffset(moment) == timedelta(hours=hours)
    window = parse(f"Saturday 2-4am {name}")
    assert window.tz == name
    assert window.start == utc(2026, 11, 21, 2) - timedelta(hours=hours)


@pytest.mark.parametrize(
    ("word", "minutes"),
    [
        ("UTC+2", 120),
        ("GMT-5", -300),
        ("UTC+05:30", 330),
        ("GMT+8", 480),
        ("UTC-03:00", -180),
    ],
)
def test_utc_offsets_keep_the_sign_as_written(word: str, minutes: int) -> None:
    window = parse(f"Saturday 2-4am {word}")
    assert window.start == utc(2026, 11, 21, 2) - timedelta(minutes=minutes)


def test_etc_gmt_names_are_iana_with_a_note_on_their_sign() -> None:
    window = parse("Saturday 2-4am Etc/GMT+2")
    assert window.start == utc(2026, 11, 21, 4)  # IANA: Etc/GMT+2 is UTC-02:00
    [note] = window.notes
    assert "reverse the sign" in note
    assert parse("Saturday 2-4am UTC+2").start == utc(2026, 11, 21, 0)


# --------------------------------------------------------------------------------------------
# ISO 8601 intervals.

ISO: list[tuple[str, datetime, datetime, str]] = [
    ("2026-12-24T22:00Z/PT2H", utc(2026, 12, 24, 22), utc(2026, 12, 25, 0), "UTC"),
    ("2026-12-24T22:00Z/P1D", utc(2026, 12, 24, 22), utc(2026, 12, 25, 22), "UTC"),
    ("2026-12-24T22:00Z/PT1H30M", utc(2026, 12, 24, 22), utc(2026, 12, 24, 23, 30), "UTC"),
    (
        "2026-12-24T22:00Z/PT90S",
        utc(2026, 12, 24, 22),
        utc(2026, 12, 24, 22) + timedelta(seconds=90),
        "UTC",
    ),
    ("2026-12-24T22:00Z/P1W", utc(2026, 12, 24, 22), utc(2026, 12, 31, 22), "UTC"),
    ("2026-12-24T22:00Z/P1DT2H", utc(2026, 12, 24, 22), utc(2026, 12, 26, 0), "UTC"),
    (
        "2026-12-24T22:00+01:00/2026-12-25T02:00+01:00",
        utc(2026, 12, 24, 21),
        utc(2026, 12, 25, 1),
        "+01:00",
    ),
    # A start without an offset is read in the user's zone.
    ("2026-12-24T22:00/PT2H", la(12, 24, 22), la(12, 25, 0), LA),
    ("2026-12-24T22:00/2026-12-25T01:30", la(12, 24, 22), la(12, 25, 1, 30), LA),
    ("2026-12-24T22:00/23:30", la(12, 24, 22), la(12, 24, 23, 30), LA),
    ("2026-12-24/P1D", la(12, 24), la(12, 25), LA),
    # Dates are whole days, the last one included, as "Dec 24 to Dec 26" is.
    ("2026-12-24/2026-12-26", la(12, 24), la(12, 27), LA),
    # ... unless the text names a zone.
    (
        "2026-12-24T22:00/PT2H Europe/Berlin",
        wall(BERLIN, 2026, 12, 24, 22),
        wall(BERLIN, 2026, 12, 25, 0),
        BERLIN,
    ),
]


@pytest.mark.parametrize(("text", "start", "end", "tz"), ISO, ids=[c[0] for c in ISO])
def test_iso_intervals(text: str, start: datetime, end: datetime, tz: str) -> None:
    window = parse(text)
    assert (window.start, window.end, window.tz) == (start, end, tz)


def test_an_iso_interval_can_carry_a_title() -> None:
    window = parse("db failover 2026-12-24T22:00Z/PT2H")
    assert (window.start, window.title) == (utc(2026, 12, 24, 22), "db failover")


def test_iso_interval_across_berlins_fall_back() -> None:
    window = parse("2026-10-25T01:30/PT2H", tz=BERLIN, now=utc(2026, 10, 1))
    assert window.start == utc(2026, 10, 24, 23, 30)
    assert window.duration == timedelta(hours=2)  # elapsed time
    assert window.end.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M %Z") == "02:30 CET"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-12-24T22:00Z/P1M", "years or months"),
        ("2026-12-24T22:00Z/P1Y", "years or months"),
        ("2026-12-24T22:00Z/PT", "not an ISO length"),
        ("2026-12-24T22:00Z/P", "not an ISO length"),
        ("2026-12-24T22:00Z/PT2X", "not an ISO length"),
        ("2026-12-24T22:00Z/banana", "does not end with a date"),
        ("2026-12-24T22:00Z/25", "does not end with a date"),
        ("2026-12-24T99:00Z/PT2H", "is not a clock time"),
        ("PT2H/2026-12-24T22:00Z", "does not start with a date"),
        ("2026-12-24T22:00Z/PT2H for 1h", "Give one length"),
        ("2026-12-24T22:00Z/PT400H", "longest allowed is 14d"),
        ("2025-12-24T22:00Z/PT2H", "already past"),
        ("2026-12-24T22:00Z/2026-12-24T21:00Z", "before the start"),
    ],
)
def test_bad_iso_intervals(text: str, reason: str) -> None:
    message = rejection(text)
    assert reason in message
    assert examples(message), message


# --------------------------------------------------------------------------------------------
# Weekends and weeks.

SPANS: list[tuple[str, datetime, datetime, datetime]] = [
    # (text, now, start, end)
    ("this weekend", NOW, la(11, 21), la(11, 23)),
    ("over the weekend", NOW, la(11, 21), la(11, 23)),
    ("the weekend", NOW, la(11, 21), la(11, 23)),
    ("weekend", NOW, la(11, 21), la(11, 23)),
    ("next weekend", NOW, la(11, 28), la(11, 30)),
    ("next week", NOW, la(11, 23), la(11, 30)),
    # On Saturday and Sunday: the weekend under way, from now.
    ("this weekend", la(11, 21, 9), la(11, 21, 9), la(11, 23)),
    ("over the weekend", la(11, 22, 15), la(11, 22, 15), la(11, 23)),
    ("next weekend", la(11, 22, 15), la(11, 28), la(11, 30)),
    # Said on Monday: this weekend is the coming one; next week is the following Monday.
    ("this weekend", la(11, 23, 8), la(11, 28), la(11, 30)),
    ("next week", la(11, 23, 8), la(11, 30), la(12, 7)),
]


@pytest.mark.parametrize(("text", "now", "start", "end"), SPANS)
def test_weekends_and_weeks(text: str, now: datetime, start: datetime, end: datetime) -> None:
    window = parse(text, now=now)
    assert (window.start, window.end) == (start, end)


def test_next_weekend_and_next_week_say_which_dates() -> None:
    assert parse("next weekend").notes == (
        '"next weekend" is read as the weekend of next week (weeks run Monday to Sunday): '
        "Sat 28 Nov 2026 00:00 to Mon 30 Nov 2026 00:00.",
    )
    assert parse("next week").notes == (
        '"next week" is read as the week after this one (weeks run Monday to Sunday): '
        "Mon 23 Nov 2026 00:00 to Mon 30 Nov 2026 00:00.",
    )


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("next week Tuesday 2-4am", la(11, 24, 2)),
        ("Tuesday next week 2-4am", la(11, 24, 2)),
        ("next week Sunday", la(11, 29)),
        ("next week Wednesday 2-4pm", la(11, 25, 14)),
    ],
)
def test_a_day_of_next_week(text: str, start: datetime) -> None:
    window = parse(text)
    assert window.start == start
    assert "of next week (Monday to Sunday)" in window.notes[-1]


def test_this_weekend_across_dst_changes() -> None:
    # Los Angeles falls back on Sun 1 Nov 2026: that weekend lasts 49 real hours.
    window = parse("this weekend", now=la(10, 28, 9))
    assert (window.start, window.end) == (la(10, 31), la(11, 2))
    assert window.duration == timedelta(hours=49)
    assert any("really lasts 2d 1h" in note for note in window.notes)
    # Berlin springs forward on Sun 29 Mar 2026: 47 hours.
    window = parse("next weekend", tz=BERLIN, now=wall(BERLIN, 2026, 3, 18, 9))
    assert (window.start, window.end) == (
        wall(BERLIN, 2026, 3, 28),
        wall(BERLIN, 2026, 3, 30),
    )
    assert window.duration == timedelta(hours=47)
    # Sydney springs forward on Sun 4 Oct 2026, Auckland on Sun 27 Sep 2026.
    window = parse("this weekend", tz=SYDNEY, now=wall(SYDNEY, 2026, 9, 30, 9))
    assert window.duration == timedelta(hours=47)
    window = parse("this weekend", tz=AUCKLAND, now=wall(AUCKLAND, 2026, 9, 23, 9))
    assert window.duration == timedelta(hours=47)
    # Lord Howe moves its clock by half an hour.
    window = parse("this weekend", tz=LORD_HOWE, now=wall(LORD_HOWE, 2026, 9, 30, 9))
    assert window.duration == timedelta(hours=47, minutes=30)


@pytest.mark.parametrize(
    "text",
    [
        "this weekend 2-4am",
        "next week 2-4am",
        "this weekend for 2h",
        "this weekend to Monday 6am",
        "Friday 6pm to next weekend",
    ],
)
def test_a_weekend_or_week_takes_no_time(text: str) -> None:
    message = rejection(text)
    assert "whole days" in message
    assert '"Saturday 22:00 to Monday 06:00"' in message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Saturday this weekend", "two days"),
        ("this week", '"this" needs a weekday or "weekend"'),
        ("next month", "no date or time"),
        ("next year 2-4am", '"next" needs a weekday or "weekend"'),
    ],
)
def test_bad_week_words(text: str, reason: str) -> None:
    assert reason in rejection(text)


# --------------------------------------------------------------------------------------------
# Ordinal days.

ORDINALS: list[tuple[str, datetime, datetime, datetime]] = [
    # (text, now, start, end)
    ("the 5th 2-4am", NOW, la(12, 5, 2), la(12, 5, 4)),
    ("on the 20th 2-4am", NOW, la(11, 20, 2), la(11, 20, 4)),
    ("the 18th 2-4pm", NOW, la(11, 18, 14), la(11, 18, 16)),  # today, still ahead
    ("the 18th 2-4am", NOW, la(12, 18, 2), la(12, 18, 4)),  # today's passed: next month
    ("the 31st", NOW, la(12, 31), la(1, 1, y=2027)),  # November has no 31st
    ("the 5th to the 7th", NOW, la(12, 5), la(12, 8)),
    ("the 30th to the 2nd", NOW, la(11, 30), la(12, 3)),
    ("Saturday the 5th 2-4am", NOW, la(12, 5, 2), la(12, 5, 4)),
    ("first Sunday of January 2-6am", NOW, la(1, 3, 2, y=2027), la(1, 3, 6, y=2027)),
    ("1st Sunday of January 2-6am", NOW, la(1, 3, 2, y=2027), la(1, 3, 6, y=2027)),
    ("the first Monday in February", NOW, la(2, 1, y=2027), la(2, 2, y=2027)),
    ("last Sunday of the month", NOW, la(11, 29), la(11, 30)),
    ("last Sunday of the month 2-4am", NOW, la(11, 29, 2), la(11, 29, 4)),
    ("last Friday of this month 22:00-23:00", NOW, la(11, 27, 22), la(11, 27, 23)),
    ("first Sunday of next month 2-6am", NOW, la(12, 6, 2), la(12, 6, 6)),
    ("second Tuesday of December 2-4am", NOW, la(12, 8, 2), la(12, 8, 4)),
    # Today is the third Wednesday of November, but 02:00 has passed: next year's.
    ("third Wednesday of November 2-4am", NOW, la(11, 17, 2, y=2027), la(11, 17, 4, y=2027)),
    ("third Wednesday of November 2-4pm", NOW, la(11, 18, 14), la(11, 18, 16)),
    ("fourth Thursday of November 2-4am", NOW, la(11, 26, 2), la(11, 26, 4)),
    ("first Sunday of January 2027 2-6am", NOW, la(1, 3, 2, y=2027), la(1, 3, 6, y=2027)),
    ("last Sunday of December 2027", NOW, la(12, 26, y=2027), la(12, 27, y=2027)),
    # Said after this month's last Sunday: next month's.
    ("last Sunday of the month", la(11, 30, 9), la(12, 27), la(12, 28)),
]


@pytest.mark.parametrize(("text", "now", "start", "end"), ORDINALS, ids=[c[0] for c in ORDINALS])
def test_ordinal_days(text: str, now: datetime, start: datetime, end: datetime) -> None:
    window = parse(text, now=now)
    assert (window.start, window.end) == (start, end)


def test_first_sunday_of_october_in_sydney_and_lord_howe_is_their_dst_day() -> None:
    # Sydney springs forward at 02:00 on Sun 4 Oct 2026; Lord Howe at 02:00 by 30 minutes.
    said = utc(2026, 9, 1)
    message = rejection("first Sunday of October 2:30-4am", tz=SYDNEY, now=said)
    assert "DST gap is 02:00–02:59" in message
    assert parse(examples(message)[-1], tz=SYDNEY, now=said).start == wall(SYDNEY, 2026, 10, 4, 3)
    message = rejection("first Sunday of October 2:10-4am", tz=LORD_HOWE, now=said)
    assert "DST gap is 02:00–02:29" in message
    window = parse("first Sunday of October 1-4am", tz=LORD_HOWE, now=said)
    assert window.duration == timedelta(hours=2, minutes=30)


def test_last_sunday_of_september_in_auckland_is_spring_forward() -> None:
    said = utc(2026, 9, 1)
    message = rejection("last Sunday of September 2:30-4am", tz=AUCKLAND, now=said)
    assert "does not exist in Pacific/Auckland" in message
    assert parse(examples(message)[-1], tz=AUCKLAND, now=said).start == wall(
        AUCKLAND, 2026, 9, 27, 3
    )
    # And the first Sunday of April falls back: 02:00-03:00 happens twice.
    window = parse("first Sunday of April 2-3am Auckland time", now=utc(2026, 3, 20))
    assert window.start == utc(2026, 4, 4, 13)  # 02:00 NZDT, the first time round
    assert window.duration == timedelta(hours=2)
    assert any("happens twice" in note for note in window.notes)


@pytest.mark.parametrize(
    ("text", "reason", "example"),
    [
        ("5th 2-4am", "needs a month", '"the 5th 2-4am"'),
        ("the 32nd 2-4am", "not a day of the month", '"Saturday 2-4am"'),
        ("first Sunday 2-4am", "needs a month", '"first Sunday of January 2-6am"'),
        ("last Sunday 2-4am", "already past", '"Sunday 2-4am"'),
        ("first of January", "needs a weekday and a month", '"last Sunday of the month"'),
        ("fifth Monday of February", "February 2027 has no fifth Monday", '"last Monday of'),
        ("first Sunday of the week", "needs a month", '"first Sunday of January 2-6am"'),
        ("first Sunday of January 2026", "already past", '"now for 2h"'),
        ("Friday the 5th 2-4am", "is a Saturday, not a Friday", '"Sat 5 Dec 2-4am"'),
    ],
)
def test_bad_ordinal_days(text: str, reason: str, example: str) -> None:
    message = rejection(text)
    assert reason in message
    assert example in message


# --------------------------------------------------------------------------------------------
# Number words for durations.

LENGTHS: list[tuple[str, timedelta]] = [
    ("now for an hour", timedelta(hours=1)),
    ("now for half an hour", timedelta(minutes=30)),
    ("now for two hours", timedelta(hours=2)),
    ("now for an hour and a half", timedelta(minutes=90)),
    ("now for two and a half hours", timedelta(minutes=150)),
    ("now for 1 and a half hours", timedelta(minutes=90)),
    ("now for forty-five minutes", timedelta(minutes=45)),
    ("now for ninety minutes", timedelta(minutes=90)),
    ("now for a day and a half", timedelta(hours=36)),
    ("now for three days", timedelta(days=3)),
    ("now for an hour and twenty minutes", timedelta(minutes=80)),
]


@pytest.mark.parametrize(("text", "length"), LENGTHS)
def test_number_words_for_durations(text: str, length: timedelta) -> None:
    window = parse(text)
    assert (window.start, window.duration) == (NOW, length)


def test_number_words_after_in() -> None:
    window = parse("in two hours for an hour and a half")
    assert (window.start, window.end) == (la(11, 18, 12), la(11, 18, 13, 30))
    window = parse("in half an hour for forty-five minutes")
    assert (window.start, window.end) == (la(11, 18, 10, 30), la(11, 18, 11, 15))


@pytest.mark.parametrize("text", ["now for two", "now for an", "now for a half"])
def test_a_number_word_without_unit_is_no_length(text: str) -> None:
    assert 'After "for" I expected a length' in rejection(text)


# --------------------------------------------------------------------------------------------
# End of day is not a time.


@pytest.mark.parametrize(
    "text",
    [
        "now until EOD",
        "now until eod",
        "today 2pm to COB",
        "tomorrow 9am till end of day",
        "now until the end of the day",
        "now until close of business",
        "db failover now to EOB",
    ],
)
def test_end_of_day_words_ask_for_a_clock_time(text: str) -> None:
    message = rejection(text)
    assert "is not a clock time" in message
    assert '"now until 17:00"' in message
    assert parse("now until 17:00").end == la(11, 18, 17)


# --------------------------------------------------------------------------------------------
# The end's own day is the first such day on or after the start's.

ENDS: list[tuple[str, datetime, datetime, datetime]] = [
    ("Fri 6pm to Mon 6am", NOW, la(11, 20, 18), la(11, 23, 6)),
    ("Sat 22:00 to Sat 23:00", NOW, la(11, 21, 22), la(11, 21, 23)),
    ("Dec 30 - Jan 2", NOW, la(12, 30), la(1, 3, y=2027)),
    ("Dec 30 22:00 to Jan 2 06:00", NOW, la(12, 30, 22), la(1, 2, 6, y=2027)),
    ("Sunday 22:00 to Wednesday 02:00", NOW, la(11, 22, 22), la(11, 25, 2)),
]


@pytest.mark.parametrize(("text", "now", "start", "end"), ENDS)
def test_the_end_day_is_on_or_after_the_start_day(
    text: str, now: datetime, start: datetime, end: datetime
) -> None:
    window = parse(text, now=now)
    assert (window.start, window.end) == (start, end)


def test_dec_20_to_jan_5_is_too_long_not_reversed() -> None:
    said = la(12, 13, 9, y=2025)
    message = rejection("Dec 20 to Jan 5", now=said)
    assert "would last 17d" in message
    assert "Sat 20 Dec 2025 00:00 PST to Tue 6 Jan 2026 00:00 PST" in message
    assert "before the start" not in message


def test_an_end_before_the_start_on_the_same_day_is_still_reversed() -> None:
    assert "before the start" in rejection("Saturday 23:00 to Saturday 01:00")


# --------------------------------------------------------------------------------------------
# am/pm on the start only: the end is the first such clock time after the start.

CARRIED: list[tuple[str, datetime, datetime]] = [
    ("Sat 9pm-1", la(11, 21, 21), la(11, 22, 1)),
    ("11am-1", la(11, 18, 11), la(11, 18, 13)),
    ("Sat 9am-5", la(11, 21, 9), la(11, 21, 17)),
    ("Sat 2pm-2", la(11, 21, 14), la(11, 22, 2)),
    ("Sat 1pm-12", la(11, 21, 13), la(11, 22, 0)),
    ("Sat 10pm-11", la(11, 21, 22), la(11, 21, 23)),
    ("Sat 11:30pm-12:30", la(11, 21, 23, 30), la(11, 22, 0, 30)),
]


@pytest.mark.parametrize(("text", "start", "end"), CARRIED)
def test_am_pm_on_the_start_only(text: str, start: datetime, end: datetime) -> None:
    window = parse(text)
    assert (window.start, window.end) == (start, end)


# --------------------------------------------------------------------------------------------
# Suggested texts give the window the message promises.


def test_a_past_date_in_a_dst_gap_is_reported_as_past() -> None:
    # 2:30 on 8 Mar 2026 never existed in New York, and it is past: say it is past, and do
    # not suggest "Mar 8 03:00", which would be next year's.
    said = utc(2026, 11, 18)
    message = rejection("Mar 8 2026 2:30-3:30am", tz=NY, now=said)
    assert "already past" in message
    assert "Mar 8 03:00" not in message


def test_a_gap_suggestion_keeps_the_year_typed() -> None:
    said = utc(2026, 11, 18)  # the gap on Sun 14 Mar 2027 is ahead
    message = rejection("Mar 14 2027 2:30-3:30am", tz=NY, now=said)
    [suggested] = examples(message)[-1:]
    assert suggested == "Mar 14 03:00 for 1h"  # Mar 14 said now is already 2027
    assert parse(suggested, tz=NY, now=said).start == wall(NY, 2027, 3, 14, 3)
    said = utc(2026, 3, 1)  # now "Mar 14" would be 2026's, which has no gap at 02:30
    message = rejection("Mar 14 2027 2:30-3:30am", tz=NY, now=said)
    suggested = examples(message)[-1]
    assert suggested == "Mar 14 2027 03:00 for 1h"
    assert parse(suggested, tz=NY, now=said).start == wall(NY, 2027, 3, 14, 3)


def test_a_gap_suggestion_keeps_the_zone_typed() -> None:
    said = utc(2026, 3, 1)
    message = rejection("Mar 8 2:30-4am America/New_York", tz=LA, now=said)
    suggested = examples(message)[-1]
    assert suggested.endswith(" America/New_York")
    assert parse(suggested, tz=LA, now=said).start == wall(NY, 2026, 3, 8, 3)


def test_a_weekday_check_suggestion_keeps_the_year_typed() -> None:
    message = rejection("Friday Dec 5 2027 2-4am")
    assert "Sun 5 Dec 2027 is a Sunday, not a Friday" in message
    suggested = examples(message)[-1]
    assert parse(suggested).start == la(12, 5, 2, y=2027)


# --------------------------------------------------------------------------------------------
# The JSON of parse and check name the title; plan takes it as the window's title.


def test_parse_json_has_the_title(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bot.cli import main

    now = "2026-11-18T10:00:00-08:00"
    code = main(["parse", "db failover tmrw 22:00-23:00 pls", "--tz", LA, "--now", now, "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "start": "2026-11-20T06:00:00+00:00",
        "end": "2026-11-20T07:00:00+00:00",
        "tz": LA,
        "notes": [],
        "title": "db failover",
    }
    assert main(["parse", "db failover tmrw 22:00-23:00", "--tz", LA, "--now", now]) == 0
    assert capsys.readouterr().out.startswith('"db failover": Thu 19 Nov 2026 22:00 – 23:00')


@pytest.mark.parametrize(
    ("text", "title"),
    [("Sat 2am db failover", "db failover"), ("Sat 2am - db failover", "db failover")],
)
def test_the_no_end_suggestion_goes_before_the_title(text: str, title: str) -> None:
    message = rejection(text)
    window = parse(examples(message)[0])
    assert (window.start, window.duration, window.title) == (
        la(11, 21, 2),
        timedelta(hours=2),
        title,
    )


def test_a_dash_setting_a_title_off_is_no_range() -> None:
    for text in ("Saturday 2-4am - db failover", "db failover - Sat 2-4am"):
        window = parse(text)
        assert (window.start, window.end, window.title) == (
            la(11, 21, 2),
            la(11, 21, 4),
            "db failover",
        )
