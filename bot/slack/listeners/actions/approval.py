"""Approve / Reject on an approval request: a window's (``{"a": id}``) or a request to
resume someone else's pause (``{"r": id}``); both buttons carry one opaque id.

The decision is the lifecycle's compare-and-set: of a double click, a duplicate delivery or
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

from bot import lifecycle
from bot.actions import decide_resume
from bot.errors import MaintbotError
from bot.slack import blocks as bk
from bot.slack import messages, notifier
from bot.slack.errors import SLACK_ERRORS
from bot.slack.services import Services, button_value, request_id, services
from bot.store import ApprovalState, ResumeRequestState

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
    user = str((body.get("user") or {}).get("id") or "")
    value = button_value(action)
    resume_id = value.get("r")
    if isinstance(resume_id, str):
        await _decide_resume(svc, resume_id, user, body, respond, client, approve=approve)
        return
    approval_id = value.get("a")
    if not isinstance(approval_id, str):
        raise MaintbotError("That button does not name an approval request.")
    decision = lifecycle.decide(
        svc.store,
        approval_id,
        user=user,
        approve=approve,
        policy=await svc.policy(),
        now=svc.clock(),
        request_id=request_id(body),
    )  # ApprovalError (already audited) → the error handler tells the clicker why
    approval, window = decision.approval, decision.window
    if not decision.acted:
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **messages.already_decided(approval),
        )
        if approval.state is not ApprovalState.EXPIRED:
            return
        # An expired request still shows its buttons; show everyone it is over instead.
    payload = messages.approval_decided(window, approval, svc.store.window_tasks(window.id))
    channel = approval.channel or str((body.get("channel") or {}).get("id") or "")
    ts = approval.message_ts or str((body.get("message") or {}).get("ts") or "")
    try:
        await client.chat_update(channel=channel, ts=ts, **payload)
    except SLACK_ERRORS as exc:
        # The decision stands (it is in the store and the audit log); only the message
        # could not be refreshed, so say so to the person who decided.
        log.warning("chat.update of approval %s failed: %s", approval.id, exc)
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **messages.text_message(
                f"{messages.decision_line(approval)} (recorded; the request message could not "
                "be updated)."
            ),
        )


async def _decide_resume(
    svc: Services,
    resume_id: str,
    user: str,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    *,
    approve: bool,
) -> None:
    """Approve / Reject on a request to resume someone else's pause: decided once, then
    (when approved) the task is resumed only if its pause is still the one asked about."""
    decision = await decide_resume(
        svc.store,
        svc.connector,
        resume_id,
        user=user,
        approve=approve,
        policy=await svc.policy(),
        now=svc.clock(),
        slack_request=request_id(body),
    )  # ApprovalError (already audited) → the error handler tells the clicker why
    request = decision.request
    if not decision.acted:
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **notifier.resume_already_decided(request),
        )
        if request.state is not ResumeRequestState.EXPIRED:
            return
    channel = request.channel or str((body.get("channel") or {}).get("id") or "")
    ts = request.message_ts or str((body.get("message") or {}).get("ts") or "")
    try:
        await client.chat_update(channel=channel, ts=ts, **notifier.resume_request_decided(request))
    except SLACK_ERRORS as exc:
        log.warning("chat.update of resume request %s failed: %s", request.id, exc)
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **messages.text_message(
                f"{notifier.resume_decision_line(request)} (recorded; the request message "
                "could not be updated)."
            ),
        )
    if decision.result is not None and decision.result.outcome != "ok":
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **messages.text_message(f":warning: {bk.fit(decision.result.message, 2500)}"),
        )
    if decision.acted:
        announcer = notifier.SlackNotifier(client, svc.settings.maintbot_alert_channel)
        await announcer.announce(notifier.decision_announcement(decision))
