"""The ``maintbot`` command line (see design.md for the binding interface).

Every verb is parse, one call on the application (:mod:`bot.service`), render. The verbs
live by group: :mod:`bot.cli.check` (parse, check, sandbox), :mod:`bot.cli.suggest`
(suggest), :mod:`bot.cli.windows` (plan, windows, approve, reject, cancel, end, extend,
retry, take-over),
:mod:`bot.cli.scope` (scope, and the scope options of plan), :mod:`bot.cli.tasks`
(pause, resume, status, audit), :mod:`bot.cli.calendar` (calendar), :mod:`bot.cli.serve`
(serve, worker) and :mod:`bot.cli.db` (db migrate, db copy).

Exit codes: 0 success, 2 bad input (with what to type instead), 1 anything else (with a
message, never a bare traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bot import __version__

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["build_parser", "main", "write_sandbox_config"]

log = logging.getLogger("bot")

Verb = Callable[[argparse.Namespace, "Settings"], int]


def __getattr__(name: str) -> Any:
    # The verbs (and what they import: the application, the HTTP stack, the store) load
    # with the parser, not with this package: `maintbot --version` needs none of them.
    if name == "write_sandbox_config":
        from bot.cli.check import write_sandbox_config

        return write_sandbox_config
    raise AttributeError(name)


def build_parser() -> argparse.ArgumentParser:
    from bot.cli import calendar, check, db, scope, series, serve, suggest, tasks, windows

    parser = argparse.ArgumentParser(
        prog="maintbot",
        description="Find scheduled jobs that collide with a maintenance window; pause and "
        "resume them.",
    )
    parser.add_argument("--version", action="version", version=f"maintbot {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for group in (check, suggest, windows, series, scope, tasks, calendar, serve, db):
        group.register(sub)
    return parser


def _log_level() -> str:
    from bot.errors import ConfigError

    name = os.environ.get("MAINTBOT_LOG_LEVEL", "WARNING").strip().upper()
    if name not in logging.getLevelNamesMapping():
        raise ConfigError(
            "MAINTBOT_LOG_LEVEL is not a log level; use DEBUG, INFO, WARNING or ERROR"
        )
    return name


def _configure_logging(settings: Settings) -> None:
    from bot.logs import configure_logging

    secrets = [
        s.get_secret_value() if s is not None else None
        for s in (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token)
    ]
    configure_logging(_log_level(), settings.maintbot_log_format, secrets=secrets)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb. Exit 0, a MaintbotError's own code (2 for bad input), 130 on Ctrl-C,
    and 1 with one line and a reference for anything unexpected: never a traceback."""
    given = sys.argv[1:] if argv is None else list(argv)
    if given == ["--version"]:
        print(f"maintbot {__version__}")  # before the verbs and all they import
        return 0
    from bot.errors import MaintbotError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or its error (exit 2)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    verb: Verb = args.func
    from bot.runtime import tune_gc

    tune_gc()
    try:
        _log_level()  # a bad level is refused before anything else is read
        # Only now: `--help` and usage errors have answered without pydantic and the rest.
        from bot.config import load_settings

        settings = load_settings()
        _configure_logging(settings)
        return verb(args, settings)
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
