"""``app_home_opened``: publish the Home tab (windows, and what the bot holds paused)."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.home import home_view
from bot.slack.services import services

__all__ = ["app_home_opened"]


async def app_home_opened(
    ack: AsyncAck,
    event: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    # Bolt acknowledges events itself before calling this.
    if event.get("tab") != "home":
        return  # the Messages tab: nothing to publish
    svc = services(context)
    event_id = body.get("event_id")
    # Slack redelivers an event it thinks we missed; publish once per event.
    if isinstance(event_id, str) and not svc.bot.store.mark_event_processed(event_id):
        return
    user = str(event.get("user") or "")
    await client.views_publish(user_id=user, view=home_view(svc.bot.store, user))
