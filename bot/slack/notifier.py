"""The window clock's voice in Slack: alerts in MAINTBOT_ALERT_CHANNEL and in the window's
approval thread, with buttons for what a person can do about them.

Implements the lifecycle's ``Notifier`` protocol. The clock claims each alert before sending
and releases the claim when ``notify`` raises, so the next tick sends it again: ``notify``
raises only when the alert reached nobody. If one of two places got it, raising would post a
duplicate there on the retry, so the other failure is logged instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import messages
from bot.slack.errors import SLACK_ERRORS
from bot.store import WindowRecord

__all__ = ["SlackNotifier"]

log = logging.getLogger(__name__)


class SlackNotifier:
    def __init__(self, client: AsyncWebClient, alert_channel: str | None) -> None:
        self.client = client
        self.alert_channel = alert_channel or None

    async def notify(
        self, window: WindowRecord, kind: str, text: str, *, actions: Sequence[str] = ()
    ) -> None:
        payload = messages.alert(window, kind, text, actions)
        targets: list[dict[str, Any]] = []
        thread = (window.channel, window.thread_ts) if window.channel and window.thread_ts else None
        if thread is not None and thread[0] == self.alert_channel:
            # One post, in the thread and broadcast to the channel, rather than two copies
            # in the same channel.
            targets.append({"channel": thread[0], "thread_ts": thread[1], "reply_broadcast": True})
        else:
            if self.alert_channel:
                targets.append({"channel": self.alert_channel})
            if thread is not None:
                targets.append({"channel": thread[0], "thread_ts": thread[1]})
        if not targets:
            # Retrying cannot help until someone configures a channel; the log has it.
            log.warning(
                "window %s: %s alert has nowhere to go (set MAINTBOT_ALERT_CHANNEL): %s",
                window.id,
                kind,
                text,
            )
            return
        failures: list[BaseException] = []
        for where in targets:
            try:
                await self.client.chat_postMessage(**where, **payload)
            except SLACK_ERRORS as exc:
                log.error("could not post the %s alert to %s: %s", kind, where["channel"], exc)
                failures.append(exc)
        if len(failures) == len(targets):
            raise failures[0]
