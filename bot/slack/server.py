"""Serving the app: aiohttp for HTTP mode (``POST /slack/events``), the probes and metrics
(``GET /healthz``, ``/readyz``, ``/metrics``, in both modes), the aiohttp Socket Mode
handler for ``--socket-mode``, and :func:`serve`, which checks the token (``auth.test``),
then runs the app and the window clock on one event loop until told to stop.

``/healthz`` says the process is alive: the store answers and the window clock (when this
process runs it) has not died; 200 or 503. ``/readyz`` says it should be sent traffic: the
store answers, its schema is the one this maintbot runs, Slack accepted the bot token at
start-up (and has not refused it since), and, on the process that runs the window clock,
its heartbeat in the store is fresh; 200, or 503 with ``failing`` naming each check that
is not ok. ``/metrics`` is the Prometheus text format (:mod:`bot.metrics`).
``/calendar/<token>.ics`` is the calendar feed at its secret address; any other token is a
plain 404.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.calendar import CONTENT_TYPE as CALENDAR_CONTENT_TYPE
from bot.clock import Clock
from bot.errors import ConfigError, MaintbotError, redact
from bot.logs import REQUEST_ID
from bot.metrics import CONTENT_TYPE
from bot.service import Maintbot
from bot.service.calendar import FEED_PREFIX, FEED_SUFFIX
from bot.slack.app import (
    TOKEN_ERRORS,
    VERIFIED_KEY,
    MaintbotApp,
    MeteredWebClient,
    SlackAuth,
    SlackWiring,
    create_app,
)
from bot.slack.verify import MAX_BODY_BYTES, request_identity, unverified_reason
from bot.store import Store

__all__ = [
    "CALENDAR_PATH",
    "EVENTS_PATH",
    "HEALTH_PATH",
    "METRICS_PATH",
    "READY_PATH",
    "DeliveryLedger",
    "Served",
    "SlackAuth",
    "SlackService",
    "serve",
    "start_http",
    "startup_summary",
    "verify_token",
    "web_app",
]

log = logging.getLogger(__name__)
# Start-up lines (the token check, the configuration summary): shown at the default level.
startup_log = logging.getLogger("bot.startup")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
# The calendar feed at its secret address (bot/service/calendar.py makes the token).
CALENDAR_PATH = FEED_PREFIX + "{token}" + FEED_SUFFIX
CALENDAR_FILENAME = "maintenance.ics"


async def verify_token(client: AsyncWebClient, api_url: str) -> SlackAuth:
    """``auth.test`` on the bot token. Slack refusing it is a ConfigError (exit 2) that
    says where to get a good one; Slack unreachable is a MaintbotError (exit 1)."""
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in TOKEN_ERRORS:
            raise ConfigError(
                f"Slack refused SLACK_BOT_TOKEN (auth.test: {error}); copy the Bot User OAuth "
                "Token (xoxb-…) from your app's OAuth & Permissions page, export it and start "
                "again (reinstall the app if it was uninstalled)"
            ) from None
        raise MaintbotError(
            f"Slack did not accept auth.test ({redact(error)}); try again in a minute"
        ) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise MaintbotError(
            f"cannot reach Slack at {redact(api_url)} to check SLACK_BOT_TOKEN "
            f"({type(exc).__name__}); check SLACK_API_URL and the network, then start again"
        ) from None
    return SlackAuth(
        checked=True, team=str(answer.get("team") or ""), user=str(answer.get("user") or "")
    )


class DeliveryLedger:
    """Which verified deliveries were handled, in the store so every process sharing it
    agrees: Slack's retries (``X-Slack-Retry-Num``) and replays of a signed request
    within its 5-minute window act once. One ``INSERT OR IGNORE`` per request; rows older
    than :attr:`KEEP` are pruned now and then (a replay that old fails its signature)."""

    KEEP = timedelta(hours=1)
    PRUNE_EVERY = timedelta(minutes=10)

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._pruned: datetime | None = None

    def first_delivery(self, identity: str) -> bool:
        now = self.clock()
        if self._pruned is None or now - self._pruned >= self.PRUNE_EVERY:
            self._pruned = now
            self.store.prune_processed_events(now - self.KEEP)
        return self.store.mark_event_processed(f"slack:{identity}")


_REFUSED = {"error": "invalid request"}


def web_app(app: MaintbotApp, *, events: bool = True) -> web.Application:
    """The aiohttp application: Slack's requests, verified here before Bolt sees them,
    and health.

    The signature is checked against the injected clock (Bolt's own check, which reads
    the wall clock and raises on a malformed timestamp, is off: see ``create_app``).
    Anything unverifiable is a 401 with no listener, no responder and no error log, so
    nothing is ever sent to a ``response_url`` a stranger wrote.
    """
    bot = app.services.bot
    metrics = bot.metrics
    secret = bot.settings.slack_signing_secret
    key = secret.get_secret_value().encode() if secret is not None else b""
    ledger = DeliveryLedger(bot.store, bot.clock)

    async def handle_events(request: web.Request) -> web.Response:
        body, reason = await _read_capped(request)
        if body is not None and reason is None:
            reason = (
                unverified_reason(key, request.headers, body, bot.clock())
                if key
                else "no signing secret configured"
            )
        if body is None or reason is not None:
            log.info("refused a Slack request that could not be verified: %s", reason)
            metrics.slack_request("refused")
            return web.json_response(_REFUSED, status=401)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            metrics.slack_request("bad_request")
            return web.json_response({"error": "body is not UTF-8"}, status=400)
        identity = request_identity(body, request.content_type)
        # This request's log lines (and those of the tasks its listeners start) carry it.
        REQUEST_ID.set(f"slack:{identity}" if identity is not None else None)
        if identity is not None and not ledger.first_delivery(identity):
            retry = request.headers.get("X-Slack-Retry-Num")
            log.info(
                "ignored a repeated Slack delivery (%s)",
                "retry" if retry is not None else "replay",
            )
            metrics.slack_request("repeated")
            return web.Response(status=200)
        bolt_request = AsyncBoltRequest(
            body=text,
            query=request.query_string,
            headers=dict(request.headers),
            context={VERIFIED_KEY: True},
        )
        bolt_response = await app.async_dispatch(bolt_request)
        metrics.slack_request("handled" if bolt_response.status < 400 else "failed")
        return await to_aiohttp_response(bolt_response)

    async def handle_health(request: web.Request) -> web.Response:
        ok, detail = bot.health()
        return web.json_response({"ok": ok, **detail}, status=200 if ok else 503)

    async def handle_ready(request: web.Request) -> web.Response:
        # In a thread: a store that hangs must not hold up the loop that serves Slack.
        checks = await asyncio.to_thread(bot.readiness)
        checks["slack"] = slack_readiness(app)
        failing = [name for name, verdict in checks.items() if not verdict.startswith("ok")]
        body = {"ok": not failing, "checks": checks, "failing": failing}
        return web.json_response(body, status=503 if failing else 200)

    async def handle_metrics(request: web.Request) -> web.Response:
        text = await asyncio.to_thread(metrics.render)
        return web.Response(body=text, headers={"Content-Type": CONTENT_TYPE})

    async def handle_calendar(request: web.Request) -> web.StreamResponse:
        # The token is a credential: it is in no log line, no error and no audit row here.
        # The access log is off (start_http), and a failure is logged by its type only.
        try:
            feed = await asyncio.to_thread(bot.served_calendar, request.match_info["token"])
        except Exception as exc:
            log.error("the calendar feed could not be built (%s)", type(exc).__name__)
            return web.Response(status=503, text="calendar unavailable, try again later")
        if feed is None:
            # The same answer as for any address that does not exist: nothing to learn.
            raise web.HTTPNotFound()
        etag = '"' + hashlib.sha256(feed).hexdigest()[:32] + '"'
        headers = {
            "Content-Type": CALENDAR_CONTENT_TYPE,
            "Content-Disposition": f'attachment; filename="{CALENDAR_FILENAME}"',
            "ETag": etag,
            # The address is the secret: no shared cache keeps it, no page passes it on.
            "Cache-Control": "private, max-age=300",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex",
        }
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=feed, headers=headers)

    web_application = web.Application(client_max_size=MAX_BODY_BYTES + 1)
    if events:
        web_application.router.add_post(EVENTS_PATH, handle_events)
    web_application.router.add_get(HEALTH_PATH, handle_health)
    web_application.router.add_get(READY_PATH, handle_ready)
    web_application.router.add_get(METRICS_PATH, handle_metrics)
    web_application.router.add_get(CALENDAR_PATH, handle_calendar)
    return web_application


def slack_readiness(app: MaintbotApp) -> str:
    """``ok`` when Slack accepted the token at start-up and has not refused it since."""
    refused = getattr(app.client, "token_refused", None)
    if refused is not None:
        return f"token refused by Slack since start-up ({refused})"
    auth = app.slack_auth
    if not auth.checked:
        return "token not checked (auth.test has not run in this process)"
    return "ok"


async def _read_capped(request: web.Request) -> tuple[bytes | None, str | None]:
    """The body, or ``None`` and why: past :data:`MAX_BODY_BYTES` (read no further than
    that), or cut off by the sender."""
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        return None, "body too large"
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None, "body too large"
            chunks.append(chunk)
    except (ConnectionError, ClientPayloadError):
        return None, "body cut off by the sender"
    return b"".join(chunks), None


class _ClientFaultsAreInfo(logging.Filter):
    """aiohttp logs a request it cannot parse (bad framing, a body cut off) at ERROR, with
    the offending bytes. That is a stranger's fault, not ours: keep it at INFO, name the
    fault and drop the bytes (nothing from an unverified request reaches the log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError | ConnectionError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = (
                "refused a malformed HTTP request (%s)",
                (type(error).__name__,),
            )
            record.exc_info = record.exc_text = None
        return True


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
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _ClientFaultsAreInfo) for f in server_log.filters):
        server_log.addFilter(_ClientFaultsAreInfo())
    runner = web.AppRunner(web_app(app, events=events), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=512)
    await site.start()
    bound = runner.addresses[0][1]
    return Served(runner, host, int(bound))


class SlackService:
    """The app over the application object, and its servers, as ``maintbot serve`` runs
    them (the window clock is the application's; ``run_clock`` loops it here).

    ``start`` on a running loop; ``stop`` to shut down. With ``run_clock=False`` the window
    clock is not looped (tests tick it by hand).
    """

    def __init__(
        self,
        bot: Maintbot,
        slack: SlackWiring,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        socket_mode: bool = False,
        run_clock: bool = True,
        clock_interval: float = 5.0,
    ) -> None:
        if socket_mode and bot.settings.slack_app_token is None:
            raise ConfigError(
                "--socket-mode needs SLACK_APP_TOKEN, an app-level token (xapp-…) with "
                "connections:write (Basic Information → App-Level Tokens)"
            )
        self.bot = bot
        self.settings = bot.settings
        self.host, self.port = host, port
        self.socket_mode = socket_mode
        self.run_clock = run_clock
        self.clock_interval = clock_interval
        self.client = slack.client
        if isinstance(self.client, MeteredWebClient):
            self.client.metrics = bot.metrics
        self.app = create_app(bot, slack=slack, socket_mode=socket_mode)
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

    async def verify_token(self) -> SlackAuth:
        """``auth.test`` on the bot token (see :func:`verify_token`); ``/readyz`` reads it."""
        auth = await verify_token(self.client, self.settings.slack_api_url)
        self.app.slack_auth = auth
        return auth

    async def listen(self) -> None:
        """Bind the HTTP port (a port in use fails here, before anything else happens)."""
        if self._served is None:
            # In Socket Mode nothing reaches /slack/events, but the probes are still served.
            self._served = await start_http(
                self.app, self.host, self.port, events=not self.socket_mode
            )

    async def start(self) -> None:
        if self.run_clock:
            self.bot.start_clock(self._stop_clock, self.clock_interval)
        await self.listen()
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
        task = self.bot.clock_task
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
    bot: Maintbot,
    slack: SlackWiring,
    *,
    host: str,
    port: int,
    socket_mode: bool,
    stop: asyncio.Event,
    on_ready: Callable[[str], None] | None = None,
    run_clock: bool = True,
    clock_interval: float = 5.0,
) -> None:
    """Run the Slack app and (unless ``run_clock`` is false) the window clock on this loop
    until ``stop`` is set."""
    service = SlackService(
        bot,
        slack,
        host=host,
        port=port,
        socket_mode=socket_mode,
        run_clock=run_clock,
        clock_interval=clock_interval,
    )
    # The port first (a local mistake is named as such), then the token, and only then the
    # window clock: a refused token stops the process before any task is paused.
    await service.listen()
    try:
        auth = await service.verify_token()
    except BaseException:
        await service.stop(drain=0)
        raise
    if not bot.settings.maintbot_alert_channel:
        startup_log.warning(
            "MAINTBOT_ALERT_CHANNEL is not set: window starts, ends and failures are only "
            "logged, not posted to Slack; set it to a channel id (C…) the bot is in"
        )
    summary = startup_summary(
        bot,
        auth,
        run_clock=run_clock,
        socket_mode=socket_mode,
        clock_interval=service.clock_interval,
    )
    startup_log.info("%s", summary)
    await service.start()
    try:
        if on_ready is not None:
            on_ready(service.where)
        await stop.wait()
    finally:
        await service.stop()


def startup_summary(
    bot: Maintbot,
    auth: SlackAuth,
    *,
    run_clock: bool,
    socket_mode: bool,
    clock_interval: float = 5.0,
) -> str:
    """The configuration in one line: systems, zones, clock role, Slack, channels, store."""
    settings = bot.settings
    systems = (
        ", ".join(
            f"{s.name} ({s.vendor})" if s.connector is not None else f"{s.name} (unusable)"
            for s in bot.schedulers
        )
        or "none"
    )
    clock = (
        f"runs in this process every {clock_interval:g} s"
        if run_clock
        else "off in this process (--no-clock)"
    )
    slack = f"team {auth.team} as {auth.user}" if auth.checked else "token not checked"
    parts = [
        f"systems: {systems}",
        f"zone: {settings.maintbot_tz} (when Slack gives none)",
        f"window clock: {clock}",
        f"slack: {slack}, {'Socket Mode' if socket_mode else 'HTTP'}",
        f"alerts: {settings.maintbot_alert_channel or 'log only'}",
        f"approvals: {settings.maintbot_approval_channel or 'direct messages'}",
        f"store: {bot.store.path}",
    ]
    return redact("maintbot serve: " + "; ".join(parts))
