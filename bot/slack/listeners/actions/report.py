"""Buttons on the conflict report: paging, "Pause now" / "Resume", "Plan pause".

Each value holds a check id (plus a page or a conflict index); what to act on is read from
the stored report, and who may act is checked again here, whatever the message showed.
Whose pause a Resume would lift is read from the vendor at the click: someone else's pause
becomes a resume request for an approver (MAINTBOT_RESUME_OTHERS_NEEDS_APPROVAL). Every
change made from a report is announced in MAINTBOT_ALERT_CHANNEL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import lifecycle
from bot.actions import (
    abandon_resume_request,
    changed_since,
    note_of_task,
    pause_detail,
    pause_now_reason,
    pause_task,
    request_resume,
    resume_task,
)
from bot.connectors.base import Connector
from bot.errors import ConnectorError, MaintbotError
from bot.model import Conflict, Task, TaskRef
from bot.render import PauseNote, plain_pause
from bot.slack import blocks as bk
from bot.slack import messages, notifier
from bot.slack.errors import SLACK_ERRORS
from bot.slack.notifier import action_announcement
from bot.slack.services import Services, button_value, request_id, services
from bot.slack.stored import StoredCheck, load_check
from bot.store import ApprovalRecord, ResumeRequestState, WindowRecord

__all__ = ["page", "pause_now", "plan", "resume_now"]


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


def _own(check: StoredCheck, user: str) -> None:
    if check.user and check.user != user:
        raise MaintbotError(
            "That report belongs to someone else; run `/maintenance check` yourself to act on "
            "its tasks."
        )


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
    check = load_check(svc.store, value.get("c"))
    number = value.get("p")
    await respond(
        response_type="ephemeral",
        replace_original=True,
        **messages.report_page(
            check,
            number if isinstance(number, int) else 0,
            needs_approval=svc.settings.maintbot_resume_others_needs_approval,
        ),
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
    user = _user(body)
    value = button_value(action)
    check = load_check(svc.store, value.get("c"))
    _own(check, user)
    index = value.get("i")
    conflict = check.conflict(index)
    assert isinstance(index, int)  # check.conflict() refused anything else
    connector = svc.connector(conflict.system)
    ref: TaskRef = conflict.ref
    if ref.key in svc.inflight:
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **messages.text_message(
                f":hourglass_flowing_sand: A change to *{bk.fit(conflict.task_name, 300)}* is "
                "already in progress; its result follows."
            ),
        )
        return
    svc.inflight.add(ref.key)
    was: PauseNote | None = None
    try:
        verb = "Paused" if pause else "Resumed"
        kwargs: dict[str, Any] = {
            "by": user,
            "reason": pause_now_reason(verb, user, check.id),
            "request_id": request_id(body),
            "now": svc.clock(),
            "name": conflict.task_name,
        }
        if pause:
            result = await pause_task(svc.store, connector, ref, **kwargs)
        else:
            # Whose pause this is, read now rather than trusted from the report.
            was = await _whose(svc, connector, ref)
            needs_approval = (await svc.policy()).resume_others_needs_approval
            if was is not None and was.others and needs_approval:
                await _ask_to_resume(svc, check, conflict, was, user, body, respond, client)
                return
            label = f"{conflict.task_name} ({ref.system})"
            kwargs["guard"] = _resume_guard(svc, was, label, needs_approval=needs_approval)
            if was is not None and was.others:
                kwargs["detail"] = pause_detail(was)
            result = await resume_task(svc.store, connector, ref, **kwargs)
    finally:
        svc.inflight.discard(ref.key)
    await respond(
        response_type="ephemeral",
        replace_original=False,
        **messages.action_result(check.id, index, result),
    )
    if result.outcome == "ok":
        await _notifier(svc, client).announce(action_announcement(result, user, check.id, was))


async def _whose(svc: Services, connector: Connector, ref: TaskRef) -> PauseNote | None:
    """Whose pause ``ref`` carries now; ``None`` when it is not paused or cannot be read
    (then the resume itself reads it again and reports the failure)."""
    try:
        task = await connector.read_state(ref)
    except ConnectorError:
        return None
    return note_of_task(svc.store, task) if task.paused else None


def _resume_guard(
    svc: Services, was: PauseNote | None, label: str, *, needs_approval: bool
) -> Callable[[Task], str | None]:
    """Judge the pause again on the read the resume acts on: one that became someone
    else's since (or that could not be read before) is not lifted without its due."""

    def guard(task: Task) -> str | None:
        now = note_of_task(svc.store, task)
        if not now.others:
            return None
        if was is not None and was.others:
            return changed_since(was, label)(task)
        if needs_approval:
            return (
                f"{label} is {plain_pause(now)}; resuming someone else's pause needs an "
                "approver. Click Resume again to ask one."
            )
        return None

    return guard


async def _ask_to_resume(
    svc: Services,
    check: StoredCheck,
    conflict: Conflict,
    was: PauseNote,
    user: str,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """Someone else's pause, and the policy wants an approver: post a resume request."""
    channel = (
        svc.settings.maintbot_approval_channel
        or check.channel
        or str((body.get("channel") or {}).get("id") or "")
    )
    if not channel:
        raise MaintbotError(
            "Resuming someone else's pause needs an approver, and I don't know where to ask; "
            "set MAINTBOT_APPROVAL_CHANNEL."
        )
    if not (await svc.policy()).approvers:
        # A request nobody may approve would only block the task until it expires.
        raise MaintbotError(
            "Resuming someone else's pause needs an approver, and none is configured: set "
            "MAINTBOT_APPROVERS, or ask the person who paused it to resume it."
        )
    now = svc.clock()
    request, new = request_resume(
        svc.store,
        conflict.ref,
        name=conflict.task_name,
        note=was,
        by=user,
        now=now,
        request_id=request_id(body),
        check_id=check.id,
    )
    task = f"*{bk.fit(conflict.task_name, 300)}*"
    if not new:
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **messages.text_message(
                f":information_source: A request to resume {task} is already waiting for an "
                f"approver (asked by {messages.who(request.requested_by)} "
                f"{bk.date_token(request.created_at)})."
            ),
        )
        return
    try:
        posted = await client.chat_postMessage(channel=channel, **notifier.resume_request(request))
    except SLACK_ERRORS as exc:
        # Nobody could see or decide it: withdraw it rather than leave it blocking the task.
        abandon_resume_request(svc.store, request.id, now=now, error=_slack_error(exc))
        raise MaintbotError(
            f"Could not post the resume request in channel {channel} ({_slack_error(exc)}); "
            "nothing was resumed. Invite the bot to that channel or set "
            "MAINTBOT_APPROVAL_CHANNEL, then click Resume again."
        ) from None
    posted_channel, ts = str(posted["channel"]), str(posted["ts"])
    svc.store.transition_resume_request(
        request.id,
        ResumeRequestState.PENDING,
        ResumeRequestState.PENDING,
        channel=posted_channel,
        message_ts=ts,
    )
    await respond(
        response_type="ephemeral",
        replace_original=False,
        **messages.text_message(
            f":raising_hand: {task} was {messages.pause_line(was)}. Resuming someone else's "
            f"pause needs an approver: I asked in <#{bk.escape(posted_channel)}>. Nothing is "
            "resumed until one approves."
        ),
    )
    await _notifier(svc, client).announce(notifier.request_announcement(request, posted_channel))


def _notifier(svc: Services, client: AsyncWebClient) -> notifier.SlackNotifier:
    return notifier.SlackNotifier(client, svc.settings.maintbot_alert_channel)


async def plan(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Record the window with the report's active tasks and post the approval request."""
    await ack()
    svc = services(context)
    user = _user(body)
    check = load_check(svc.store, button_value(action).get("c"))
    _own(check, user)
    claim = f"plan:{check.id}"
    # One window per report, however many times (or however fast) the button is clicked.
    if not svc.store.claim_kv(claim, _PENDING):
        existing = svc.store.get_kv(claim)
        where = f" (window `{bk.escape(existing)}`)" if existing and existing != _PENDING else ""
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **messages.text_message(
                f":information_source: Approval for this report was already requested{where}."
            ),
        )
        return
    try:
        window, approval = _plan(svc, check, user, body)
    except BaseException:
        svc.store.release_kv(claim, _PENDING)  # nothing was recorded: the button works again
        raise
    svc.store.set_kv(claim, window.id)
    planned = svc.store.window_tasks(window.id)
    channel = approval.channel or window.channel or ""
    try:
        posted = await client.chat_postMessage(
            channel=channel, **messages.approval_request(window, approval, planned)
        )
    except SLACK_ERRORS as exc:
        # Nobody could ever see or click this request: withdraw the window rather than leave
        # a pending approval that cannot be decided.
        lifecycle.cancel_window(svc.store, window.id, by=lifecycle.ACTOR, now=svc.clock())
        raise MaintbotError(
            f"Could not post the approval request in channel {channel} "
            f"({_slack_error(exc)}); the window was withdrawn. Invite the bot to that channel "
            "or set MAINTBOT_APPROVAL_CHANNEL, then plan again from a new check."
        ) from None
    posted_channel, ts = str(posted["channel"]), str(posted["ts"])
    svc.store.set_approval_message(approval.id, posted_channel, ts)
    # The window clock's alerts go into this thread.
    current = svc.store.get_window(window.id)
    svc.store.update_window_fields(window.id, current.version, channel=posted_channel, thread_ts=ts)
    await respond(
        response_type="ephemeral",
        replace_original=False,
        **messages.text_message(
            f":white_check_mark: Asked for approval in <#{bk.escape(posted_channel)}>: "
            f"{len(planned)} task(s), window `{window.id}`. An approver has to say yes."
        ),
    )


_PENDING = "pending"


def _plan(
    svc: Services, check: StoredCheck, user: str, body: dict[str, Any]
) -> tuple[WindowRecord, ApprovalRecord]:
    """Record the window with the report's active tasks, and its approval request."""
    tasks: dict[str, tuple[TaskRef, str]] = {}
    for conflict in check.active:
        tasks.setdefault(conflict.ref.key, (conflict.ref, conflict.task_name))
    if not tasks:
        raise MaintbotError("Nothing in this report is active, so there is nothing to plan.")
    channel = (
        svc.settings.maintbot_approval_channel
        or check.channel
        or str((body.get("channel") or {}).get("id") or "")
    )
    if not channel:
        raise MaintbotError(
            "I don't know where to post the approval request; set MAINTBOT_APPROVAL_CHANNEL."
        )
    window = lifecycle.plan_window(
        svc.store,
        check.window,
        list(tasks.values()),
        requested_by=user,
        now=svc.clock(),
        channel=channel,
    )
    try:
        approval = lifecycle.request_approval(
            svc.store, window.id, requested_by=user, now=svc.clock(), channel=channel
        )
    except BaseException:
        lifecycle.cancel_window(svc.store, window.id, by=lifecycle.ACTOR, now=svc.clock())
        raise
    return window, approval


def _slack_error(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            return str(response["error"])
        except (KeyError, TypeError):
            pass
    return type(exc).__name__
