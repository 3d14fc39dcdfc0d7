"""Serving the app: aiohttp for HTTP mode (``POST /slack/events``, ``GET /healthz``), the
aiohttp Socket Mode handler for ``--socket-mode``, and :func:`serve`, which runs the app and
the window clock on one event loop until told to stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.check import Scheduler
from bot.clock import Clock
from bot.config import Settings
from bot.errors import ConfigError
from bot.slack.app import MaintbotApp, create_app, make_client
from bot.slack.notifier import SlackNotifier
from bot.store import Store

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "Served", "serve", "start_http", "web_app"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def web_app(app: MaintbotApp, *, events: bool = True) -> web.Application:
    """The aiohttp application: Slack's requests (signature-checked by Bolt) and health."""

    async def handle_events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def handle_health(request: web.Request) -> web.Response:
        ok, detail = app.services.health()
        return web.json_response({"ok": ok, **detail}, status=200 if ok else 503)

    web_application = web.Application()
    if events:
        web_application.router.add_post(EVENTS_PATH, handle_events)
    web_application.router.add_get(HEALTH_PATH, handle_health)
    return web_application


@dataclass
class Served:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


async def start_http(app: MaintbotApp, host: str, port: int, *, events: bool = True) -> Served:
    """Start serving on ``host:port`` (``port=0``: an ephemeral one) on the running loop."""
    runner = web.AppRunner(web_app(app, events=events), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=512)
    await site.start()
    bound = runner.addresses[0][1]
    return Served(runner, host, int(bound))


async def serve(
    settings: Settings,
    *,
    store: Store,
    schedulers: list[Scheduler],
    clock: Clock,
    host: str,
    port: int,
    socket_mode: bool,
    stop: asyncio.Event,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the Slack app and the window clock on this loop until ``stop`` is set."""
    from bot.lifecycle import WindowClock

    if socket_mode and settings.slack_app_token is None:
        raise ConfigError(
            "--socket-mode needs SLACK_APP_TOKEN, an app-level token (xapp-…) with "
            "connections:write (Basic Information → App-Level Tokens)"
        )
    client = make_client(settings)
    notifier = SlackNotifier(client, settings.maintbot_alert_channel)
    connectors = {s.name: s.connector for s in schedulers if s.connector is not None}
    window_clock = WindowClock(store, connectors, clock, notifier)
    app = create_app(
        settings,
        store=store,
        schedulers=schedulers,
        clock=clock,
        client=client,
        window_clock=window_clock,
        socket_mode=socket_mode,
    )
    clock_task = asyncio.create_task(window_clock.run(stop), name="maintbot-window-clock")
    app.services.clock_task = clock_task
    # In Socket Mode nothing reaches /slack/events, but /healthz still serves probes.
    served = await start_http(app, host, port, events=not socket_mode)
    handler = None
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert settings.slack_app_token is not None
            handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
            await handler.connect_async()  # type: ignore[no-untyped-call]
            where = f"Socket Mode; health on {served.url}{HEALTH_PATH}"
        else:
            where = f"{served.url}{EVENTS_PATH}"
        log.info("maintbot serving on %s", where)
        if on_ready is not None:
            on_ready(where)
        await stop.wait()
    finally:
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]
        await served.runner.cleanup()
        stop.set()
        try:
            await asyncio.wait_for(clock_task, timeout=10)
        except TimeoutError:
            log.error("the window clock did not stop within 10 s; cancelled it")
        except Exception:
            log.exception("the window clock had stopped with an error")
