"""Serving the app: aiohttp for HTTP mode (``POST /slack/events``, ``GET /healthz``), the
aiohttp Socket Mode handler for ``--socket-mode``, and :func:`serve`, which runs the app and
the window clock on one event loop until told to stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.check import Scheduler
from bot.clock import Clock
from bot.config import Settings
from bot.errors import ConfigError
from bot.slack.app import MaintbotApp, create_app, make_client
from bot.slack.notifier import SlackNotifier
from bot.store import Store

__all__ = [
    "EVENTS_PATH",
    "HEALTH_PATH",
    "Served",
    "SlackService",
    "serve",
    "start_http",
    "web_app",
]

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


class SlackService:
    """The app, the window clock and the servers, wired as ``maintbot serve`` runs them.

    ``start`` on a running loop; ``stop`` to shut down. With ``run_clock=False`` the window
    clock is built but not looped (tests tick it by hand).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        schedulers: Sequence[Scheduler],
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 0,
        socket_mode: bool = False,
        run_clock: bool = True,
        clock_interval: float = 5.0,
    ) -> None:
        from bot.lifecycle import WindowClock

        if socket_mode and settings.slack_app_token is None:
            raise ConfigError(
                "--socket-mode needs SLACK_APP_TOKEN, an app-level token (xapp-…) with "
                "connections:write (Basic Information → App-Level Tokens)"
            )
        self.settings = settings
        self.host, self.port = host, port
        self.socket_mode = socket_mode
        self.run_clock = run_clock
        self.clock_interval = clock_interval
        self.client = make_client(settings)
        self.notifier = SlackNotifier(self.client, settings.maintbot_alert_channel)
        connectors = {s.name: s.connector for s in schedulers if s.connector is not None}
        self.window_clock = WindowClock(store, connectors, clock, self.notifier)
        self.app = create_app(
            settings,
            store=store,
            schedulers=schedulers,
            clock=clock,
            client=self.client,
            window_clock=self.window_clock,
            socket_mode=socket_mode,
        )
        self._stop_clock = asyncio.Event()
        self._served: Served | None = None
        self._socket: Any = None

    @property
    def url(self) -> str:
        if self._served is None:
            raise RuntimeError("not started")
        return self._served.url

    @property
    def where(self) -> str:
        if self.socket_mode:
            return f"Socket Mode; health on {self.url}{HEALTH_PATH}"
        return f"{self.url}{EVENTS_PATH}"

    async def start(self) -> None:
        if self.run_clock:
            task = asyncio.create_task(
                self.window_clock.run(self._stop_clock, self.clock_interval),
                name="maintbot-window-clock",
            )
            self.app.services.clock_task = task
        # In Socket Mode nothing reaches /slack/events, but /healthz still serves probes.
        self._served = await start_http(self.app, self.host, self.port, events=not self.socket_mode)
        if self.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert self.settings.slack_app_token is not None
            self._socket = AsyncSocketModeHandler(
                self.app, self.settings.slack_app_token.get_secret_value()
            )
            await self._socket.connect_async()
        log.info("maintbot serving on %s", self.where)

    async def stop(self, drain: float = 10.0) -> None:
        """Stop taking requests and stop the window clock, then let work already
        acknowledged finish (up to ``drain`` seconds: a pause call cut off mid-flight would
        leave its audit trail unfinished)."""
        if self._socket is not None:
            await self._socket.close_async()
        if self._served is not None:
            await self._served.runner.cleanup()
        self._stop_clock.set()
        task = self.app.services.clock_task
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=10)
            except TimeoutError:
                log.error("the window clock did not stop within 10 s; cancelled it")
            except Exception:
                log.exception("the window clock had stopped with an error")
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=drain)
            if late:
                log.warning("stopping with %d task(s) still running", len(late))


async def serve(
    settings: Settings,
    *,
    store: Store,
    schedulers: Sequence[Scheduler],
    clock: Clock,
    host: str,
    port: int,
    socket_mode: bool,
    stop: asyncio.Event,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the Slack app and the window clock on this loop until ``stop`` is set."""
    service = SlackService(
        settings,
        store=store,
        schedulers=schedulers,
        clock=clock,
        host=host,
        port=port,
        socket_mode=socket_mode,
    )
    await service.start()
    try:
        if on_ready is not None:
            on_ready(service.where)
        await stop.wait()
    finally:
        await service.stop()
