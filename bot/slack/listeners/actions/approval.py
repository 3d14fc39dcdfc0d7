"""Approve / Reject on an approval request: a window's (``{"a": id}``) or a request to
resume someone else's pause (``{"r": id}``); both buttons carry one opaque id.

The decision is the application's compare-and-set: of a double click, a duplicate delivery or
two approvers at the same moment, exactly one acts. Everyone else is told, privately, what
already happened. A policy refusal is audited by the lifecycle and shown only to the clicker.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import MaintbotError
from bot.model import ApprovalState, ResumeRequestState
from bot.service import ResumeDecision
from bot.slack import blocks as bk
from bot.slack import messages, notifier
from bot.slack.errors import SLACK_ERRORS
from bot.slack.services import (
    Services,
    button_value,
    channel_of,
    reply,
    reply_text,
    request_id,
    services,
    user_of,
)

__all__ = ["approve", "reject"]

log = logging.getLogger(__name__)


async def approve(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    await _decide(action, body, respond, client, context, approve=True)


async def reject(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    await _decide(action, body, respond, client, context, approve=False)


async def _decide(
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    *,
    approve: bool,
) -> None:
    svc = services(context)
    value = button_value(action)
    request = value.get("r") if isinstance(value.get("r"), str) else value.get("a")
    if not isinstance(request, str) or not request.startswith(("r_", "a_")):
        raise MaintbotError("That button does not name an approval request.")
    decision = await svc.bot.decide(
        request, by=user_of(body), approve=approve, request_id=request_id(body)
    )  # ApprovalError (already audited) → the error handler tells the clicker why
    if isinstance(decision, ResumeDecision):
        await _resume_decided(svc, decision, body, respond, client)
        return
    approval, window = decision.approval, decision.window
    if not decision.acted:
        await reply(respond, messages.already_decided(approval))
        if approval.state is not ApprovalState.EXPIRED:
            return
        # An expired request still shows its buttons; show everyone it is over instead.
    if decision.acted and user_of(body) != window.requested_by:
        try:
            # A user id as the channel: Slack posts in the app's direct messages with them.
            await client.chat_postMessage(
                channel=window.requested_by, **messages.decision_for_requester(window, approval)
            )
        except SLACK_ERRORS as exc:
            log.warning(
                "could not tell %s about approval %s: %s", window.requested_by, approval.id, exc
            )
    payload = messages.approval_decided(window, approval, svc.bot.store.window_tasks(window.id))
    channel = approval.channel or channel_of(body)
    ts = approval.message_ts or str((body.get("message") or {}).get("ts") or "")
    try:
        await client.chat_update(channel=channel, ts=ts, **payload)
    except SLACK_ERRORS as exc:
        # The decision stands (it is in the store and the audit log); only the message
        # could not be refreshed, so say so to the person who decided.
        log.warning("chat.update of approval %s failed: %s", approval.id, exc)
        await reply_text(
            respond,
            f"{messages.decision_line(approval)} (recorded; the request message could not "
            "be updated).",
        )


async def _resume_decided(
    svc: Services,
    decision: ResumeDecision,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """A resume request decided once, then (when approved) the task resumed only if its
    pause is still the one asked about: show what happened where it was asked."""
    request = decision.request
    if not decision.acted:
        await reply(respond, notifier.resume_already_decided(request))
        if request.state is not ResumeRequestState.EXPIRED:
            return
    channel = request.channel or channel_of(body)
    ts = request.message_ts or str((body.get("message") or {}).get("ts") or "")
    try:
        await client.chat_update(channel=channel, ts=ts, **notifier.resume_request_decided(request))
    except SLACK_ERRORS as exc:
        log.warning("chat.update of resume request %s failed: %s", request.id, exc)
        await reply_text(
            respond,
            f"{notifier.resume_decision_line(request)} (recorded; the request message "
            "could not be updated).",
        )
    if decision.result is not None and decision.result.outcome != "ok":
        await reply_text(respond, f":warning: {bk.fit(decision.result.message, 2500)}")
    if decision.acted:
        announcer = notifier.SlackNotifier(client, svc.bot.settings.maintbot_alert_channel)
        await announcer.announce(notifier.decision_announcement(decision))
