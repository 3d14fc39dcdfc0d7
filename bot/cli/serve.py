"""``serve`` (the Slack app and the window clock on one event loop) and ``worker`` (the
window clock alone). Bolt is imported only when a verb needs it."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

from bot.cli.options import add_config_options, bounded, run_on_bot
from bot.errors import ConfigError, MaintbotError
from bot.logs import JsonFormatter

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.lifecycle import Notifier
    from bot.service import Maintbot

__all__ = ["register"]

# What a bind failure looks like: the address is taken, not ours, or not a name at all.
_BIND_ERRORS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})


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
    _add_interval(p)
    add_config_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run the window clock: pause at starts, resume at ends")
    add_config_options(p)
    _add_interval(p)
    p.add_argument("--once", action="store_true", help="one tick, then exit")
    p.set_defaults(func=cmd_worker)


def _add_interval(p: Any) -> None:
    p.add_argument(
        "--interval",
        type=bounded(float, 0, 3600, low_open=True, unit="seconds", example="--interval 5"),
        default=5.0,
        metavar="SECONDS",
        help="seconds between window-clock turns (default 5)",
    )


# -- serve ----------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    _require_secrets(settings, socket_mode=args.socket_mode)
    # The token check and the configuration summary are shown unless asked not to.
    startup = logging.getLogger("bot.startup")
    if startup.getEffectiveLevel() > logging.INFO:
        startup.setLevel(logging.INFO)
    try:
        asyncio.run(_serve(args, settings))
    except OSError as exc:
        if not (isinstance(exc, socket.gaierror) or exc.errno in _BIND_ERRORS):
            raise
        raise ConfigError(
            f"cannot listen on --host {args.host} --port {args.port} "
            f"({exc.strerror or exc}); choose another --port (0: any free one) or --host"
        ) from None
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


def _say(line: str) -> None:
    """A progress line on stderr; a JSON log line when the logs are JSON (so a collector
    reading stderr sees nothing but JSON)."""
    if any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers):
        logging.getLogger("bot.startup").info("%s", line)
    else:
        print(line, file=sys.stderr, flush=True)


async def _serve(args: argparse.Namespace, settings: Settings) -> None:
    from bot.service import open_maintbot
    from bot.slack.app import SlackWiring
    from bot.slack.server import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    slack = SlackWiring.from_settings(settings)
    async with open_maintbot(
        settings,
        need="configured",
        config_file=args.config,
        sandbox=args.sandbox,
        doing="serving against",
        announce=_say,
        notifier=slack.notifier,
        approvers=slack.directory.approvers,
    ) as bot:
        if args.no_clock:
            _say(
                "maintbot serve: --no-clock: the window clock is off in this process; windows "
                "start and end only where a `maintbot worker` (or a serve without --no-clock) "
                "runs on this database"
            )
        await serve(
            bot,
            slack,
            host=args.host,
            port=args.port,
            socket_mode=args.socket_mode,
            run_clock=not args.no_clock,
            clock_interval=args.interval,
            stop=stop,
            on_ready=lambda where: _say(f"maintbot: serving on {where}"),
        )


# -- worker ---------------------------------------------------------------------------------
def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    # Alerts and per-tick summaries are the worker's output; show them unless asked not to.
    for name in ("bot.alerts", "bot.lifecycle", "bot.startup"):
        if logging.getLogger(name).getEffectiveLevel() > logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)
    return run_on_bot(
        args,
        settings,
        lambda bot: _work(args, bot),
        need="configured",
        doing="running against",
        notifier=_notifier(settings),
    )


def _notifier(settings: Settings) -> Notifier:
    """Slack when a bot token is configured, the log otherwise."""
    from bot.lifecycle import LogNotifier

    if settings.slack_bot_token is None:
        return LogNotifier()
    try:
        from bot.slack.app import make_client
        from bot.slack.notifier import SlackNotifier
    except ImportError as exc:  # pragma: no cover - the Slack extra is part of the install
        raise MaintbotError(
            f"SLACK_BOT_TOKEN is set but the Slack app is unavailable: {exc}"
        ) from None
    notifier: Notifier = SlackNotifier(make_client(settings), settings.maintbot_alert_channel)
    return notifier


async def _work(args: argparse.Namespace, bot: Maintbot) -> int:
    for scheduler in bot.schedulers:
        if scheduler.connector is None:
            logging.getLogger("bot.lifecycle").error(
                "window clock: %s is unusable: %s", scheduler.name, scheduler.error
            )
    if args.once:
        report = await bot.tick()
        print(f"maintbot worker: {report.summary()}")
        return 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _say(f"maintbot worker: window clock running every {args.interval:g} s; Ctrl-C to stop.")
    await bot.run_clock(stop, args.interval)
    _say("maintbot worker: stopped.")
    return 0
