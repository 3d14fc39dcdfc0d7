"""How fast are window texts in other languages, and what does their vocabulary cost?
Prints figures; asserts nothing.

    .venv/bin/python bench/bench_languages.py [--rounds N] [--compare]

1. The first foreign call in a fresh interpreter (it loads CLDR's data through Babel for
   the languages it tries), and ``import bot.windows`` with and without Babel in the
   process afterwards.
2. Parse time per foreign text (median, p99, worst) over texts in five languages, with the
   user's language given and without it (every language is tried).
3. With ``--compare`` (needs dateparser installed; it is not a dependency): how many of the
   contract's words each source knows, what each costs to load, and dateparser's weekday
   forms that are everyday words.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
import unicodedata
from datetime import UTC, datetime

from bot.errors import WindowError
from bot.windows import parse_window, warm_up

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
TZ = "Europe/Paris"

TEXTS = [
    ("fr", "samedi 2h-4h"),
    ("fr", "demain 22h30-23h"),
    ("fr", "ce soir 23h-1h"),
    ("fr", "de 2h à 4h samedi"),
    ("fr", "le 24 décembre 2h-4h"),
    ("fr", "samedi 14h pendant 2h"),
    ("de", "Samstag 2-4 Uhr"),
    ("de", "am Samstag von 2 bis 4 Uhr"),
    ("de", "heute Nacht 23-1 Uhr"),
    ("de", "24.12.2026 14.30-16.00 Uhr"),
    ("de", "morgen früh 2-4 Uhr"),
    ("es", "sábado de 2 a 4"),
    ("es", "mañana de 2 a 4 de la tarde"),
    ("es", "esta noche de 11 de la noche a 1"),
    ("es", "24 de diciembre de 2 a 4"),
    ("pt", "sábado das 2 às 4"),
    ("pt", "hoje à noite 23h-1h"),
    ("pt", "24 de dezembro das 2h às 4h"),
    ("ja", "土曜日 2時から4時"),
    ("ja", "12月24日 午後2時から4時"),
    ("ja", "明日2時から2時間"),
    # Rejections cost something too.
    ("fr", "hier 2h-4h"),
    ("ja", "星期六 2時から4時"),
    ("de", "Samstag 11 Uhr nachts bis 1 Uhr"),
    ("es", "mar 2-4"),
    ("ja", "土" * 200),
]

# The contract's words (and the am/pm, noon/midnight and unit words around them).
CONTRACT_WORDS = {
    "fr": ["samedi", "sam", "demain", "après-demain", "aujourd'hui", "décembre", "déc",
           "ce soir", "maintenant", "du matin", "du soir", "minuit", "midi", "heures"],
    "de": ["samstag", "sa", "morgen", "übermorgen", "heute", "dezember", "dez",
           "heute nacht", "jetzt", "morgens", "abends", "nachts", "mitternacht", "stunden"],
    "es": ["sábado", "sáb", "mañana", "pasado mañana", "hoy", "diciembre", "dic",
           "esta noche", "ahora", "de la mañana", "de la tarde", "de la noche", "horas"],
    "pt": ["sábado", "sáb", "amanhã", "depois de amanhã", "hoje", "dezembro", "dez",
           "hoje à noite", "agora", "da manhã", "da tarde", "da noite", "meia-noite", "horas"],
    "ja": ["土曜日", "土", "明日", "明後日", "今日", "12月", "今夜", "今", "午前", "午後",
           "正午", "時間"],
}  # fmt: skip


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _fresh(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def first_call_costs() -> None:
    code = (
        "import time, sys\n"
        "t = time.perf_counter(); import bot.windows; t1 = time.perf_counter()\n"
        "from datetime import datetime, UTC\n"
        "now = datetime(2026, 11, 18, 9, tzinfo=UTC)\n"
        "bot.windows.parse_window('samedi 2h-4h', tz='UTC', now=now, languages=('fr',))\n"
        "t2 = time.perf_counter()\n"
        "bot.windows.parse_window('土曜日 2時から4時', tz='UTC', now=now)\n"
        "t3 = time.perf_counter()\n"
        "print(f'{(t1-t)*1e3:.1f} {(t2-t1)*1e3:.1f} {(t3-t2)*1e3:.1f} {\"babel\" in sys.modules}')"
    )
    runs = [_fresh(code).split() for _ in range(5)]
    imp, first_fr, first_all = (statistics.median(float(r[i]) for r in runs) for i in range(3))
    print(f"import bot.windows: {imp:.1f} ms (Babel not loaded: {runs[0][3] == 'True'} after)")
    print(f"first French call (imports Babel, loads fr): {first_fr:.1f} ms")
    print(f"first Japanese call without a locale (loads de, es, pt, ja too): {first_all:.1f} ms")
    babel = [
        float(
            _fresh(
                "import time; t = time.perf_counter(); import babel; "
                "print((time.perf_counter() - t) * 1e3)"
            )
        )
        for _ in range(5)
    ]
    print(f"  of which `import babel`: {statistics.median(babel):.1f} ms")


def parse_times(rounds: int) -> None:
    started = time.perf_counter()
    warm_up()
    print(f"warm_up() in this process (loads the five vocabularies): "
          f"{(time.perf_counter() - started) * 1e3:.1f} ms")  # fmt: skip
    for label, with_locale in (("with the user's language", True), ("no locale", False)):
        samples: list[float] = []
        worst = (0.0, "")
        for _ in range(rounds):
            for language, text in TEXTS:
                languages = (language,) if with_locale else ()
                started = time.perf_counter_ns()
                with contextlib.suppress(WindowError):
                    parse_window(text, tz=TZ, now=NOW, languages=languages)
                micros = (time.perf_counter_ns() - started) / 1000
                samples.append(micros)
                worst = max(worst, (micros, text))
        print(
            f"{label}: {len(TEXTS)} texts x {rounds} rounds: median "
            f"{statistics.median(samples):.1f} us, p99 {_percentile(samples, 0.99):.1f} us, "
            f"worst {worst[0]:.1f} us ({worst[1][:30]!r})"
        )


def compare_sources() -> None:
    import importlib

    from bot import vocabulary

    def norm(word: str) -> str:
        return unicodedata.normalize("NFKC", word).casefold().replace("\u2019", "'")

    languages = tuple(CONTRACT_WORDS)
    timer = "import time; t = time.perf_counter(); {}; print((time.perf_counter() - t) * 1e3)"
    dateparser_ms = statistics.median(
        float(_fresh(timer.format(
            f"import importlib; [importlib.import_module("
            f"'dateparser.data.date_translation_data.' + l) for l in {languages!r}]"
        )))
        for _ in range(5)
    )  # fmt: skip
    touch = (
        "from babel import Locale; [(x.days, x.months, x.day_periods, x.day_period_rules, "
        "x._data['date_fields'], x._data['unit_patterns']) for x in map(Locale.parse, {!r})]"
    )
    cldr_ms = statistics.median(
        float(_fresh(timer.format(touch.format(languages)))) for _ in range(5)
    )
    print(
        f"load five languages in a fresh interpreter: dateparser's data {dateparser_ms:.0f} ms "
        f"(imports the dateparser package, regex, pytz, tzlocal), CLDR via Babel {cldr_ms:.0f} ms"
    )
    modules = {
        language: importlib.import_module(f"dateparser.data.date_translation_data.{language}")
        for language in CONTRACT_WORDS
    }
    cldr = {
        language: {key for key, _ in vocabulary._cldr_entries(language)}
        for language in CONTRACT_WORDS
    }
    for language, words in CONTRACT_WORDS.items():
        info = modules[language].info
        dp: set[str] = set()
        for key, value in info.items():
            if key in ("skip", "pertain", "simplifications", "locale_specific", "name"):
                continue
            if isinstance(value, list):
                dp |= {norm(v) for v in value if isinstance(v, str)}
            elif isinstance(value, dict) and key == "relative-type":
                dp |= {norm(v) for values in value.values() for v in values}
        known_dp = [w for w in words if norm(w) in dp]
        known_cldr = [w for w in words if norm(w) in cldr[language]]
        print(
            f"  {language}: contract words known: dateparser {len(known_dp)}/{len(words)}, "
            f"CLDR {len(known_cldr)}/{len(words)}; missing from dateparser: "
            f"{[w for w in words if w not in known_dp]}, from CLDR: "
            f"{[w for w in words if w not in known_cldr]}"
        )
        names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        weekdays = [norm(v) for day in names for v in info.get(day, [])]
        extra = sorted(set(weekdays) - cldr[language])
        print(f"     dateparser weekday forms CLDR does not have: {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    first_call_costs()
    parse_times(args.rounds)
    if args.compare:
        compare_sources()


if __name__ == "__main__":
    main()
