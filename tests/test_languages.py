"""Window texts in French, German, Spanish, Portuguese and Japanese (the "Other languages"
rules of ../shared/window-conventions.md, version 2).

Each foreign text must mean what its English counterpart means: both are parsed at the same
*now* in the same zone and the windows compared, so the English grammar's rules (rollover,
am/pm carrying, DST) are the reference, never numbers worked out by the code under test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import WindowError
from bot.vocabulary import LANGUAGES, known_words, language_of, to_grammar
from bot.windows import MAX_TEXT_LENGTH, echo_lines, parse_window

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)  # Wed 18 Nov 2026, morning in Europe
ZONES = ("Europe/Paris", "Europe/Berlin", "Europe/Madrid", "America/Sao_Paulo", "Asia/Tokyo")
AKL = "Pacific/Auckland"
EXAMPLE = re.compile(r'(Try|e\.g\.|For example) "')


def same_window(foreign: str, english: str, *, language: str, tz: str, now: datetime) -> None:
    got = parse_window(foreign, tz=tz, now=now, languages=(language,))
    want = parse_window(english, tz=tz, now=now)
    assert (got.start, got.end, got.tz) == (want.start, want.end, want.tz), (
        f"{foreign!r} read as {to_grammar(foreign, (language,)).text!r}"
    )
    assert got.text == foreign  # the window keeps what the user wrote


# (language, text, English counterpart): the contract's words and forms in each language.
# fmt: off
CONTRACT = [
    # French: day words, relative days, tonight, months, clock forms, range words, am/pm.
    ("fr", "samedi 2h-4h", "Saturday 2:00-4:00"),
    ("fr", "Samedi 2h à 4h", "Saturday 2:00 to 4:00"),
    ("fr", "sam. 22h30-23h", "Sat 22:30-23:00"),
    ("fr", "demain 22h30-23h", "tomorrow 22:30-23:00"),
    ("fr", "après-demain 2h-4h", "day after tomorrow 2-4"),
    ("fr", "aujourd'hui 22h-23h", "today 22:00-23:00"),
    ("fr", "ce soir 23h-1h", "tonight 23:00-01:00"),
    ("fr", "de 2h à 4h samedi", "from 2:00 to 4:00 Saturday"),
    ("fr", "entre 2h et 4h samedi", "between 2 and 4 Saturday"),
    ("fr", "le 24 décembre 2h-4h", "Dec 24 2-4"),
    ("fr", "24 déc. 2h-4h", "Dec 24 2-4"),
    ("fr", "24.12. 2h-4h", "Dec 24 2-4"),
    ("fr", "du 24 au 26 décembre", "Dec 24-26"),
    ("fr", "samedi 2h du matin à 4h", "Saturday 2am-4"),
    ("fr", "samedi 14h pendant 2h", "Saturday 14:00 for 2h"),
    ("fr", "dans 2 heures pendant 30 minutes", "in 2 hours for 30 minutes"),
    ("fr", "samedi prochain 2h-4h", "next Saturday 2-4"),
    ("fr", "maintenant pendant 1 heure", "now for 1 hour"),
    ("fr", "samedi minuit à 2h", "Saturday midnight to 2:00"),
    # German.
    ("de", "Samstag 2-4 Uhr", "Saturday 2-4"),
    ("de", "SAMSTAG 2 Uhr bis 4 Uhr", "Saturday 2:00 to 4:00"),
    ("de", "Sa 2-4 Uhr", "Sat 2-4"),
    ("de", "am Samstag von 2 bis 4 Uhr", "Saturday from 2 to 4"),
    ("de", "morgen 22:00-23:00", "tomorrow 22:00-23:00"),
    ("de", "übermorgen 2-4 Uhr", "day after tomorrow 2-4"),
    ("de", "heute Nacht 23-1 Uhr", "tonight 23:00-01:00"),
    ("de", "heute 22 bis 23 Uhr", "today 22-23"),
    ("de", "24.12. 2-4 Uhr", "Dec 24 2-4"),
    ("de", "24.12.2026 14.30-16.00 Uhr", "Dec 24 2026 14:30-16:00"),
    ("de", "24. Dezember 2-4 Uhr", "Dec 24 2-4"),
    ("de", "zwischen 2 und 4 Uhr am Samstag", "between 2 and 4 on Saturday"),
    ("de", "Samstag 2 Uhr nachts bis 4 Uhr", "Saturday 2am to 4:00"),
    ("de", "Samstag 14 Uhr für 2 Stunden", "Saturday 14:00 for 2 hours"),
    ("de", "in 3 Tagen 2-4 Uhr", "in 3 days 2-4"),
    # Spanish.
    ("es", "sábado de 2 a 4", "Saturday from 2 to 4"),
    ("es", "Sábado 2-4", "Saturday 2-4"),
    ("es", "sabado 2-4", "Saturday 2-4"),
    ("es", "mañana de 2 a 4 de la tarde", "tomorrow 2-4pm"),
    ("es", "mañana de 10 de la mañana a 12", "tomorrow 10am-12"),
    ("es", "pasado mañana de 2 a 4", "day after tomorrow 2-4"),
    ("es", "esta noche de 11 de la noche a 1", "tonight 11pm-1am"),
    ("es", "hoy de 22 a 23", "today 22-23"),
    ("es", "24 de diciembre de 2 a 4", "Dec 24 2-4"),
    ("es", "el sábado a las 2 durante 2 horas", "Saturday 2:00 for 2 hours"),
    ("es", "mañana 9 de la noche a 11 de la noche", "tomorrow 9pm-11pm"),
    ("es", "desde las 2 hasta las 4 el domingo", "from 2 until 4 Sunday"),
    ("es", "entre las 2 y las 4 del sábado", "between 2 and 4 Saturday"),
    ("es", "24.12. 2-4", "Dec 24 2-4"),
    # Portuguese.
    ("pt", "sábado das 2 às 4", "Saturday from 2 to 4"),
    ("pt", "sábado de 2h a 4h", "Saturday 2-4"),
    ("pt", "amanhã 22h às 23h", "tomorrow 22:00-23:00"),
    ("pt", "depois de amanhã 2h-4h", "day after tomorrow 2-4"),
    ("pt", "hoje à noite 23h-1h", "tonight 23:00-01:00"),
    ("pt", "hoje 22h-23h", "today 22:00-23:00"),
    ("pt", "sexta 22h às 23h", "Friday 22:00-23:00"),
    ("pt", "segunda-feira das 2h às 4h", "Monday 2-4"),
    ("pt", "24 de dezembro das 2h às 4h", "Dec 24 2-4"),
    ("pt", "amanhã das 2 às 4 da tarde", "tomorrow 2-4pm"),
    ("pt", "sábado às 14h durante 2 horas", "Saturday 14:00 for 2 hours"),
    ("pt", "24.12. 2h-4h", "Dec 24 2-4"),
    # Japanese: no spaces, counters after numbers, am/pm before the time.
    ("ja", "土曜日 2時から4時", "Saturday 2-4"),
    ("ja", "土曜日2時から4時まで", "Saturday 2-4"),
    ("ja", "明日 22時〜23時", "tomorrow 22:00-23:00"),
    ("ja", "明後日 2時〜4時", "day after tomorrow 2-4"),
    ("ja", "今日 22時から23時", "today 22-23"),
    ("ja", "今夜 23時から1時", "tonight 23:00-01:00"),
    ("ja", "12月24日 2時から4時", "Dec 24 2-4"),
    ("ja", "2026年12月24日 2時から4時", "Dec 24 2026 2-4"),
    ("ja", "12月24日 午後2時から4時", "Dec 24 2pm-4pm"),
    ("ja", "明日 午前2時〜4時", "tomorrow 2am-4am"),
    ("ja", "土曜日 2時30分から4時", "Saturday 2:30-4:00"),
    ("ja", "土曜日 2時半から4時", "Saturday 2:30-4:00"),
    ("ja", "２時から４時", "2-4"),
    ("ja", "明日2時から2時間", "tomorrow 2:00 for 2 hours"),
    ("ja", "2時間後から1時間", "in 2 hours for 1 hour"),
    ("ja", "24.12. 2時から4時", "Dec 24 2-4"),
]
# fmt: on


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize(("language", "text", "english"), CONTRACT)
def test_a_foreign_text_gives_the_window_of_its_english_counterpart(
    language: str, text: str, english: str, tz: str
) -> None:
    same_window(text, english, language=language, tz=tz, now=NOW)


@pytest.mark.parametrize(
    ("language", "text", "english"), [case for case in CONTRACT if not case[1].isascii()]
)
def test_a_text_with_foreign_letters_is_read_whatever_the_users_locale(
    language: str, text: str, english: str
) -> None:
    got = parse_window(text, tz="Europe/Paris", now=NOW, languages=("en-US",))
    assert got == parse_window(text, tz="Europe/Paris", now=NOW, languages=(language,))


def test_morgen_frueh_is_tomorrow_early() -> None:
    # "early" next to a day is a word of the English grammar's version 2: whatever that
    # grammar makes of "tomorrow early 2-4", the German text gets the same.
    assert to_grammar("morgen früh 2-4 Uhr", ("de",)).text == "tomorrow early 2-4:00"
    outcomes = []
    for text, languages in (("morgen früh 2-4 Uhr", ("de",)), ("tomorrow early 2-4", ())):
        try:
            window = parse_window(text, tz="Europe/Berlin", now=NOW, languages=languages)
        except WindowError as err:
            outcomes.append(str(err).rsplit('"early"', 1)[0][-14:])
        else:
            outcomes.append(str((window.start, window.end)))
    assert outcomes[0] == outcomes[1]


# --------------------------------------------------------------------------------------------
# Daylight-saving weeks: the same window, the same DST notes, the same gap errors.

# (zone, now, language, text, English counterpart)
# fmt: off
DST_WEEKS = [
    # Europe: clocks go back on Sun 25 Oct 2026 (03:00 → 02:00) and forward on Sun 29 Mar.
    ("Europe/Paris", datetime(2026, 10, 21, 9, tzinfo=UTC), "fr", "dimanche 1h-4h", "Sunday 1-4"),
    ("Europe/Paris", datetime(2026, 10, 21, 9, tzinfo=UTC), "fr",
     "samedi 23h à dimanche 4h", "Saturday 23:00 to Sunday 04:00"),
    ("Europe/Paris", datetime(2026, 3, 25, 9, tzinfo=UTC), "fr", "dimanche 1h-4h", "Sunday 1-4"),
    ("Europe/Berlin", datetime(2026, 10, 21, 9, tzinfo=UTC), "de", "Sonntag 1-4 Uhr", "Sunday 1-4"),
    ("Europe/Berlin", datetime(2026, 3, 25, 9, tzinfo=UTC), "de",
     "29.3. 1-4 Uhr", "Mar 29 1-4"),
    ("Europe/Madrid", datetime(2026, 10, 21, 9, tzinfo=UTC), "es",
     "domingo de 1 a 4", "Sunday 1-4"),
    ("Europe/Madrid", datetime(2026, 3, 25, 9, tzinfo=UTC), "es",
     "el domingo de 1 a 4 de la mañana", "Sunday 1-4am"),
    # São Paulo has had no DST since 2019, Tokyo none at all: the same rules, no notes.
    ("America/Sao_Paulo", datetime(2026, 11, 4, 12, tzinfo=UTC), "pt",
     "domingo das 0h às 2h", "Sunday 0:00-2:00"),
    ("America/Sao_Paulo", datetime(2026, 2, 18, 12, tzinfo=UTC), "pt",
     "amanhã 23h-1h", "tomorrow 23:00-01:00"),
    ("Asia/Tokyo", datetime(2026, 3, 25, 0, tzinfo=UTC), "ja", "日曜日 1時から4時", "Sunday 1-4"),
    # Auckland: back on Sun 5 Apr 2026 (03:00 → 02:00), forward on Sun 27 Sep (02:00 → 03:00).
    (AKL, datetime(2026, 4, 1, 0, tzinfo=UTC), "fr", "dimanche 1h-4h", "Sunday 1-4"),
    (AKL, datetime(2026, 4, 1, 0, tzinfo=UTC), "ja", "日曜日 1時から4時", "Sunday 1-4"),
    (AKL, datetime(2026, 9, 23, 0, tzinfo=UTC), "de", "Sonntag 1-4 Uhr", "Sunday 1-4"),
    (AKL, datetime(2026, 9, 23, 0, tzinfo=UTC), "es", "domingo de 1 a 4", "Sunday 1-4"),
    (AKL, datetime(2026, 9, 23, 0, tzinfo=UTC), "pt", "domingo das 1h às 4h", "Sunday 1-4"),
]
# fmt: on


@pytest.mark.parametrize(("tz", "now", "language", "text", "english"), DST_WEEKS)
def test_dst_weeks_give_the_english_window_and_notes(
    tz: str, now: datetime, language: str, text: str, english: str
) -> None:
    got = parse_window(text, tz=tz, now=now, languages=(language,))
    want = parse_window(english, tz=tz, now=now)
    assert (got.start, got.end, got.notes) == (want.start, want.end, want.notes)


@pytest.mark.parametrize(
    ("tz", "now", "language", "text"),
    [
        ("Europe/Paris", datetime(2026, 3, 25, 9, tzinfo=UTC), "fr", "dimanche 2h30-3h30"),
        ("Europe/Berlin", datetime(2026, 3, 25, 9, tzinfo=UTC), "de", "Sonntag 2.30-3.30 Uhr"),
        ("Europe/Madrid", datetime(2026, 3, 25, 9, tzinfo=UTC), "es", "domingo de 2:30 a 3:30"),
        ("Pacific/Auckland", datetime(2026, 9, 23, 0, tzinfo=UTC), "ja", "日曜日 2時半から3時半"),
    ],
)
def test_a_time_in_the_spring_forward_gap_is_the_english_error(
    tz: str, now: datetime, language: str, text: str
) -> None:
    with pytest.raises(WindowError) as foreign:
        parse_window(text, tz=tz, now=now, languages=(language,))
    assert "does not exist" in str(foreign.value)
    assert "02:30" in str(foreign.value)
    assert EXAMPLE.search(str(foreign.value))


# --------------------------------------------------------------------------------------------
# Which language, and English left alone


@pytest.mark.parametrize(
    "english",
    ["Saturday 2-4am", "Mar 5 2-4am", "tomorrow 9-10am", "Dec 24-26", "now for 2h", "2-4am"],
)
@pytest.mark.parametrize("locale", [(), ("en-US",), ("fr-FR",), ("de-DE",), ("ja-JP",)])
def test_english_texts_keep_their_meaning_whatever_the_locale(
    english: str, locale: tuple[str, ...]
) -> None:
    if english == "Mar 5 2-4am" and locale == ("fr-FR",):
        # French "mar." is mardi: a French user's "mar" is Tuesday (see the next test).
        english = "March 5 2-4am"
    got = parse_window(english, tz="Europe/Paris", now=NOW, languages=locale)
    assert got == parse_window(english, tz="Europe/Paris", now=NOW)


def test_the_users_language_is_tried_first() -> None:
    # "mar" is mardi (Tuesday) in French, and both martes and marzo in Spanish.
    tuesday = parse_window("mar 2h-4h", tz="Europe/Paris", now=NOW, languages=("fr-FR",))
    assert tuesday == parse_window("Tuesday 2-4", tz="Europe/Paris", now=NOW).model_copy(
        update={"text": "mar 2h-4h"}
    )
    with pytest.raises(WindowError, match=r'"mar" can be martes or marzo in Spanish'):
        parse_window("mar 2-4", tz="Europe/Madrid", now=NOW, languages=("es-ES",))


@pytest.mark.parametrize(
    ("locale", "language"),
    [("fr-FR", "fr"), ("pt_BR", "pt"), ("ja-JP", "ja"), ("de", "de"), ("", None), (None, None)],
)
def test_language_of_a_locale(locale: str | None, language: str | None) -> None:
    assert language_of(locale) == language


def test_accents_case_and_full_width_are_normalised() -> None:
    for text, language in (
        ("SÁBADO de 2 a 4", "es"),
        ("sabado de 2 a 4", "es"),
        ("Ｓａｍｓｔａｇ ２−４ Ｕｈｒ", "de"),
        ("土曜日 ２時から４時", "ja"),
    ):
        got = parse_window(text, tz="Europe/Paris", now=NOW, languages=(language,))
        assert (got.start, got.end) == (
            parse_window("Saturday 2-4", tz="Europe/Paris", now=NOW).start,
            parse_window("Saturday 2-4", tz="Europe/Paris", now=NOW).end,
        ), text


# --------------------------------------------------------------------------------------------
# Bad inputs: each a clear message that names the word and shows a text that works.

BAD = [
    # (text, languages, words the message must contain)
    ("星期六 2時から4時", (), ['"星期六"', "Japanese"]),
    ("samedi 2h-4h près", ("fr",), ['"près"']),
    ("Samstag 2-4 Uhr Ärger", ("de",), ['"ärger"']),
    ("hier 2h-4h", ("fr",), ['"hier" is in the past']),
    ("gestern 2-4 Uhr", ("de",), ['"gestern" is in the past']),
    ("ayer de 2 a 4", ("es",), ['"ayer" is in the past']),
    ("ontem 2h-4h", ("pt",), ['"ontem" is in the past']),
    ("昨日 2時から4時", ("ja",), ['"昨日" is in the past']),
    ("mar 2-4", ("es",), ['"mar" can be martes or marzo']),
    ("Samstag 11 Uhr nachts bis 1 Uhr", ("de",), ['not "nachts"', "00:00–05:00"]),
    ("sábado de la tarde", ("es",), ['"de la tarde" needs a clock time']),
    ("samedi 2h", ("fr",), ['I read "samedi 2h" (French) as "saturday 2:00"', "no end"]),
    ("土曜日 2時", ("ja",), ["(Japanese)", "no end"]),
    ("samedi vers 2h-4h", ("fr",), ['"around"']),
    ("Samstag nicht 2-4 Uhr", ("de",), ['"not"']),
    ("hier", ("fr",), ['"hier" is in the past']),
]


@pytest.mark.parametrize(("text", "languages", "needles"), BAD)
def test_bad_foreign_texts_are_clear_errors(
    text: str, languages: tuple[str, ...], needles: list[str]
) -> None:
    with pytest.raises(WindowError) as caught:
        parse_window(text, tz="Europe/Paris", now=NOW, languages=languages)
    message = str(caught.value)
    for needle in needles:
        assert needle in message, message
    assert EXAMPLE.search(message), message


# --------------------------------------------------------------------------------------------
# The echo in the user's language


@pytest.mark.parametrize(
    ("text", "language", "english"),
    [
        ("samedi 2-4am", "French", "saturday"),
        ("morgen 22:00-23:00", "German", "tomorrow"),
        ("2-4am domingo", "Spanish", "sunday"),
        ("amanha 2-4am", "Portuguese", "tomorrow"),
        ("janvier 5 2-4am", "French", "january"),
    ],
)
def test_a_foreign_day_word_is_never_taken_for_a_title(
    text: str, language: str, english: str
) -> None:
    # Without that language among the user's, the word would otherwise be the title of a
    # bare "2-4am": another day than the one meant. It is refused, naming the language.
    with pytest.raises(WindowError) as refused:
        parse_window(text, tz="Europe/Paris", now=NOW)
    message = str(refused.value)
    assert f'is {language} for "{english}"' in message
    assert f"{english.capitalize()} 2-4am" in message
    # English titles with words that only look alike stay titles.
    titled = parse_window("Sam's patch Saturday 2-4am", tz="Europe/Paris", now=NOW)
    assert titled.title == "Sam's patch"


def test_the_echo_names_days_and_months_in_the_users_locale() -> None:
    window = parse_window("土曜日 23時から1時", tz="Asia/Tokyo", now=NOW, languages=("ja",))
    assert echo_lines(window, locale="ja-JP")[0] == (
        "2026年11月21日(土) 23:00 – 2026年11月22日(日) 01:00 JST (Asia/Tokyo)"
    )
    assert echo_lines(window, locale="fr-FR")[0] == (
        "sam. 21 nov. 2026 23:00 – dim. 22 nov. 2026 01:00 JST (Asia/Tokyo)"
    )
    assert echo_lines(window, locale="de-DE")[1] == "Sa., 21. Nov. 2026 14:00 – 16:00 UTC"
    english = echo_lines(window)
    assert english[0] == "Sat 21 Nov 2026 23:00 – Sun 22 Nov 2026 01:00 JST (Asia/Tokyo)"
    assert echo_lines(window, locale="en-US") == english
    assert echo_lines(window, locale="xx-YY") == english


# --------------------------------------------------------------------------------------------
# Bounded: any text, any script, gives a window or a WindowError


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for language in LANGUAGES:
        words |= known_words(language)
    return sorted(words)


STRUCTURE = [
    "2", "4", "14", "23", "2h", "22h30", "2 uhr", "14.30", "24.12.", "31.2.", "2時", "2時半",
    "12月", "24日", "2時間", "後", "午前", "午後", "から", "〜", "-", "to", "am", "pm", "for",
    "in", "utc", "Europe/Paris", "２", "：", ".", "星", "é",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    words=st.lists(st.sampled_from(_vocabulary() + STRUCTURE), min_size=0, max_size=12),
    glue=st.sampled_from([" ", ""]),
    languages=st.lists(st.sampled_from(["fr-FR", "de-DE", "es", "pt-BR", "ja-JP", "en-US"])),
    tz=st.sampled_from([*ZONES, "Pacific/Auckland"]),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2080, 1, 1), timezones=st.just(UTC)
    ),
)
def test_vocabulary_texts_give_a_window_or_a_clear_error(
    words: list[str], glue: str, languages: list[str], tz: str, now: datetime
) -> None:
    _check_total(glue.join(words), languages, tz, now)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=MAX_TEXT_LENGTH + 20),
    languages=st.lists(st.sampled_from(["fr", "de", "es", "pt", "ja", "en"]), max_size=2),
)
def test_any_text_in_any_script_gives_a_window_or_a_clear_error(
    text: str, languages: list[str]
) -> None:
    _check_total(text, languages, "Europe/Paris", NOW)


def _check_total(text: str, languages: list[str], tz: str, now: datetime) -> None:
    try:
        window = parse_window(text, tz=tz, now=now, languages=languages)
    except WindowError as err:
        message = str(err)
    else:
        message = ""
    if message:
        assert EXAMPLE.search(message), message
        return
    assert window.start >= now
    assert window.start < window.end
    assert window.end - window.start <= timedelta(days=14)
    assert echo_lines(window, locale=languages[0] if languages else None)


def test_import_does_not_load_the_language_data() -> None:
    code = "import sys, bot.windows, bot.cli; print('babel' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_command_line_reads_a_text_in_the_language_given_by_locale(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    now = ["--tz", "Europe/Paris", "--now", NOW.isoformat(), "--json"]
    for text, english in (
        ("samedi 2h-4h", "Saturday 2-4am"),
        ("tous les samedis 2h-4h", "every Saturday 2-4am"),
        ("毎週土曜日 2時から4時", "every Saturday 2-4am"),
    ):
        assert main(["parse", english, *now]) == 0
        expected = json.loads(capsys.readouterr().out)
        assert main(["parse", text, "--locale", "fr-FR", *now]) == 0
        got = json.loads(capsys.readouterr().out)
        assert {k: v for k, v in got.items() if k != "title"} == {
            k: v for k, v in expected.items() if k != "title"
        }, text
    assert main(["parse", "samedi 2h-4h", "--tz", "Europe/Paris"]) == 2
    assert "--locale" in capsys.readouterr().err
    assert main(["parse", "samedi 2h-4h", "--locale", "fr-FR", "--tz", "Europe/Paris",
                 "--now", NOW.isoformat()]) == 0  # fmt: skip
    assert capsys.readouterr().out.startswith("sam. 21 nov. 2026 02:00")
