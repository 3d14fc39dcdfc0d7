"""The plan dialog: opened from ``/maintenance plan``, a report's "Choose tasks…" and App
Home; redrawn when the window text or the scope changes; planned on submit.

A trigger is good for 3 seconds, and asking every scheduler takes longer than that, so
the dialog opens at once with a "looking up" view and the form replaces it. Errors a
person can fix are shown under the field they are about (``response_action: errors``);
the plan itself is one call on the application, which checks the ticked tasks against
the ones the dialog offered.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import LifecycleError, MaintbotError, OverlapError, WindowError
from bot.series import Series
from bot.service import PlanResult, WindowView
from bot.service.drafts import Draft, DraftError, Filter, shown
from bot.slack import blocks as bk
from bot.slack import dialogs, messages
from bot.slack.errors import SLACK_ERRORS, slack_error
from bot.slack.listeners.actions.report import post_approval
from bot.slack.listeners.editing import post_edit
from bot.slack.services import (
    Services,
    button_value,
    channel_of,
    direct_message,
    reply_text,
    services,
    user_of,
)

__all__ = ["from_button", "from_command", "from_edit_button", "redraw", "submit"]

log = logging.getLogger(__name__)


async def from_command(
    svc: Services,
    text: str,
    command: dict[str, Any],
    ack: AsyncAck,
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """``/maintenance plan [window]``; a recurring text plans a series (its first
    occurrence's conflicting tasks, one approval request) without the dialog."""
    await ack()
    user = str(command.get("user_id") or "")
    channel = str(command.get("channel_id") or "")
    if text:
        tz, locale = await svc.directory.zone_and_locale(user)
        series = svc.bot.parse_series(text, tz, (locale,) if locale else ())
        if series is not None:
            await _plan_series(svc, client, respond, series, user, channel)
            return
    await _open(svc, client, respond, command.get("trigger_id"), user, text, channel, None)


async def _plan_series(
    svc: Services,
    client: AsyncWebClient,
    respond: AsyncRespond,
    series: Series,
    user: str,
    channel: str,
) -> None:
    where = svc.bot.settings.maintbot_approval_channel or channel
    planned = await svc.bot.plan_series(series, by=user, channel=where, ask=True)
    first = PlanResult(WindowView(planned.first, planned.tasks), planned.approval)
    posted = await post_approval(svc, client, first, where)
    record = planned.series
    await reply_text(
        respond,
        f":repeat: Series `{bk.escape(record.id)}` planned: {bk.escape(record.text)} "
        f"(`RRULE:{bk.fit(record.rrule, 200)}`, {bk.fit(record.tz, 64)}). Its first occurrence "
        f"pauses {len(planned.tasks)} task(s); one approval in <#{bk.escape(posted)}> approves "
        "the series, and each later occurrence is checked again a day ahead.",
    )


async def from_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """ "Choose tasks…" under a report (value ``{"c": check}``) or "Plan a window" on Home."""
    await ack()
    svc = services(context)
    check_id = button_value(action).get("c")
    user = user_of(body)
    if check_id is not None:
        check = svc.bot.report(check_id)  # an unknown id: the error handler says so
        if check.user and check.user != user:
            raise MaintbotError(
                "That report belongs to someone else; run `/maintenance check` yourself to "
                "plan from it."
            )
    reply_to = respond if body.get("response_url") else None
    await _open(
        svc,
        client,
        reply_to,
        body.get("trigger_id"),
        user,
        "",
        channel_of(body),
        check_id if isinstance(check_id, str) else None,
    )


async def from_edit_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """ "Edit" on an approval request or on App Home (value ``{"w": window}``): the dialog,
    with the window's text and its tasks ticked. Who may, and whether it still can be, is
    checked before anything opens (a refusal is audited and told to the clicker)."""
    await ack()
    svc = services(context)
    user = user_of(body)
    record = await svc.bot.may_edit(button_value(action).get("w"), by=user)
    opened = await _open_loading(client, respond if body.get("response_url") else None, body)
    if opened is None:
        return
    draft = await svc.bot.draft_edit(record.id, by=user, channel=channel_of(body))
    form = dialogs.plan_view(draft, Filter(), set(draft.planned))
    await _update(client, opened, form)


async def _open_loading(
    client: AsyncWebClient, respond: AsyncRespond | None, body: dict[str, Any]
) -> dict[str, Any] | None:
    try:
        opened = await client.views_open(
            trigger_id=str(body.get("trigger_id") or ""), view=dialogs.loading_view()
        )
    except SLACK_ERRORS as exc:
        log.warning("could not open the plan dialog: %s", slack_error(exc))
        if respond is not None:
            await respond(
                response_type="ephemeral",
                replace_original=False,
                text=":warning: Slack did not open the dialog in time; try again.",
            )
        return None
    view: dict[str, Any] = opened["view"]
    return view


async def _open(
    svc: Services,
    client: AsyncWebClient,
    respond: AsyncRespond | None,
    trigger: object,
    user: str,
    text: str,
    channel: str,
    check_id: str | None,
) -> None:
    view = await _open_loading(client, respond, {"trigger_id": trigger})
    if view is None:
        return
    where = svc.bot.settings.maintbot_approval_channel or channel
    draft = await svc.bot.draft(
        text, by=user, tz=await svc.directory.tz(user), channel=where, check_id=check_id
    )
    ticked = {t.key for t in draft.tasks if t.active_conflict}
    await _update(client, view, dialogs.plan_view(draft, Filter(), ticked))


async def redraw(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """The window text was entered or a scope field changed: draw the form again, with the
    ticks kept for tasks still shown and the collisions ticked for tasks newly shown."""
    await ack()
    svc = services(context)
    view = body.get("view") or {}
    user = user_of(body)
    draft = svc.bot.load_draft(_draft_id(view), by=user)
    entered = dialogs.read_input(view, draft)
    before = dialogs.shown_keys(view)
    block = str(action.get("block_id") or "").split(".")[0]
    picked = dialogs.picked_text(view, draft) if block in (dialogs.STARTS, dialogs.ENDS) else None
    if block in (dialogs.STARTS, dialogs.ENDS) and (picked is None or picked == draft.text):
        return  # one picked, or an end before the start: nothing to read yet
    if picked is not None:
        # Both dates picked: that is the window now, written as text and read as typed.
        draft = await svc.bot.redraft(draft.id, by=user, text=picked)
        ticked = {t.key for t in shown(draft, entered.scope) if t.active_conflict}
    elif block == dialogs.WINDOW and entered.text != draft.text:
        draft = await svc.bot.redraft(draft.id, by=user, text=entered.text)
        ticked = {t.key for t in shown(draft, entered.scope) if t.active_conflict}
    else:
        draft = svc.bot.touch_draft(draft)
        now_shown = shown(draft, entered.scope)
        ticked = set(entered.ticked) | {
            t.key for t in now_shown if t.active_conflict and t.key not in before
        }
    form = dialogs.plan_view(
        draft, entered.scope, ticked, title=entered.title, reason=entered.reason
    )
    await _update(client, view, form)


async def submit(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    svc = services(context)
    view = body.get("view") or {}
    user = user_of(body)
    try:
        draft = svc.bot.load_draft(_draft_id(view), by=user)
    except DraftError as exc:
        await ack(response_action="errors", errors={dialogs.window_block(view): _fit(str(exc))})
        return
    entered = dialogs.read_input(view, draft)
    if entered.text != draft.text:
        # Typed but not read: the ticks were drawn for the old window.
        await ack(
            response_action="errors",
            errors={
                dialogs.window_block(view): "Press Enter in this field first: the task list "
                "and its ticks are still for the window as it read before."
            },
        )
        return
    if draft.editing is not None:
        await _submit_edit(svc, ack, client, view, draft, entered, user)
        return
    try:
        planned = svc.bot.plan_draft(
            draft.id,
            by=user,
            keys=sorted(entered.ticked),
            title=entered.title or None,
            reason=entered.reason or None,
            overlap_ok=entered.overlap_ok,
        )
    except OverlapError as exc:
        await ack(response_action="errors", errors={"overlap": _fit(str(exc))})
        return
    except (WindowError, DraftError) as exc:
        await ack(response_action="errors", errors={dialogs.window_block(view): _fit(str(exc))})
        return
    except LifecycleError as exc:
        field = dialogs.window_block(view) if entered.ticked else dialogs.first_task_block(view)
        await ack(response_action="errors", errors={field: _fit(str(exc))})
        return
    await ack(response_action="clear")
    await _announce(svc, client, planned, user, draft)


async def _submit_edit(
    svc: Services,
    ack: AsyncAck,
    client: AsyncWebClient,
    view: dict[str, Any],
    draft: Draft,
    entered: dialogs.DialogInput,
    user: str,
) -> None:
    """Save the edit, or show why not under the field concerned (nothing saved; the
    refusal is audited by the application)."""
    try:
        result = await svc.bot.edit_draft(
            draft.id,
            by=user,
            ticked=sorted(entered.ticked),
            shown=sorted(dialogs.shown_keys(view)),
            overlap_ok=entered.overlap_ok,
        )
    except OverlapError as exc:
        await ack(response_action="errors", errors={"overlap": _fit(str(exc))})
        return
    except MaintbotError as exc:
        await ack(response_action="errors", errors={dialogs.window_block(view): _fit(str(exc))})
        return
    await ack(response_action="clear")
    try:
        asked_in = await post_edit(svc, client, result, draft.channel)
    except MaintbotError as exc:
        await direct_message(client, user, f":warning: {bk.escape(str(exc))}")
        return
    said = messages.edit_result(result, asked_in=asked_in)
    try:
        await client.chat_postMessage(channel=user, **said)
    except SLACK_ERRORS as exc:
        log.warning("could not message %s: %s", user, slack_error(exc))


async def _announce(
    svc: Services, client: AsyncWebClient, planned: PlanResult, user: str, draft: Draft
) -> None:
    """Post the approval request and tell the requester (a dialog has no response_url,
    so they hear it in the app's direct messages)."""
    window = planned.window.record
    if planned.already or planned.approval is None:
        return
    try:
        channel = await post_approval(svc, client, planned, draft.channel)
    except MaintbotError as exc:
        await direct_message(client, user, f":warning: {bk.escape(str(exc))}")
        return
    count = len(planned.window.tasks)
    await direct_message(
        client,
        user,
        f":white_check_mark: Asked for approval in <#{bk.escape(channel)}>: {count} task(s), "
        f"window `{bk.escape(window.id)}`. An approver has to say yes.",
    )


async def _update(client: AsyncWebClient, view: dict[str, Any], form: dict[str, Any]) -> None:
    """Replace ``view`` unless someone changed it meanwhile (then theirs is newer)."""
    try:
        await client.views_update(view_id=str(view.get("id")), hash=view.get("hash"), view=form)
    except SLACK_ERRORS as exc:
        if slack_error(exc) == "hash_conflict":
            return  # a later redraw already replaced it
        log.warning("could not update the plan dialog: %s", slack_error(exc))


def _draft_id(view: dict[str, Any]) -> object:
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    return metadata.get("d") if isinstance(metadata, dict) else None


def _fit(text: str) -> str:
    return bk.fit(text, 300, escaped=False)
