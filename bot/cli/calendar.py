"""``maintbot calendar``: the calendar feed (RFC 5545) to stdout or a file, its secret
address, and a new address when the old one leaked."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.options import default_actor, run_on_bot
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.service import Maintbot

__all__ = ["register", "write_atomically"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "calendar",
        help="the maintenance calendar (iCalendar) to stdout or a file, or its subscription URL",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--out",
        metavar="FILE",
        help="write the feed to FILE (replaced whole: a reader never sees half a file)",
    )
    what.add_argument(
        "--url",
        action="store_true",
        help="print the feed's secret address to subscribe to (needs MAINTBOT_PUBLIC_URL)",
    )
    what.add_argument(
        "--rotate-url",
        action="store_true",
        help="replace the address's secret: every existing subscription stops working",
    )
    p.add_argument(
        "--by", metavar="NAME", help="who rotates the address (audited; default: your login name)"
    )
    p.set_defaults(func=cmd_calendar)


def cmd_calendar(args: argparse.Namespace, settings: Settings) -> int:
    if args.url:

        async def url(bot: Maintbot) -> str:
            return bot.calendar_url()

        print(run_on_bot(args, settings, url, need="store"))
        return 0
    if args.rotate_url:
        by = (args.by or "").strip() or default_actor()

        async def rotate(bot: Maintbot) -> str | None:
            return bot.rotate_calendar_url(by=by)

        new = run_on_bot(args, settings, rotate, need="store")
        print("The calendar has a new address; subscriptions to the old one stopped working.")
        print(new or "Set MAINTBOT_PUBLIC_URL and run `maintbot calendar --url` to see it.")
        return 0
    target = _checked_target(args.out) if args.out is not None else None

    async def calendar(bot: Maintbot) -> bytes:
        return bot.calendar()

    feed = run_on_bot(args, settings, calendar, need="store")
    if target is None:
        sys.stdout.buffer.write(feed)
        sys.stdout.buffer.flush()
        return 0
    try:
        write_atomically(target, feed)
    except OSError as exc:
        raise ConfigError(
            f"cannot write --out {target} ({exc.strerror or type(exc).__name__}); choose a "
            "writable path, e.g. --out maintenance.ics"
        ) from None
    return 0


def _checked_target(out: str) -> Path:
    """``--out`` refused before anything is read when it cannot be a file to replace."""
    if not out.strip():
        raise ConfigError("--out needs a file name, e.g. --out maintenance.ics")
    target = Path(out)
    if target.is_dir():
        raise ConfigError(
            f"--out {out!r} is a directory, not a file; name the file, e.g. --out maintenance.ics"
        )
    if not target.parent.is_dir():
        raise ConfigError(
            f"--out {out}: the directory {target.parent} does not exist; create it or write "
            "elsewhere, e.g. --out maintenance.ics"
        )
    return target


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, then rename it over ``target``:
    a reader (a web server publishing the file) sees the old file or the new, never a part.
    On failure the temporary file is removed and ``target`` is as it was."""
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes it 0600: keep the mode of the file replaced, or make it readable
        # (a published calendar is for reading).
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
