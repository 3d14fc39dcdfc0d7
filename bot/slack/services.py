"""What the listeners need, in one object Bolt hands them through the request context:
the application, and the Slack directory (each user's zone)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import MaintbotError
from bot.service import Maintbot
from bot.slack.directory import UserDirectory

__all__ = [
    "CONTEXT_KEY",
    "Services",
    "button_value",
    "channel_of",
    "direct_message",
    "request_id",
    "services",
    "user_of",
]

CONTEXT_KEY = "maintbot"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    bot: Maintbot
    directory: UserDirectory


def services(context: AsyncBoltContext) -> Services:
    found = context.get(CONTEXT_KEY)
    if not isinstance(found, Services):
        raise RuntimeError("maintbot services missing from the Bolt context")
    return found


def button_value(action: dict[str, Any]) -> dict[str, Any]:
    """A button's (or the chosen select option's) value: a small JSON object of opaque
    ids. Anything else is refused."""
    chosen = action.get("selected_option")
    raw = chosen.get("value") if isinstance(chosen, dict) else action.get("value")
    try:
        value = json.loads(raw or "")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise MaintbotError("That button is not one this bot made; run the command again.")
    return value


def request_id(body: dict[str, Any]) -> str | None:
    """What ties audit rows to one Slack interaction: its trigger id."""
    trigger = body.get("trigger_id")
    return f"slack:{trigger}" if isinstance(trigger, str) else None


def user_of(body: dict[str, Any]) -> str:
    """Who clicked (an interaction) or typed (a command)."""
    if "user_id" in body:
        return str(body.get("user_id") or "")
    return str((body.get("user") or {}).get("id") or "")


def channel_of(body: dict[str, Any]) -> str:
    """Where an interaction happened ("" when Slack does not say)."""
    return str((body.get("channel") or {}).get("id") or "")


async def reply(respond: AsyncRespond, message: dict[str, Any], *, replace: bool = False) -> None:
    """Answer only the person who clicked or typed (an ephemeral message); ``replace``
    puts it in place of the message they clicked on."""
    await respond(response_type="ephemeral", replace_original=replace, **message)


async def reply_text(respond: AsyncRespond, text: str, *, replace: bool = False) -> None:
    """:func:`reply` with one section of mrkdwn text."""
    from bot.slack.messages import text_message  # messages imports the service layer too

    await reply(respond, text_message(text), replace=replace)


async def direct_message(client: AsyncWebClient, user: str, text: str) -> None:
    """Tell ``user`` something in the app's direct messages (a user id as the channel);
    best effort: what it reports is done already, so a failure is logged, not raised."""
    from bot.slack.errors import SLACK_ERRORS
    from bot.slack.messages import text_message

    try:
        await client.chat_postMessage(channel=user, **text_message(text))
    except SLACK_ERRORS as exc:
        log.warning("could not message %s: %s", user, exc)
