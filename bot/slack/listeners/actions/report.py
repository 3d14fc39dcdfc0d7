"""Buttons on the conflict report: paging and "Show them", "Pause now" / "Resume", "Plan pause".

Each value holds a check id (plus a page or a conflict index); the application reads what
to act on from the stored report and checks again who may act, whatever the message
showed. Someone else's pause becomes a resume request, which this face posts for an
approver. Every change made from a report is announced in MAINTBOT_ALERT_CHANNEL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import MaintbotError, OverlapError
from bot.model import ApprovalRecord, PlannedTask, WindowRecord
from bot.render import PauseNote
from bot.service import InProgress, PlanResult, ReportRow, ResumeAsked
from bot.slack import blocks as bk
from bot.slack import messages, notifier
from bot.slack.errors import SLACK_ERRORS, slack_error
from bot.slack.notifier import action_announcement
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

__all__ = [
    "page",
    "pause_now",
    "plan",
    "plan_anyway",
    "post_approval",
    "post_approval_request",
    "resume_now",
]


async def page(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    svc = services(context)
    value = button_value(action)
    check = svc.bot.report(value.get("c"))
    number = value.get("p")
    # Which systems' runs with no known time are listed ("Show them"): only names this
    # report has count, so a forged value can at most expand what the report holds.
    wanted = value.get("x")
    systems = {s.system for s in check.systems}
    expanded = (
        {x for x in wanted if isinstance(x, str) and x in systems}
        if isinstance(wanted, list)
        else set()
    )
    await reply(
        respond,
        messages.report_page(
            check,
            number if isinstance(number, int) else 0,
            needs_approval=svc.bot.settings.maintbot_resume_others_needs_approval,
            expanded=expanded,
        ),
        replace=True,
    )


async def pause_now(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    await _act(services(context), action, body, respond, client, pause=True)


async def resume_now(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    await _act(services(context), action, body, respond, client, pause=False)


async def _act(
    svc: Services,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    *,
    pause: bool,
) -> None:
    user = user_of(body)
    value = button_value(action)
    row = ReportRow(value.get("c"), value.get("i"))
    try:
        if pause:
            result = await svc.bot.pause_now(row, by=user, request_id=request_id(body))
            was: PauseNote | None = None
        else:
            channel = _approval_channel(svc, row, body)
            outcome = await svc.bot.resume_now(
                row, by=user, request_id=request_id(body), ask_in=channel
            )
            if isinstance(outcome, ResumeAsked):
                await _ask_to_resume(svc, outcome, channel, respond, client)
                return
            result, was = outcome.result, outcome.was
    except InProgress:
        check = svc.bot.report(row.check_id)
        name = check.conflict(row.index).task_name
        await reply_text(
            respond,
            f":hourglass_flowing_sand: A change to *{bk.fit(name, 300)}* is "
            "already in progress; its result follows.",
        )
        return
    # The bot read both from the stored report, so they are what it stored.
    assert isinstance(row.index, int)
    assert isinstance(row.check_id, str)
    await reply(respond, messages.action_result(row.check_id, row.index, result))
    if result.outcome == "ok":
        await _notifier(svc, client).announce(action_announcement(result, user, row.check_id, was))


def _approval_channel(svc: Services, row: ReportRow, body: dict[str, Any]) -> str:
    """Where a resume request would be posted ("" when there is nowhere)."""
    configured = svc.bot.settings.maintbot_approval_channel
    return configured or svc.bot.report(row.check_id).channel or channel_of(body)


async def _ask_to_resume(
    svc: Services,
    asked: ResumeAsked,
    channel: str,
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """Someone else's pause, and the policy wants an approver: post the resume request."""
    request = asked.request
    task = f"*{bk.fit(request.task_name, 300)}*"
    if not asked.new:
        await reply_text(
            respond,
            f":information_source: A request to resume {task} is already waiting for an "
            f"approver (asked by {messages.who(request.requested_by)} "
            f"{bk.date_token(request.created_at)}).",
        )
        return
    try:
        posted = await client.chat_postMessage(channel=channel, **notifier.resume_request(request))
    except SLACK_ERRORS as exc:
        # Nobody could see or decide it: withdraw it rather than leave it blocking the task.
        svc.bot.withdraw_resume_request(request.id, error=slack_error(exc))
        raise MaintbotError(
            f"Could not post the resume request in channel {channel} ({slack_error(exc)}); "
            "nothing was resumed. Invite the bot to that channel or set "
            "MAINTBOT_APPROVAL_CHANNEL, then click Resume again."
        ) from None
    posted_channel, ts = str(posted["channel"]), str(posted["ts"])
    svc.bot.resume_request_posted(request.id, posted_channel, ts)
    await reply_text(
        respond,
        f":raising_hand: {task} was {messages.pause_line(asked.note)}. Resuming someone "
        f"else's pause needs an approver: I asked in <#{bk.escape(posted_channel)}>. "
        "Nothing is resumed until one approves.",
    )
    await _notifier(svc, client).announce(notifier.request_announcement(request, posted_channel))


def _notifier(svc: Services, client: AsyncWebClient) -> notifier.SlackNotifier:
    return notifier.SlackNotifier(client, svc.bot.settings.maintbot_alert_channel)


async def plan(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Record the window with the report's active tasks and post the approval request; a
    window that overlaps another is not planned: the answer shows both, with Plan anyway."""
    await ack()
    await _plan(services(context), action, body, respond, client, overlap_ok=False)


async def plan_anyway(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Plan pause, told that the overlap with another window is fine."""
    await ack()
    await _plan(services(context), action, body, respond, client, overlap_ok=True)


async def _plan(
    svc: Services,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    *,
    overlap_ok: bool,
) -> None:
    check_id = button_value(action).get("c")
    check = svc.bot.report(check_id)
    channel = svc.bot.settings.maintbot_approval_channel or check.channel or channel_of(body)
    try:
        planned = svc.bot.plan_from_report(
            check_id, by=user_of(body), channel=channel, overlap_ok=overlap_ok
        )
    except OverlapError as exc:
        await reply(respond, messages.overlap_warning(exc, check.id))
        return
    window, tasks = planned.window.record, planned.window.tasks
    if planned.already or planned.approval is None:
        await reply_text(
            respond,
            ":information_source: Approval for this report was already requested "
            f"(window `{bk.escape(window.id)}`).",
        )
        return
    posted_channel = await post_approval(svc, client, planned, channel)
    overlap = (
        f" It overlaps {len(planned.overlaps)} other window(s), as you said is fine."
        if planned.overlaps
        else ""
    )
    await reply_text(
        respond,
        f":white_check_mark: Asked for approval in <#{bk.escape(posted_channel)}>: "
        f"{len(tasks)} task(s), window `{window.id}`. An approver has to say yes.{overlap}",
    )


async def post_approval_request(
    svc: Services,
    client: AsyncWebClient,
    channel: str,
    window: WindowRecord,
    approval: ApprovalRecord,
    tasks: Sequence[PlannedTask],
) -> tuple[str, str]:
    """Post a window's approval request (mentioning the approvers); where it went."""
    mention = await svc.directory.approver_mentions()
    posted = await client.chat_postMessage(
        channel=channel, **messages.approval_request(window, approval, tasks, mention=mention)
    )
    return str(posted["channel"]), str(posted["ts"])


async def post_approval(
    svc: Services, client: AsyncWebClient, planned: PlanResult, channel: str
) -> str:
    """Post a newly planned window's approval request and record where it went; the
    channel. If nobody could ever see it, the window is withdrawn rather than left with a
    pending approval that cannot be decided."""
    window, approval = planned.window.record, planned.approval
    assert approval is not None
    try:
        posted_channel, ts = await post_approval_request(
            svc, client, channel, window, approval, planned.window.tasks
        )
    except SLACK_ERRORS as exc:
        svc.bot.withdraw_window(window.id)
        raise MaintbotError(
            f"Could not post the approval request in channel {channel} "
            f"({slack_error(exc)}); the window was withdrawn. Invite the bot to that channel "
            "or set MAINTBOT_APPROVAL_CHANNEL, then plan again."
        ) from None
    svc.bot.approval_posted(approval.id, window.id, posted_channel, ts)
    return posted_channel
