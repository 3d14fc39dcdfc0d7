"""The ``maintbot`` command line (see design.md for the binding interface).

Exit codes: 0 success, 2 bad input (with what to type instead), 1 anything else (with a
message, never a bare traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import tomli_w

from bot import __version__
from bot.check import check_window, open_schedulers
from bot.clock import Clock, system_clock
from bot.config import Config, Settings, load_config, load_settings
from bot.errors import ConfigError, MaintbotError, WindowError
from bot.render import conflict_table, table
from bot.store import Store

__all__ = [
    "add_config_options",
    "bounded",
    "configured",
    "main",
    "open_store",
    "scheduler_config",
]

log = logging.getLogger("bot")

Verb = Callable[[argparse.Namespace, Settings], int]


def _clock_from(args: argparse.Namespace) -> Clock:
    if getattr(args, "now", None) is None:
        return system_clock
    try:
        fixed = datetime.fromisoformat(args.now)
    except ValueError:
        raise WindowError(
            f"--now {args.now!r} is not an ISO-8601 instant; try --now 2026-11-18T10:00:00-08:00"
        ) from None
    if fixed.tzinfo is None:
        raise WindowError(f"--now {args.now!r} has no offset; try --now 2026-11-18T10:00:00-08:00")
    return lambda: fixed


def _parse(text: str, tz: str, clock: Clock) -> Any:
    from bot.windows import parse_window

    return parse_window(text, tz=tz, now=clock())


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    from bot.windows import echo_lines

    tz = args.tz or settings.maintbot_tz
    try:
        window = _parse(args.text, tz, _clock_from(args))
    except WindowError as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}))
            return 2
        raise
    if args.json:
        print(
            json.dumps(
                {
                    "start": window.start.isoformat(),
                    "end": window.end.isoformat(),
                    "tz": window.tz,
                    "notes": list(window.notes),
                }
            )
        )
    else:
        print("\n".join(echo_lines(window)))
    return 0


# -- which schedulers: the configured ones, or the simulators when asked -------------------
def add_config_options(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` or ``--sandbox`` (not both), for the verbs that talk to schedulers."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--config", help="maintbot.toml (default MAINTBOT_CONFIG or ./maintbot.toml)"
    )
    group.add_argument(
        "--sandbox",
        action="store_true",
        help="use the built-in simulated schedulers instead of any maintbot.toml (a demo)",
    )


def configured(args: argparse.Namespace, settings: Settings) -> Config | None:
    """The configured schedulers, or ``None`` when nothing is configured: no ``--config``,
    no ``MAINTBOT_CONFIG``, no ``./maintbot.toml``. A file that is *named* must exist."""
    explicit = getattr(args, "config", None)
    if explicit is not None:
        path, named_by = Path(explicit), "--config names it"
    else:
        path = Path(settings.maintbot_config)
        # Set in the environment or .env (the Dockerfile sets it): a forgotten volume must
        # be an error, never a quiet fall-back to simulated schedulers.
        if "maintbot_config" in settings.model_fields_set:
            named_by = "MAINTBOT_CONFIG names it"
        elif not path.exists():
            return None
        else:
            named_by = "the default"
    if not path.exists():
        raise ConfigError(
            f"config file {path} does not exist ({named_by}); create it (a maintbot.toml "
            "like the README's) or name the right file"
        )
    config = load_config(path)
    if not config.schedulers:
        raise ConfigError(f"{path} configures no [schedulers.<name>] table")
    return config


_NOTHING_CONFIGURED = (
    "no scheduler is configured: there is no ./maintbot.toml and neither MAINTBOT_CONFIG "
    "nor --config names one. Create a maintbot.toml like the README's (Configuration), or "
    "for a demo run `maintbot sandbox --write-config maintbot.toml` (or add --sandbox to "
    "use the built-in simulators)"
)


@contextmanager
def scheduler_config(
    args: argparse.Namespace, settings: Settings, *, doing: str, demo_if_unconfigured: bool
) -> Iterator[Config]:
    """The one place that chooses between real schedulers and the built-in simulators.

    The simulators run (for the block) only with ``--sandbox``, or when nothing is
    configured and ``demo_if_unconfigured`` (``check`` alone: it changes nothing). Either
    way stderr says so, with ``doing`` ("checking", "serving against", …)."""
    if getattr(args, "sandbox", False):
        reason = "--sandbox"
    else:
        config = configured(args, settings)
        if config is not None:
            yield config
            return
        if not demo_if_unconfigured:
            raise ConfigError(_NOTHING_CONFIGURED)
        reason = "No maintbot.toml found"
    from bot.sandbox import SandboxServer, make_simulators, sandbox_config

    sandbox = SandboxServer(make_simulators(scale=1))
    sandbox.start()
    try:
        where = ", ".join(f"{s.vendor} {s.base_url}" for s in sandbox.simulators)
        print(f"{reason}: {doing} the built-in sandbox ({where}).", file=sys.stderr, flush=True)
        yield sandbox_config(sandbox.simulators)
    finally:
        sandbox.stop()


# -- numeric options ------------------------------------------------------------------------
def bounded(
    kind: type[int] | type[float],
    low: float,
    high: float,
    *,
    example: str,
    low_open: bool = False,
    unit: str = "",
) -> Callable[[str], Any]:
    """An argparse ``type``: a finite number of ``kind`` in range, or argparse's exit 2
    with what to type (``nan``, ``inf``, ``1e999`` and ``-1`` are all refused)."""
    what = "a whole number" if kind is int else "a number"
    if unit:
        what += f" of {unit}"
    span = f"more than {_plain(low)}" if low_open else f"from {_plain(low)}"

    def convert(text: str) -> Any:
        value: float | None
        try:
            # ASCII only: int() also reads other scripts' digits, which nobody types here.
            value = kind(text.strip()) if text.isascii() else None
        except (ValueError, OverflowError):
            value = None
        if (
            value is None
            or not math.isfinite(value)
            or (value <= low if low_open else value < low)
            or value > high
        ):
            shown = text if len(text) <= 24 else text[:24] + "…"
            raise argparse.ArgumentTypeError(
                f"{shown!r} is not {what} {span} to {_plain(high)}; e.g. {example}"
            )
        return value

    return convert


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.windows import echo_lines, warm_up

    clock = _clock_from(args)
    tz = args.tz or settings.maintbot_tz
    warm_up()
    window = _parse(args.text, tz, clock)
    with scheduler_config(args, settings, doing="checking", demo_if_unconfigured=True) as config:
        report = asyncio.run(_run_check(window, config, clock))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(conflict_table(report, echo_lines(window)))
    return 0 if all(s.ok for s in report.systems) else 1


async def _run_check(window: Any, config: Config, clock: Clock) -> Any:
    schedulers = open_schedulers(config, clock)
    try:
        return await check_window(window, schedulers, clock)
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))


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


def open_store(settings: Settings) -> Store:
    return Store(settings.maintbot_db, busy_timeout=settings.maintbot_db_busy_timeout)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        rows = store.audit_rows(args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return 0
    if not rows:
        print("The audit log is empty.")
        return 0
    print(
        table(
            ["when (UTC)", "who", "action", "target", "outcome", "error"],
            [
                [
                    r.at.strftime("%Y-%m-%d %H:%M:%S"),
                    r.actor,
                    r.action,
                    ":".join(x for x in (r.system, r.task_id) if x) or (r.window_id or "-"),
                    r.outcome,
                    r.error or "",
                ]
                for r in rows
            ],
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maintbot",
        description="Find scheduled jobs that collide with a maintenance window; pause and "
        "resume them.",
    )
    parser.add_argument("--version", action="version", version=f"maintbot {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = sub.add_parser("parse", help="show how a window text is read")
    p.add_argument("text")
    p.add_argument("--tz", help="IANA zone the text is read in (default MAINTBOT_TZ or UTC)")
    p.add_argument("--now", help="reference instant, ISO-8601 with offset (default: now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("check", help="list the task runs that collide with a window")
    p.add_argument("text")
    p.add_argument("--tz")
    p.add_argument("--now")
    add_config_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

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

    p = sub.add_parser("audit", help="the audit trail, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=bounded(int, 1, 1_000_000, example="--limit 20"), default=50)
    p.set_defaults(func=cmd_audit)

    _add_extension_verbs(sub)
    return parser


def _add_extension_verbs(sub: Any) -> None:
    """Verbs implemented beside their domain (Slack app, window lifecycle)."""
    for module_name in ("bot.slack.cli", "bot.lifecycle_cli"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(sub)


def _configure_logging() -> None:
    name = os.environ.get("MAINTBOT_LOG_LEVEL", "WARNING").strip().upper()
    if name not in logging.getLevelNamesMapping():
        raise ConfigError(
            "MAINTBOT_LOG_LEVEL is not a log level; use DEBUG, INFO, WARNING or ERROR"
        )
    logging.basicConfig(
        level=name,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb. Exit 0, a MaintbotError's own code (2 for bad input), 130 on Ctrl-C,
    and 1 with one line and a reference for anything unexpected: never a traceback."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or its error (exit 2)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    verb: Verb = args.func
    try:
        _configure_logging()
        return verb(args, load_settings())
    except MaintbotError as exc:
        print(f"maintbot {args.verb}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the promise: a message, never a bare traceback
        # Only the type is shown: an unexpected message may quote anything, secrets too.
        # The reference ties this line to the traceback in a DEBUG log.
        reference = secrets.token_hex(4)
        log.debug("unexpected error, reference %s", reference, exc_info=True)
        print(
            f"maintbot {args.verb}: unexpected {type(exc).__name__} (reference {reference}); "
            "run again with MAINTBOT_LOG_LEVEL=DEBUG to log the details",
            file=sys.stderr,
        )
        return 1
