"""The ``maintbot`` command line (see design.md for the binding interface).

Exit codes: 0 success, 2 bad input (with what to type instead), 1 anything else (with a
message, never a bare traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import tomli_w

from bot import __version__
from bot.check import check_window, open_schedulers
from bot.clock import Clock, system_clock
from bot.config import Config, Settings, load_config
from bot.errors import ConfigError, MaintbotError, WindowError
from bot.render import conflict_table, table
from bot.sandbox import SandboxServer, make_simulators, sandbox_config
from bot.store import Store

__all__ = ["main"]

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


def _config_or_none(args: argparse.Namespace, settings: Settings) -> Config | None:
    """The configured schedulers, or ``None`` when nothing is configured (sandbox demo)."""
    explicit = getattr(args, "config", None)
    path = Path(explicit or settings.maintbot_config)
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist")
        return None
    config = load_config(path)
    if not config.schedulers:
        raise ConfigError(f"{path} configures no [schedulers.<name>] table")
    return config


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.windows import echo_lines, warm_up

    clock = _clock_from(args)
    tz = args.tz or settings.maintbot_tz
    warm_up()
    window = _parse(args.text, tz, clock)
    config = _config_or_none(args, settings)
    sandbox: SandboxServer | None = None
    if config is None:
        sandbox = SandboxServer(make_simulators(scale=1))
        sandbox.start()
        config = sandbox_config(sandbox.simulators)
        where = ", ".join(f"{s.vendor} {s.base_url}" for s in sandbox.simulators)
        print(
            f"No maintbot.toml found: checking the built-in sandbox ({where}).",
            file=sys.stderr,
        )
    try:
        report = asyncio.run(_run_check(window, config, clock))
    finally:
        if sandbox is not None:
            sandbox.stop()
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
    sims = make_simulators(scale=args.scale)
    for sim in sims:
        sim.faults.latency_ms = args.latency_ms
    server = SandboxServer(sims, host=args.host, port=args.port)
    server.start()
    try:
        for sim in sims:
            print(f"{sim.vendor:8} {sim.base_url}   (state: {sim.base_url}/_sandbox/state)")
        if args.write_config:
            write_sandbox_config(Path(args.write_config), sandbox_config(sims))
            print(f"wrote {args.write_config} (credentials in {args.write_config}.env)")
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
    return Store(settings.maintbot_db)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 1:
        raise ConfigError("--limit must be at least 1; try --limit 20")
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
    p.add_argument("--config", help="maintbot.toml (default MAINTBOT_CONFIG or ./maintbot.toml)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("sandbox", help="run the simulated schedulers on loopback")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="first port (default: ephemeral)")
    p.add_argument("--write-config", metavar="FILE")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--scale", type=int, default=1)
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("audit", help="the audit trail, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=os.environ.get("MAINTBOT_LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    verb: Verb = args.func
    try:
        return verb(args, settings)
    except MaintbotError as exc:
        print(f"maintbot {args.verb}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the promise: a message, never a bare traceback
        log.debug("unexpected error", exc_info=True)
        print(
            f"maintbot {args.verb}: unexpected {type(exc).__name__}; "
            "run with MAINTBOT_LOG_LEVEL=DEBUG for details",
            file=sys.stderr,
        )
        return 1
