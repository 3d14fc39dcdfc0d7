"""``maintbot serve [--socket-mode] [--host H] [--port N]``: the Slack app and the window
clock on one event loop. Bolt is imported only when the verb runs."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from bot.config import Settings

__all__ = ["cmd_serve", "register"]


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the Slack app and the window clock")
    p.add_argument(
        "--socket-mode",
        action="store_true",
        help="connect to Slack over a WebSocket (needs SLACK_APP_TOKEN) instead of HTTP",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="port (default 3000; 0: any free one)")
    p.add_argument("--config", help="maintbot.toml (default MAINTBOT_CONFIG or ./maintbot.toml)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import _config_or_none, open_store
    from bot.sandbox import SandboxServer, make_simulators, sandbox_config

    _require_secrets(settings, socket_mode=args.socket_mode)
    config = _config_or_none(args, settings)
    sandbox: SandboxServer | None = None
    if config is None:
        sandbox = SandboxServer(make_simulators(scale=1))
        sandbox.start()
        config = sandbox_config(sandbox.simulators)
        where = ", ".join(f"{s.vendor} {s.base_url}" for s in sandbox.simulators)
        print(
            f"No maintbot.toml found: serving against the built-in sandbox ({where}).",
            file=sys.stderr,
            flush=True,
        )
    store = open_store(settings)
    try:
        asyncio.run(_main(args, settings, config, store))
    finally:
        store.close()
        if sandbox is not None:
            sandbox.stop()
    return 0


def _require_secrets(settings: Settings, *, socket_mode: bool) -> None:
    """Refuse to start without what Slack needs, before anything else is started."""
    from bot.errors import ConfigError

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
            stop=stop,
            on_ready=lambda where: print(
                f"maintbot: serving on {where}", file=sys.stderr, flush=True
            ),
        )
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))
