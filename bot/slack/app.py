"""The Slack app factory: a Bolt ``AsyncApp`` over the application (:class:`Maintbot`).

Every seam is configuration: the Web API base URL (``SLACK_API_URL``) and the application
object (its store, schedulers and clock) are passed in, so tests serve the real app on
loopback against a fake Slack and the sandbox schedulers, with nothing patched.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.approvals import parse_approvers
from bot.config import Settings
from bot.errors import ApprovalError, ConfigError, MaintbotError
from bot.metrics import RESPONSE_URL, Metrics
from bot.service import Maintbot
from bot.slack import blocks as bk
from bot.slack import messages
from bot.slack.directory import UserDirectory
from bot.slack.errors import GENERIC_FAILURE, SLACK_ERRORS
from bot.slack.listeners import register_listeners
from bot.slack.notifier import SlackNotifier
from bot.slack.registry import Registrar
from bot.slack.services import CONTEXT_KEY, Services

__all__ = [
    "TOKEN_ERRORS",
    "VERIFIED_KEY",
    "MaintbotApp",
    "MeteredWebClient",
    "SlackAuth",
    "SlackWiring",
    "create_app",
    "make_client",
    "report_error",
]

log = logging.getLogger(__name__)

# Set in a request's context only where it is known to come from Slack: by the HTTP
# server after the signature checked out, or for Socket Mode (Slack's own connection).
# ``report_error`` answers a ``response_url`` only under this mark.
VERIFIED_KEY = "maintbot_verified"


@dataclass
class SlackAuth:
    """What ``auth.test`` said of the bot token at start-up (``checked`` false: not run)."""

    checked: bool = False
    team: str = ""
    user: str = ""


class MaintbotApp(AsyncApp):
    """An ``AsyncApp`` that also carries the application, what it registered, and what
    Slack said of the token at start-up (``bot.slack.server.SlackAuth``)."""

    services: Services
    registrar: Registrar
    slack_auth: SlackAuth


# What Slack answers when the bot token itself is no good (revoked, app uninstalled, …).
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)


class MeteredWebClient(AsyncWebClient):
    """The Web API client that counts every call by method and outcome (``metrics``, set
    when the app is served) and remembers a refusal of the token itself (``/readyz``)."""

    metrics: Metrics | None = None
    token_refused: str | None = None

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        outcome = "ok"
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error")
            outcome = "ratelimited" if exc.response.status_code == 429 else "error"
            if error in TOKEN_ERRORS:
                self.token_refused = str(error)
            raise
        except (aiohttp.ClientError, OSError, TimeoutError):
            outcome = "unreachable"
            raise
        except BaseException:
            outcome = "error"
            raise
        finally:
            if self.metrics is not None:
                self.metrics.slack_call(api_method, outcome)


class MeteredRespond(AsyncRespond):
    """Bolt's ``respond`` (a POST to the request's ``response_url``, not a Web API call)
    counted like the Web API calls, as ``method="response_url"``: every answer to a command
    or a click goes this way, so its failures are Slack delivery failures too."""

    def __init__(self, respond: AsyncRespond, metrics: Metrics) -> None:
        super().__init__(response_url=respond.response_url, proxy=respond.proxy, ssl=respond.ssl)
        self.metrics = metrics

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outcome = "error"
        try:
            answer = await super().__call__(*args, **kwargs)
            outcome = (
                "ok"
                if answer.status_code == 200
                else "ratelimited"
                if answer.status_code == 429
                else "error"
            )
            return answer
        except (aiohttp.ClientError, OSError, TimeoutError):
            outcome = "unreachable"
            raise
        finally:
            self.metrics.slack_call(RESPONSE_URL, outcome)


def make_client(settings: Settings) -> MeteredWebClient:
    """The Web API client: base URL from ``SLACK_API_URL``; 429s are retried after
    ``Retry-After`` (twice at most), connection resets once."""
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set; export the bot token (xoxb-…)")
    base_url = (
        settings.slack_api_url
        if settings.slack_api_url.endswith("/")
        else (settings.slack_api_url + "/")
    )
    return MeteredWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=base_url,
        timeout=10,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


@dataclass(frozen=True)
class SlackWiring:
    """What the Slack face adds to the application: the Web API client, the directory
    (zones, and approvers with user groups expanded: the application's approver source)
    and the notifier for the window clock's alerts. Built before the application, which
    takes ``directory.approvers`` and ``notifier`` as its ports."""

    client: AsyncWebClient
    directory: UserDirectory
    notifier: SlackNotifier

    @classmethod
    def from_settings(cls, settings: Settings, client: AsyncWebClient | None = None) -> SlackWiring:
        web = client if client is not None else make_client(settings)
        directory = UserDirectory(
            web,
            default_tz=settings.maintbot_tz,
            approvers=parse_approvers(settings.maintbot_approvers),
        )
        return cls(web, directory, SlackNotifier(web, settings.maintbot_alert_channel))


def create_app(
    bot: Maintbot, *, slack: SlackWiring | None = None, socket_mode: bool = False
) -> MaintbotApp:
    """Build the app. HTTP mode needs ``SLACK_SIGNING_SECRET``: ``bot.slack.server``
    verifies every request with it before dispatching (Bolt's own check is off, since it
    reads the wall clock rather than ``clock`` and raises on malformed headers); Socket
    Mode needs none, since Slack never calls us there."""
    settings = bot.settings
    secret = settings.slack_signing_secret
    if secret is None and not socket_mode:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set; HTTP mode verifies every request with it "
            "(Basic Information → App Credentials), or use --socket-mode with SLACK_APP_TOKEN"
        )
    slack = slack if slack is not None else SlackWiring.from_settings(settings)
    app = MaintbotApp(
        name="maintbot",
        client=slack.client,
        signing_secret=secret.get_secret_value() if secret is not None else "",
        request_verification_enabled=False,
        logger=_bolt_logger(),
    )
    app.services = Services(bot=bot, directory=slack.directory)
    app.slack_auth = SlackAuth()
    _warm_up()

    async def inject(
        req: AsyncBoltRequest, context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
    ) -> BoltResponse | None:
        if req.mode == "socket_mode":
            context[VERIFIED_KEY] = True  # arrived over our own authenticated connection
        if context.get(VERIFIED_KEY) is not True:
            # Only bot.slack.server's handler marks HTTP requests, after their signature
            # checked out; anything dispatched another way stops here, before a listener.
            log.info("refused a request that did not come through signature verification")
            return BoltResponse(status=401, body={"error": "invalid request"})
        context[CONTEXT_KEY] = app.services
        respond = context.get("respond")
        if isinstance(respond, AsyncRespond) and not isinstance(respond, MeteredRespond):
            context["respond"] = MeteredRespond(respond, bot.metrics)
        await next()
        return None

    app.use(inject)
    app.error(report_error)
    app.registrar = Registrar(app, report_error)
    register_listeners(app.registrar)
    return app


class _SameTokenNote(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that it is unused when a client is given;
    our client carries that very token, so the warning is noise in every production log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("As you gave `client` as well")


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _SameTokenNote) for f in logger.filters):
        logger.addFilter(_SameTokenNote())
    return logger


def _warm_up() -> None:
    """Load the window grammar's tables now, not inside the first user's request."""
    from bot.windows import warm_up

    warm_up()


_USER_ID = re.compile(r"\b([UW][A-Z0-9]{6,})\b")


def user_message(error: MaintbotError) -> str:
    """A MaintbotError's message as mrkdwn: escaped, with bare user ids shown as mentions."""
    text = bk.escape(str(error))
    if isinstance(error, ApprovalError):
        text = _USER_ID.sub(r"<@\1>", text)
        return f":no_entry: {text}"
    return f":warning: {text}"


async def report_error(
    error: Exception,
    body: dict[str, Any],
    respond: AsyncRespond | None,
    context: AsyncBoltContext | None = None,
) -> None:
    """Tell the user what failed. A MaintbotError's message is written for them; anything
    else is a bug, logged with a reference the user can quote instead of its details.

    The answer goes to the request's ``response_url`` only when the request is marked
    verified (:data:`VERIFIED_KEY`): the server refuses unverified requests before Bolt,
    and this check keeps it so should any other path ever dispatch one.
    """
    if isinstance(error, MaintbotError):
        log.info("request refused or failed: %s", error)
        text = user_message(error)
    else:
        ref = secrets.token_hex(4)
        log.error("unexpected error (reference %s)", ref, exc_info=error)
        text = GENERIC_FAILURE.format(ref=ref)
    verified = context is not None and context.get(VERIFIED_KEY) is True
    if respond is None or not verified or not isinstance(body.get("response_url"), str):
        return  # events have nowhere to answer; the log has it
    # A command's "Checking…" placeholder is replaced; a button's message is kept.
    replace = "command" in body
    try:
        await respond(
            response_type="ephemeral",
            replace_original=replace,
            **messages.text_message(text),
        )
    except SLACK_ERRORS as exc:
        log.warning("could not tell the user about the failure: %s", exc)
