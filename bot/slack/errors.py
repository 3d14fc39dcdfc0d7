"""What can go wrong talking to Slack, and what a user is told when something else does."""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

__all__ = ["GENERIC_FAILURE", "SLACK_ERRORS", "slack_error"]

# Everything AsyncWebClient / AsyncWebhookClient raise once their retry handlers give up.
SLACK_ERRORS: tuple[type[BaseException], ...] = (
    SlackApiError,
    SlackClientError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
)

GENERIC_FAILURE = (
    "Something went wrong on the bot's side (reference {ref}); the details are in its log. "
    "Try again, and tell the operators if it keeps happening."
)


def slack_error(exc: BaseException) -> str:
    """Slack's error word for a refused call (``not_in_channel``, ``hash_conflict``…), or
    the exception's type when Slack never answered."""
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            return str(response["error"])
        except (KeyError, TypeError):
            pass
    return type(exc).__name__
