"""What the verbs share: numeric options, ``--config``/``--sandbox``, ``--by``, ``--now``,
and running one use case on the application opened for the verb."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import math
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bot.clock import Clock, system_clock
from bot.errors import LifecycleError, WindowError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.lifecycle import Notifier
    from bot.service import Maintbot, Need

__all__ = [
    "add_by",
    "add_config_options",
    "bounded",
    "clock_from",
    "default_actor",
    "print_json",
    "run_on_bot",
    "the_name",
]

T = TypeVar("T")


def clock_from(args: argparse.Namespace) -> Clock:
    """``--now`` as a fixed clock, or the system clock."""
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


def default_actor() -> str:
    """Who runs a verb that does not require ``--by``: the login name, for the audit."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


def add_by(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--by NAME``: who is doing it, for the policy and the audit trail."""
    if required:
        parser.add_argument("--by", required=True, metavar="NAME", help="who is doing it (audited)")
    else:
        parser.add_argument(
            "--by", metavar="NAME", help="who is doing it (audited; default: your login name)"
        )
    parser.add_argument("--json", action="store_true")


def the_name(args: argparse.Namespace) -> str:
    by = (args.by or default_actor()).strip()
    if not by:
        raise LifecycleError("--by needs a name, e.g. --by alice")
    return by


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


def _announce(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_on_bot(
    args: argparse.Namespace,
    settings: Settings,
    work: Callable[[Maintbot], Awaitable[T]],
    *,
    need: Need,
    doing: str = "using",
    notifier: Notifier | None = None,
) -> T:
    """Open the application for this verb (schedulers as ``need`` says, chosen from
    ``--config``/``--sandbox``), run ``work`` on it, and close it."""
    from bot.service import open_maintbot

    async def run() -> T:
        async with open_maintbot(
            settings,
            need=need,
            config_file=getattr(args, "config", None),
            sandbox=getattr(args, "sandbox", False),
            doing=doing,
            announce=_announce,
            clock=clock_from(args),
            notifier=notifier,
            command_line=True,
        ) as bot:
            return await work(bot)

    return asyncio.run(run())


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))
