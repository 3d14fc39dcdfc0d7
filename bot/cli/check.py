"""``parse``, ``check`` and ``sandbox``: reading a window, checking it, the simulators."""

from __future__ import annotations

import argparse
import json
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from bot.cli.options import add_by, add_config_options, bounded, clock_from, run_on_bot, the_name
from bot.errors import ConfigError, WindowError

if TYPE_CHECKING:
    from bot.config import Config, Settings
    from bot.model import Window

    # Imported where used: the grammar and dateutil's rrule stay out of the other verbs.
    from bot.series import Series
    from bot.service import Maintbot, StoredCheck

__all__ = [
    "cmd_check",
    "cmd_parse",
    "cmd_report",
    "cmd_sandbox",
    "register",
    "write_sandbox_config",
]


MAX_SHOWN = 100
"""The most occurrences ``--occurrences`` shows or checks at once."""


def register(sub: Any) -> None:
    p = sub.add_parser("parse", help="show how a window text is read")
    p.add_argument("text")
    p.add_argument("--tz", help="IANA zone the text is read in (default MAINTBOT_TZ or UTC)")
    p.add_argument("--now", help="reference instant, ISO-8601 with offset (default: now)")
    p.add_argument("--json", action="store_true")
    _add_occurrences(p)
    _add_locale(p)
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("check", help="list the task runs that collide with a window")
    p.add_argument("text")
    p.add_argument("--tz")
    p.add_argument("--now")
    add_config_options(p)
    add_by(p, required=False)
    _add_all(p)
    _add_occurrences(p)
    _add_locale(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("report", help="a stored check again, by its id (c_…; Slack's pages)")
    p.add_argument("check_id", metavar="CHECK_ID")
    p.add_argument("--json", action="store_true")
    _add_all(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("sandbox", help="run the simulated schedulers on loopback")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--port",
        # Four simulators take PORT, PORT+1, PORT+2 and PORT+3.
        type=bounded(int, 0, 65532, example="--port 8000 (or 0: free ones)"),
        default=0,
        help="first port (default: ephemeral)",
    )
    p.add_argument("--write-config", metavar="FILE")
    p.add_argument(
        "--latency-ms",
        type=bounded(float, 0, 60_000, unit="milliseconds", example="--latency-ms 40"),
        default=0.0,
    )
    p.add_argument("--scale", type=bounded(int, 1, 1000, example="--scale 10"), default=1)
    p.set_defaults(func=cmd_sandbox)


def _add_all(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--all",
        action="store_true",
        help="list every task that may fire at an unknown time, not one line per system "
        "(Slack's “Show them”)",
    )


def _add_occurrences(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--occurrences",
        type=bounded(int, 1, MAX_SHOWN, example="--occurrences 5"),
        default=3,
        metavar="N",
        help="on a recurring text, how many occurrences to show (default 3)",
    )


def _add_locale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--locale",
        metavar="LOCALE",
        help="your language, as Slack names it (fr-FR, de-DE, es-ES, pt-BR, ja-JP): a text "
        "in it is read as its English counterpart, and the echo names days and months in it "
        "(default: English)",
    )


def _read(text: str, tz: str, now: datetime, locale: str | None = None) -> Window | Series:
    """A one-off window or, for a recurring text, a series."""
    from bot.series import parse_series
    from bot.windows import parse_window

    languages = (locale,) if locale else ()
    series = parse_series(text, tz=tz, now=now, languages=languages)
    if series is not None:
        return series
    return parse_window(text, tz=tz, now=now, languages=languages)


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    from bot.model import Window
    from bot.series import occurrences, series_json, series_lines
    from bot.windows import echo_lines

    tz = args.tz or settings.maintbot_tz
    now = clock_from(args)()
    try:
        window = _read(args.text, tz, now, args.locale)
    except WindowError as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}))
            return 2
        raise
    if not isinstance(window, Window):
        shown = occurrences(window, after=now, count=args.occurrences)
        if args.json:
            print(json.dumps(series_json(window, shown)))
        else:
            print("\n".join(series_lines(window, shown)))
        return 0
    if args.json:
        print(
            json.dumps(
                {
                    "start": window.start.isoformat(),
                    "end": window.end.isoformat(),
                    "tz": window.tz,
                    "notes": list(window.notes),
                    **({"title": window.title} if window.title else {}),
                }
            )
        )
    else:
        print("\n".join(echo_lines(window, locale=args.locale)))
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.model import Window
    from bot.render import conflict_table
    from bot.windows import echo_lines, warm_up

    warm_up()
    by = the_name(args)
    now = clock_from(args)()
    # Read before any scheduler or the store is opened: a bad text costs nothing.
    window = _read(args.text, args.tz or settings.maintbot_tz, now, args.locale)
    if not isinstance(window, Window):
        return _check_series(args, settings, window, now, by)

    async def check(bot: Maintbot) -> StoredCheck:
        return await bot.check(window, by=by)

    stored = run_on_bot(args, settings, check, need="demo", doing="checking")
    if args.json:
        print(json.dumps(stored.report.to_json(), indent=2))
    else:
        again = f"`maintbot report {stored.id} --all`"
        echo = echo_lines(window, locale=args.locale)
        print(conflict_table(stored.report, echo, show_unknown=args.all, again=again))
        print(f"\nreport {stored.id}")
    return 0 if all(s.ok for s in stored.systems) else 1


def _check_series(
    args: argparse.Namespace, settings: Settings, series: Series, now: datetime, by: str
) -> int:
    """The check once per occurrence, one after another (not at once: each asks every
    scheduler, and their rate limits are per minute). An occurrence that cannot happen is
    reported with its reason and not checked."""
    from bot.render import conflict_table
    from bot.series import occurrences, series_json, series_lines
    from bot.windows import echo_lines

    shown = occurrences(series, after=now, count=args.occurrences)

    async def check(bot: Maintbot) -> list[StoredCheck | None]:
        return [await bot.check(o.window, by=by) if o.window is not None else None for o in shown]

    stored = run_on_bot(args, settings, check, need="demo", doing="checking")
    ok = all(s.ok for one in stored if one is not None for s in one.systems)
    if args.json:
        document = series_json(series, shown)
        for item, one in zip(document["occurrences"], stored, strict=True):
            if one is not None:
                report = one.report.to_json()
                item.update(check=one.id, systems=report["systems"], conflicts=report["conflicts"])
        print(json.dumps(document, indent=2))
        return 0 if ok else 1
    print("\n".join(series_lines(series, shown)))
    for number, (occurrence, one) in enumerate(zip(shown, stored, strict=True), start=1):
        print(f"\n## Occurrence {number} of {len(shown)}")
        if one is None or occurrence.window is None:
            print(f"{occurrence.day:%a %-d %b %Y}: not checked: {occurrence.problem}")
            continue
        again = f"`maintbot report {one.id} --all`"
        print(
            conflict_table(
                one.report, echo_lines(occurrence.window), show_unknown=args.all, again=again
            )
        )
        print(f"\nreport {one.id}")
    return 0 if ok else 1


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render import conflict_table
    from bot.windows import echo_lines

    async def report(bot: Maintbot) -> StoredCheck:
        return bot.report(args.check_id)

    stored = run_on_bot(args, settings, report, need="store")
    if args.json:
        print(json.dumps({"id": stored.id, **stored.report.to_json()}, indent=2))
    else:
        print(
            conflict_table(
                stored.report,
                echo_lines(stored.window),
                pauses=stored.pauses,
                show_unknown=args.all,
                again=f"`maintbot report {stored.id} --all`",
            )
        )
    return 0


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox import SandboxServer, make_simulators, sandbox_config

    target = Path(args.write_config) if args.write_config else None
    if target is not None and not target.parent.is_dir():
        raise ConfigError(
            f"--write-config {target}: the directory {target.parent} does not exist; "
            "create it or write the file elsewhere, e.g. --write-config maintbot.toml"
        )
    sims = make_simulators(scale=args.scale)
    for sim in sims:
        sim.faults.latency_ms = args.latency_ms
    server = SandboxServer(sims, host=args.host, port=args.port)
    try:
        server.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on --host {args.host} --port {args.port} and the next "
            f"{len(sims) - 1} ports ({exc.strerror or exc}); choose another --port, or 0 "
            "for free ones"
        ) from None
    try:
        for sim in sims:
            print(f"{sim.vendor:8} {sim.base_url}   (state: {sim.base_url}/_sandbox/state)")
        if target is not None:
            try:
                write_sandbox_config(target, sandbox_config(sims))
            except OSError as exc:
                raise ConfigError(
                    f"cannot write --write-config {target} ({exc.strerror or exc}); "
                    "choose a writable path"
                ) from None
            print(f"wrote {target} (credentials in {target}.env)")
        print("Sandbox running; Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def write_sandbox_config(path: Path, config: Config) -> None:
    """Write a maintbot.toml for the running sandbox, and its demo credentials beside it."""
    env_path = path.with_name(path.name + ".env")
    env_path.write_text("".join(f"{k}={v}\n" for k, v in sorted(config.extra_env.items())))
    document = {
        "maintbot": {
            "deadline_seconds": config.maintbot.deadline_seconds,
            "env_file": env_path.name,
        },
        "schedulers": {
            name: cfg.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
            | {"vendor": cfg.vendor, "base_url": cfg.base_url}
            for name, cfg in config.schedulers.items()
        },
    }
    path.write_text(tomli_w.dumps(document))
