"""``maintbot serve [--socket-mode] [--host H] [--port N] [--no-clock] [--config FILE |
--sandbox]``: the Slack app and the window clock on one event loop. Bolt is imported only
when the verb runs."""

from __future__ import annotations

import argparse
import asyncio
import errno
import signal
import socket
import sys
from typing import Any

from bot.cli import add_config_options, bounded, open_store, scheduler_config
from bot.config import Settings
from bot.errors import ConfigError
from bot.lifecycle import clock_deadlines

__all__ = ["cmd_serve", "register"]


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the Slack app and the window clock")
    p.add_argument(
        "--socket-mode",
        action="store_true",
        help="connect to Slack over a WebSocket (needs SLACK_APP_TOKEN) instead of HTTP",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=bounded(int, 0, 65535, example="--port 3000 (or 0: any free one)"),
        default=3000,
        help="port (default 3000; 0: any free one)",
    )
    p.add_argument(
        "--no-clock",
        action="store_true",
        help="serve Slack only; pauses and resumes are left to a `maintbot worker`",
    )
    add_config_options(p)
    p.set_defaults(func=cmd_serve)


# What a bind failure looks like: the address is taken, not ours, or not a name at all.
_BIND_ERRORS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    _require_secrets(settings, socket_mode=args.socket_mode)
    with scheduler_config(
        args, settings, doing="serving against", demo_if_unconfigured=False
    ) as config:
        store = open_store(settings)
        try:
            asyncio.run(_main(args, settings, config, store))
        except OSError as exc:
            if not (isinstance(exc, socket.gaierror) or exc.errno in _BIND_ERRORS):
                raise
            raise ConfigError(
                f"cannot listen on --host {args.host} --port {args.port} "
                f"({exc.strerror or exc}); choose another --port (0: any free one) or --host"
            ) from None
        finally:
            store.close()
    return 0


def _require_secrets(settings: Settings, *, socket_mode: bool) -> None:
    """Refuse to start without what Slack needs, before anything else is started."""
    missing = []
    if settings.slack_bot_token is None:
        missing.append("SLACK_BOT_TOKEN (the bot token, xoxb-…)")
    if socket_mode and settings.slack_app_token is None:
        missing.append("SLACK_APP_TOKEN (an app-level token, xapp-…, with connections:write)")
    if not socket_mode and settings.slack_signing_secret is None:
        missing.append("SLACK_SIGNING_SECRET (Basic Information → App Credentials)")
    if missing:
        raise ConfigError(
            f"maintbot serve needs {' and '.join(missing)}; export it or put it in .env"
        )


async def _main(args: argparse.Namespace, settings: Settings, config: Any, store: Any) -> None:
    from bot.check import open_schedulers
    from bot.clock import system_clock
    from bot.slack.server import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.no_clock:
        print(
            "maintbot serve: --no-clock: the window clock is off in this process; windows "
            "start and end only where a `maintbot worker` (or a serve without --no-clock) "
            "runs on this database",
            file=sys.stderr,
            flush=True,
        )
    schedulers = open_schedulers(config, system_clock)
    try:
        await serve(
            settings,
            store=store,
            schedulers=schedulers,
            clock=system_clock,
            host=args.host,
            port=args.port,
            socket_mode=args.socket_mode,
            run_clock=not args.no_clock,
            clock_deadlines=clock_deadlines(config),
            stop=stop,
            on_ready=lambda where: print(
                f"maintbot: serving on {where}", file=sys.stderr, flush=True
            ),
        )
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))
