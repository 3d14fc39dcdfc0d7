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
from bot.model import ApprovalRecord, ApprovalState, ResumeRequestState, WindowRecord
from bot.service import ResumeDecision
from bot.slack import blocks as bk
from bot.slack import messages, notifier
from bot.slack.errors import SLACK_ERRORS
from bot.slack.services import (
    Services,
    button_value,
    channel_of,
    direct_message,
    reply,
    reply_text,
    request_id,
    services,
    user_of,
)

__all__ = ["REASON_CALLBACK", "approve", "reject", "reject_submitted"]

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
    """Reject a window someone else asked for: a dialog asks why first, so the requester
    and the thread hear the reason. The requester withdrawing their own, someone who may
    not decide (refused and audited at once) and resume requests act straight away."""
    await ack()
    svc = services(context)
    value = button_value(action)
    request = value.get("a")
    user = user_of(body)
    if isinstance(request, str) and request.startswith("a_"):
        approval = svc.bot.store.get_approval(request)
        window = svc.bot.store.get_window(approval.window_id) if approval else None
        policy = await svc.bot.policy()
        deciding = (
            window is not None
            and approval is not None
            and approval.state is ApprovalState.PENDING
            and user != window.requested_by
            and (not policy.approvers or user in policy.approvers)
        )
        if deciding:
            message = body.get("message") or {}
            opened = await _ask_reason(client, body, request, channel_of(body), message)
            if opened:
                return
    await _decide(action, body, respond, client, context, approve=False)


REASON_CALLBACK = "reject_reason"


async def _ask_reason(
    client: AsyncWebClient,
    body: dict[str, Any],
    request: str,
    channel: str,
    message: dict[str, Any],
) -> bool:
    metadata = {"a": request, "c": channel, "t": str(message.get("ts") or "")}
    try:
        await client.views_open(
            trigger_id=str(body.get("trigger_id") or ""), view=messages.reason_view(metadata)
        )
    except SLACK_ERRORS as exc:
        # No dialog (a stale trigger): reject without a reason rather than not at all.
        log.warning("could not open the reject dialog: %s", exc)
        return False
    return True


async def reject_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """The reason was given: reject with it. The dialog closes at once; what follows is
    what a Reject click does (the request redrawn, the requester and the thread told)."""
    svc = services(context)
    view = body.get("view") or {}
    metadata = messages.reason_metadata(view)
    reason = messages.reason_given(view)
    if not reason:
        await ack(response_action="errors", errors={"reason": "Say why, in a few words."})
        return
    await ack(response_action="clear")
    user = user_of(body)
    try:
        decision = await svc.bot.decide(
            metadata["a"], by=user, approve=False, reason=reason, request_id=request_id(body)
        )
    except MaintbotError as exc:
        await direct_message(client, user, f":no_entry: {bk.escape(str(exc))}")
        return
    assert not isinstance(decision, ResumeDecision)
    approval, window = decision.approval, decision.window
    if not decision.acted:
        await direct_message(client, user, messages.already_decided(approval)["text"])
        return
    await _dm_requester(client, window, approval, user)
    payload = messages.approval_decided(window, approval, svc.bot.store.window_tasks(window.id))
    channel = approval.channel or metadata["c"]
    ts = approval.message_ts or metadata["t"]
    try:
        await client.chat_update(channel=channel, ts=ts, **payload)
    except SLACK_ERRORS as exc:
        log.warning("chat.update of approval %s failed: %s", approval.id, exc)


async def _dm_requester(
    client: AsyncWebClient, window: WindowRecord, approval: ApprovalRecord, decided_by: str
) -> None:
    if decided_by == window.requested_by:
        return
    try:
        # A user id as the channel: Slack posts in the app's direct messages with them.
        await client.chat_postMessage(
            channel=window.requested_by, **messages.decision_for_requester(window, approval)
        )
    except SLACK_ERRORS as exc:
        log.warning(
            "could not tell %s about approval %s: %s", window.requested_by, approval.id, exc
        )


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
    if decision.acted:
        await _dm_requester(client, window, approval, user_of(body))
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
