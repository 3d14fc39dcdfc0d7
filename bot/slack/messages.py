"""Everything the bot says in Slack, as Block Kit payloads built from :mod:`bot.slack.blocks`.

Functions here take domain objects and return message payloads (``{"text", "blocks"}``);
they never call Slack. Every string that came from a vendor or a user goes through
``escape``/``fit`` before it lands in mrkdwn.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.conflicts import SystemGroup, common_reason, group_report
from bot.errors import OverlapError
from bot.format import length, utc_instant, window_name
from bot.lifecycle.notify import Alert, AlertItem, AlertList, Text
from bot.model import (
    ApprovalRecord,
    ApprovalState,
    Conflict,
    ConflictKind,
    PlannedTask,
    Window,
    WindowRecord,
    WindowState,
)
from bot.render import (
    PauseNote,
    describe_pause,
    display_name,
    hit_line,
    missing_note,
    plain_pause,
    unknown_line,
    when_text,
)
from bot.series import Occurrence, Series, describe
from bot.service.audit import AuditEntry, AuditTrail
from bot.service.editing import EditResult
from bot.service.pauses import ActionResult, HeldPaused
from bot.service.reports import StoredCheck
from bot.service.series import SeriesView
from bot.service.suggest import Suggestion
from bot.slack import blocks as bk
from bot.slack.registry import COMMAND, ActionId

__all__ = [
    "PAGE_SIZE",
    "action_result",
    "alert",
    "already_decided",
    "approval_request",
    "audit_trail",
    "echo",
    "edit_result",
    "help_message",
    "numbered",
    "overlap_warning",
    "page_count",
    "report_page",
    "series_intro",
    "series_line",
    "series_list",
    "status",
    "text_message",
    "windows_list",
]

PAGE_SIZE = 15  # conflicts per page: readable, and far under 50 blocks with the frame
NAME_LIMIT = 300  # a task name longer than this is cut (with "…") inside its row
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def who(actor: str | None) -> str:
    """A Slack user id as a mention; anything else (``clock``, a CLI name) escaped."""
    if not actor:
        return "someone"
    return f"<@{actor}>" if _USER.match(actor) else bk.fit(actor, 80)


def _mentioning(escaped: str, people: Sequence[str]) -> str:
    """``escaped`` with each Slack user id of ``people`` as a mention (user ids hold no
    character escaping changes, so they are found as written)."""
    for person in sorted(set(people), key=len, reverse=True):
        if _USER.match(person):
            escaped = re.sub(rf"(?<![<@\w]){re.escape(person)}(?!\w)", f"<@{person}>", escaped)
    return escaped


def _span(start: datetime, end: datetime) -> str:
    return f"{bk.date_token(start)} → {bk.date_token(end)}"


def echo(window: Window) -> str:
    """The window as every reader should see it: their own zone via ``<!date>`` tokens, the
    text it was read from, the zone it was read in, UTC, its real length and any DST note."""
    lines = [f"*Window:* {_span(window.start, window.end)} ({length(window.duration)})"]
    read = f"“{bk.fit(window.text, 200)}” " if window.text else ""
    start, end = (utc_instant(moment, suffix=False) for moment in (window.start, window.end))
    lines.append(f"Read {read}in {bk.fit(window.tz, 64)} · in UTC: {start} → {end}")
    lines.extend(f":warning: {bk.fit(note, 500)}" for note in window.notes)
    return "\n".join(lines)


def text_message(text: str) -> dict[str, Any]:
    """A short message of escaped mrkdwn, in a section so long text is still fitted."""
    return bk.message(text, [bk.section(text)])


# -- the conflict report -------------------------------------------------------------------
@dataclass(frozen=True)
class _Item:
    """One line of the report: a conflict (``index`` into the report) or, for a system's
    runs with no known time, the one line that stands for them (``unknown``)."""

    group: SystemGroup
    part: str  # "act", "unknown" or "held": the heading it goes under
    index: int = -1
    conflict: Conflict | None = None


def _items(check: StoredCheck, expanded: Collection[str]) -> list[_Item]:
    """The report in reading order: per system what to act on, its runs with no known
    time (one line unless ``expanded`` names the system), what is paused or stopped."""
    items: list[_Item] = []
    for group in group_report(check.report):
        items.extend(_Item(group, "act", i, c) for i, c in group.act)
        if group.unknown and group.system.system in expanded:
            items.extend(_Item(group, "unknown", i, c) for i, c in group.unknown)
        elif group.unknown:
            items.append(_Item(group, "unknown"))
        items.extend(_Item(group, "held", i, c) for i, c in group.held)
    return items


def page_count(check: StoredCheck, expanded: Collection[str] = ()) -> int:
    return max(1, math.ceil(len(_items(check, expanded)) / PAGE_SIZE))


def _system_line(group: SystemGroup) -> str:
    system = group.system
    name = f"*{bk.fit(system.label, 100)}* (`{bk.fit(system.system, 60)}`)"
    if not system.ok:
        return f":x: {name}: {bk.fit(system.error or 'failed', 1500)}"
    if not group.count:
        return f":white_check_mark: {name}: answered; nothing runs into the window"
    parts = [f"{len(group.act)} to act on"] if group.act else []
    predicted = sum(1 for _, c in group.act if c.predicted)
    if predicted:
        parts[0] += f" ({predicted} at times predicted from run history)"
    if group.unknown:
        parts.append(f"{len(group.unknown)} at an unknown time")
    if group.held:
        parts.append(f"{len(group.held)} already paused or stopped")
    return f":large_orange_circle: {name}: answered; {', '.join(parts)}"


def _systems_blocks(check: StoredCheck, room: int) -> list[bk.Block]:
    """One section per system while they fit in ``room`` blocks; packed otherwise, and
    counted (never silently dropped) if even that does not fit."""
    lines = [_system_line(g) for g in group_report(check.report)]
    if len(lines) <= min(10, room):
        return [bk.section(line) for line in lines]
    chunks = pack(lines, bk.LIMITS.section_text)
    if len(chunks) <= room:
        return [bk.section(chunk) for chunk in chunks]
    shown = chunks[: room - 1]
    hidden = len(lines) - sum(c.count("\n") + 1 for c in shown)
    return [
        *(bk.section(chunk) for chunk in shown),
        bk.context(f"…and {hidden} more system(s); `maintbot check` lists every one."),
    ]


def pack(lines: Sequence[str], limit: int) -> list[str]:
    """Join lines into chunks of at most ``limit`` characters, never splitting a line."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks


def pause_line(note: PauseNote) -> str:
    """Who paused a task, when and why, as mrkdwn (vendor text escaped, times as tokens)."""
    return describe_pause(
        note, when=bk.date_token, name=who, quote=lambda text: bk.fit(text, NAME_LIMIT)
    )


def _conflict_text(conflict: Conflict, pause: PauseNote | None = None) -> str:
    """A row: the task's name, then its conflict and time said once (a paused task: whose
    pause it is instead, since it does not fire unless someone resumes it), the detail."""
    text = f"*{bk.fit(conflict.task_name, NAME_LIMIT)}* · `{bk.fit(conflict.system, 60)}`\n"
    if conflict.paused:
        text += (
            f":double_vertical_bar: {pause_line(pause)}"
            if pause
            else ":double_vertical_bar: paused"
        )
        if conflict.at is not None and conflict.kind is not ConflictKind.MAY_FIRE:
            text += f" · would have been: {when_text(conflict, bk.date_token)}"
    else:
        text += when_text(conflict, bk.date_token)
    if conflict.detail:
        text += f"\n_{bk.fit(conflict.detail, 500)}_"
    return text


_HEADINGS = {
    "act": "to act on",
    "unknown": "may fire at an unknown time",
    "held": "already paused or stopped: they run only if someone resumes or restarts them",
}


def _heading(item: _Item, continued: bool) -> bk.Block:
    group = item.group
    count = len(getattr(group, item.part))
    more = " (continued)" if continued else ""
    return bk.context(
        f"*{bk.fit(group.system.label, 100)}* · {_HEADINGS[item.part]} ({count}){more}"
    )


def _unknown_block(
    check: StoredCheck, item: _Item, page: int, expanded: Collection[str]
) -> bk.Block:
    conflicts = [c for _, c in item.group.unknown]
    text = f":grey_question: *{bk.fit(unknown_line(item.group.system, conflicts), 300)}*"
    reason = common_reason(conflicts)
    if reason:
        text += f"\n_{bk.fit(reason, 500)}_"
    system = item.group.system.system
    show = bk.button(
        "Show them",
        ActionId.SHOW_UNKNOWN,
        {"c": check.id, "p": page, "x": sorted({*expanded, system})},
    )
    return bk.section(text, accessory=show, block_id=f"unknown-{bk.fit(system, 60, escaped=False)}")


def _task_button(
    check_id: str,
    index: int,
    name: str,
    system: str,
    *,
    pause: bool,
    paused: PauseNote | None = None,
    needs_approval: bool = True,
) -> dict[str, Any]:
    label = f"{name} on {system}"
    value = {"c": check_id, "i": index}
    if not pause and paused is not None and paused.others:
        # Someone else's pause: the dialog repeats whose it is before anyone undoes it.
        whose = plain_pause(paused, reason_limit=80)
        then = (
            "This asks an approver; nothing is resumed until one approves."
            if needs_approval
            else "Resume it now? The alert channel is told."
        )
        return bk.button(
            "Resume",
            ActionId.RESUME_NOW,
            value,
            confirm_dialog=bk.confirm(
                "Resume someone else's pause?",
                f"{bk.fit(name, 60, escaped=False)} on {system} was {whose}. {then}",
                ok="Ask an approver" if needs_approval else "Resume",
            ),
        )
    if pause:
        return bk.button(
            "Pause now",
            ActionId.PAUSE_NOW,
            value,
            style="danger",
            confirm_dialog=bk.confirm(
                "Pause this task now?",
                f"Pause {label} now? It stays paused until someone resumes it.",
                ok="Pause now",
                style="danger",
            ),
        )
    return bk.button(
        "Resume",
        ActionId.RESUME_NOW,
        value,
        confirm_dialog=bk.confirm(
            "Resume this task now?",
            f"Resume {label} now? Its schedule fires again from now on.",
            ok="Resume",
        ),
    )


def report_page(
    check: StoredCheck,
    page: int,
    *,
    needs_approval: bool = True,
    expanded: Collection[str] = (),
) -> dict[str, Any]:
    """One page of the report, grouped by system: what to act on first, then one line for
    the runs with no known time (each listed when ``expanded`` names its system, as the
    line's "Show them" asks), then what is already paused or stopped. Every page stands
    alone (name, window, counts, and a heading where a group continues); the system lines
    go on the first. Rows keep their index in the report, which their buttons carry.
    ``needs_approval``: whether resuming someone else's pause asks an approver (the
    policy), which its Resume button's dialog says."""
    items = _items(check, expanded)
    pages = max(1, math.ceil(len(items) / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    first = page * PAGE_SIZE
    shown = items[first : first + PAGE_SIZE]
    name = display_name(check.window)
    head: list[bk.Block] = [
        bk.header(name if pages == 1 else f"{name} (page {page + 1} of {pages})"),
        bk.section(echo(check.window)),
    ]
    active, paused = len(check.active), len(check.conflicts) - len(check.active)
    failed = sum(1 for s in check.systems if not s.ok)
    summary = [f"*{active}* to act on · *{paused}* already paused or stopped"]
    if pages > 1:
        summary.append(f"page {page + 1} of {pages} ({len(check.conflicts)} conflicts in all)")
    if failed:
        summary.append(f":x: {failed} system(s) did not answer")
    body: list[bk.Block] = [bk.context(" · ".join(summary)), bk.divider()]
    if not check.conflicts:
        body.append(bk.section("No task run collides with this window."))
    previous: tuple[str, str] | None = None
    for item in shown:
        where = (item.group.system.system, item.part)
        if where != previous:
            body.append(
                _heading(
                    item, continued=previous is None and page > 0 and _before(items, first, where)
                )
            )
            previous = where
        if item.conflict is None:
            body.append(_unknown_block(check, item, page, expanded))
            continue
        conflict = item.conflict
        pause = check.pause(conflict)
        body.append(
            bk.section(
                _conflict_text(conflict, pause),
                accessory=_task_button(
                    check.id,
                    item.index,
                    conflict.task_name,
                    conflict.system,
                    pause=not conflict.paused,
                    paused=pause,
                    needs_approval=needs_approval,
                ),
                block_id=f"conflict-{item.index}",
            )
        )
    tail: list[bk.Block] = []
    missing = missing_note(check.systems)
    if missing and active:
        # Beside Plan: a plan made now would leave that system's tasks running.
        tail.append(bk.context(f":warning: {bk.fit(missing, 1000)}"))
    nav = _navigation(check, page, pages, active, expanded, missing)
    if nav:
        tail.append(bk.actions(*nav, block_id="nav"))
    tail.append(bk.context(f"Checked {bk.date_token(check.checked_at)} · report `{check.id}`"))
    systems: list[bk.Block] = []
    if page == 0:
        room = bk.LIMITS.blocks_per_message - len(head) - len(body) - len(tail)
        systems = _systems_blocks(check, room)
    text = (
        f"{name}: {active} to act on, {paused} already paused or stopped"
        + (f", {failed} system(s) did not answer" if failed else "")
        + (f" (page {page + 1} of {pages})" if pages > 1 else "")
    )
    return bk.message(text, [*head, *systems, *body, *tail])


def _before(items: Sequence[_Item], first: int, where: tuple[str, str]) -> bool:
    """Whether the group at the top of a page began on an earlier page."""
    return first > 0 and (items[first - 1].group.system.system, items[first - 1].part) == where


def _navigation(
    check: StoredCheck,
    page: int,
    pages: int,
    active: int,
    expanded: Collection[str],
    missing: str | None,
) -> list[dict[str, Any]]:
    nav: list[dict[str, Any]] = []
    shown = {"x": sorted(expanded)} if expanded else {}
    if page > 0:
        nav.append(
            bk.button("◀ Previous", ActionId.PAGE_PREVIOUS, {"c": check.id, "p": page - 1, **shown})
        )
    if page < pages - 1:
        nav.append(bk.button("Next ▶", ActionId.PAGE_NEXT, {"c": check.id, "p": page + 1, **shown}))
    if active:
        lacking = f" {missing}" if missing else ""
        # Counted per task, as the approval request counts them: a task with two
        # colliding runs is one row more in the report but one task to pause.
        active = len({c.ref.key for c in check.active})
        nav.append(
            bk.button(
                "Plan pause for this window",
                ActionId.PLAN,
                {"c": check.id},
                style="primary",
                confirm_dialog=bk.confirm(
                    "Ask for approval?",
                    f"Post an approval request to pause the {active} active task(s) for this "
                    "window? Nothing is paused until an approver says yes and the window "
                    f"starts.{lacking}",
                    ok="Ask",
                ),
            )
        )
    # The dialog: choose the scope and the tasks, title the window, give a reason.
    nav.append(bk.button("Choose tasks…", ActionId.PLAN_DIALOG, {"c": check.id}))
    return nav


def action_result(check_id: str, index: int, result: ActionResult) -> dict[str, Any]:
    """What a "Pause now"/"Resume" click did, with the button that undoes (or retries) it."""
    icon = {"ok": ":white_check_mark:", "no_change": ":information_source:"}.get(
        result.outcome, ":warning:"
    )
    text = f"{icon} {bk.fit(result.message, 2500)}"
    now_paused = (result.action == "pause") == (result.outcome != "failed")
    if result.outcome == "refused":
        return text_message(text)
    button = _task_button(check_id, index, result.name, result.ref.system, pause=not now_paused)
    return bk.message(text, [bk.section(text, accessory=button)])


# -- approvals -----------------------------------------------------------------------------
def _task_lines(tasks: Sequence[PlannedTask]) -> list[str]:
    return [f"• *{bk.fit(t.task_name, 150)}* (`{bk.fit(t.system, 60)}`)" for t in tasks]


_MAX_TASK_SECTIONS = 40


def _task_sections(tasks: Sequence[PlannedTask]) -> list[bk.Block]:
    chunks = pack(_task_lines(tasks), bk.LIMITS.section_text)
    if len(chunks) > _MAX_TASK_SECTIONS:
        shown = sum(c.count("\n") + 1 for c in chunks[: _MAX_TASK_SECTIONS - 1])
        chunks = [
            *chunks[: _MAX_TASK_SECTIONS - 1],
            f"…and {len(tasks) - shown} more; `maintbot windows --json` lists them all.",
        ]
    return [bk.section(c) for c in chunks]


def approval_request(
    window: WindowRecord,
    approval: ApprovalRecord,
    tasks: Sequence[PlannedTask],
    *,
    mention: str = "",
) -> dict[str, Any]:
    """The approval request: a normal message (so it can be updated in place), pinging
    the approvers (``mention``: their Slack mentions)."""
    body = _approval_frame(window, approval, tasks)
    if window.series_id is not None:
        body.append(
            bk.context(
                f":repeat: This is the first occurrence of series `{bk.escape(window.series_id)}`"
                f" (“{bk.fit(window.text, 200)}”): approving it approves the series, whose "
                "later occurrences are each checked again and planned a day ahead; rejecting "
                "it drops the series."
            )
        )
    if mention:
        body.append(bk.section(f":bell: Approvers: {mention}, please decide.", block_id="ask"))
    value = {"a": approval.id}
    body.append(
        bk.actions(
            bk.button(
                "Approve",
                ActionId.APPROVE,
                value,
                style="primary",
                confirm_dialog=bk.confirm(
                    "Approve this window?",
                    f"Approve pausing {len(tasks)} task(s) for this window? They are paused "
                    "when it starts and resumed when it ends.",
                    ok="Approve",
                ),
            ),
            bk.button(
                "Reject",
                ActionId.REJECT,
                value,
                style="danger",
                confirm_dialog=bk.confirm(
                    "Reject this window?",
                    "Reject the request? The window is dropped and nothing is paused; the "
                    "requester has to plan it again.",
                    ok="Reject",
                    style="danger",
                ),
            ),
            _edit_button(window),
            block_id="decision",
        )
    )
    text = (
        f"Approval needed: {who(window.requested_by)} asks to pause {len(tasks)} task(s) "
        f"for {_span(window.start, window.end)}" + (f" ({mention})" if mention else "")
    )
    return bk.message(text, body)


def approval_decided(
    window: WindowRecord, approval: ApprovalRecord, tasks: Sequence[PlannedTask]
) -> dict[str, Any]:
    """The approval request after a decision: the buttons give way to who decided when,
    and, once the window has moved on, to what it is now (cancelled, active, ended…)."""
    body = _approval_frame(window, approval, tasks)
    line = decision_line(approval)
    body.append(bk.section(line, block_id="decision"))
    now = window_state_line(window)
    if approval.state is ApprovalState.APPROVED and window.state is not WindowState.APPROVED:
        body.append(bk.section(now, block_id="state"))
        line = now
    if approval.state is ApprovalState.APPROVED and window.state is WindowState.APPROVED:
        # Until it starts it can still be moved or changed (wider needs approval again).
        body.append(bk.actions(_edit_button(window), block_id="edit"))
    return bk.message(f"Maintenance window {window.id}: {line}", body)


def _edit_button(window: WindowRecord) -> dict[str, Any]:
    return bk.button("Edit…", ActionId.EDIT_DIALOG, {"w": window.id})


_STATE_ICONS = {
    WindowState.PLANNED: ":hourglass_flowing_sand:",
    WindowState.APPROVED: ":calendar:",
    WindowState.ACTIVE: ":construction:",
    WindowState.COMPLETED: ":white_check_mark:",
    WindowState.COMPLETED_WITH_EXCEPTIONS: ":large_yellow_circle:",
    WindowState.FAILED: ":rotating_light:",
    WindowState.CANCELLED: ":no_entry_sign:",
}


def window_state_line(window: WindowRecord) -> str:
    """The window's state now, in words, with its times as date tokens."""
    icon = _STATE_ICONS[window.state]
    state = window.state
    if state is WindowState.PLANNED:
        text = "Waiting for an approver"
    elif state is WindowState.APPROVED:
        text = f"Approved; starts {bk.date_token(window.start)}"
    elif state is WindowState.ACTIVE:
        since = window.started_at or window.start
        text = f"Active since {bk.date_token(since)}; ends {bk.date_token(window.end)}"
    else:
        when = f" at {bk.date_token(window.finished_at)}" if window.finished_at else ""
        text = f"{state.label.capitalize()}{when}"
    return f"{icon} *{text}*"


def window_thread_root(
    window: WindowRecord, approval: ApprovalRecord | None, tasks: Sequence[PlannedTask]
) -> dict[str, Any]:
    """The first message of a window's thread in the alert channel: what the window is and
    its state now (redrawn on every change); the changes themselves are its replies."""
    name = bk.escape(window_name(window.start, window.end, window.tz, window.title))
    lines = [
        f":spiral_calendar_pad: Maintenance window *{name}* "
        f"({_span(window.start, window.end)}), requested by {who(window.requested_by)}: "
        f"{len(tasks)} task(s) to pause.",
        window_state_line(window),
    ]
    if window.reason:
        lines.append(f"Reason: {bk.fit(window.reason, 500)}")
    blocks = [
        bk.section("\n".join(lines), block_id="window"),
        bk.context(
            f"Window `{bk.escape(window.id)}`"
            + (f" · request `{bk.escape(approval.id)}`" if approval is not None else "")
            + " · every change to it is posted in this thread"
        ),
    ]
    return bk.message(f"Maintenance window {name}: {window.state.label}", blocks)


def decision_line(approval: ApprovalRecord) -> str:
    when = bk.date_token(approval.decided_at) if approval.decided_at else "an unknown time"
    if approval.state is ApprovalState.APPROVED:
        return f":white_check_mark: Approved by {who(approval.decided_by)} at {when}"
    if approval.state is ApprovalState.REJECTED:
        why = f": “{bk.fit(approval.reason, 500)}”" if approval.reason else ""
        return f":x: Rejected by {who(approval.decided_by)} at {when}{why}"
    if approval.state is ApprovalState.EXPIRED:
        return f":hourglass: Expired at {bk.date_token(approval.expires_at)} without a decision"
    if approval.state is ApprovalState.SUPERSEDED:
        return (
            f":pencil2: Replaced at {when}: the window was edited and needs a new approval "
            "(see the newer request)"
        )
    expires = bk.date_token(approval.expires_at)
    return f":hourglass_flowing_sand: Waiting for an approver (expires {expires})"


def decision_for_requester(window: WindowRecord, approval: ApprovalRecord) -> dict[str, Any]:
    """The direct message to the requester once their window is decided."""
    name = f"“{bk.fit(window.text, 200)}” " if window.text else ""
    text = (
        f"Your maintenance window {name}(`{bk.escape(window.id)}`, "
        f"{_span(window.start, window.end)}): {decision_line(approval)}."
    )
    return text_message(text)


def already_decided(approval: ApprovalRecord) -> dict[str, Any]:
    """For the second click: what already happened, and by whom."""
    when = bk.date_token(approval.decided_at) if approval.decided_at else "an unknown time"
    if approval.state is ApprovalState.APPROVED:
        text = f"Already approved by {who(approval.decided_by)} at {when}."
    elif approval.state is ApprovalState.REJECTED:
        text = f"Already rejected by {who(approval.decided_by)} at {when}."
    elif approval.state is ApprovalState.EXPIRED:
        text = "This request expired before anyone decided; ask for a new one."
    elif approval.state is ApprovalState.SUPERSEDED:
        text = "The window was edited since; decide on the newer request instead."
    else:
        text = "This request is still waiting for a decision."
    return text_message(text)


def _approval_frame(
    window: WindowRecord, approval: ApprovalRecord, tasks: Sequence[PlannedTask]
) -> list[bk.Block]:
    intro = (
        f"{who(window.requested_by)} asks to pause *{len(tasks)}* task(s) during this "
        f"maintenance window."
    )
    return [
        bk.header("Maintenance window approval"),
        bk.section(f"{intro}\n{echo(window.window)}"),
        *_task_sections(tasks),
        bk.context(
            f"Window `{window.id}` · request `{approval.id}` · "
            f"expires {bk.date_token(approval.expires_at)}"
        ),
    ]


# -- the window clock's alerts -------------------------------------------------------------
_ALERT_ICONS = {
    "approved": ":white_check_mark:",
    "rejected": ":x:",
    "extended": ":hourglass_flowing_sand:",
    "ended_early": ":checkered_flag:",
    "cancelled": ":no_entry_sign:",
    "edited": ":pencil2:",
    "reminder": ":alarm_clock:",
    "start": ":construction:",
    "before_end": ":hourglass_flowing_sand:",
    "end": ":checkered_flag:",
    "pause_failed": ":warning:",
    "resume_failed": ":rotating_light:",
    "late": ":warning:",
    "resolved": ":white_check_mark:",
    "not_approved": ":no_entry_sign:",
}

_ALERT_BUTTONS: dict[str, tuple[str, ActionId, bool]] = {
    # action → (label, action id, needs a confirm dialog)
    "end_now": ("End now", ActionId.END_NOW, True),
    "retry_pause": ("Retry pause", ActionId.RETRY_PAUSE, False),
    "retry_resume": ("Retry resume", ActionId.RETRY_RESUME, False),
    "take_over": ("I'll handle it", ActionId.TAKE_OVER, True),
}


def alert(
    window: WindowRecord,
    kind: str,
    text: str | Alert,
    actions: Sequence[str],
    *,
    people: Sequence[str] = (),
) -> dict[str, Any]:
    """An alert from the window clock, with buttons for what can be done about it; the
    ``people`` it names by their Slack user id are mentioned.

    An :class:`Alert` becomes a headline section, a section per list (long lists cut with
    "and N more") and its notes, every instant a ``<!date>`` token so each reader sees
    their own zone; the message's ``text`` (notifications, screen readers) is the headline
    alone. A plain ``str`` is shown as it is, in one section.
    """
    icon = _ALERT_ICONS.get(kind, ":information_source:")
    if isinstance(text, str):
        body = f"{icon} {_mentioning(bk.fit(text, 2800), people)}"
        blocks: list[bk.Block] = [bk.section(body)]
    else:
        body = f"{icon} {_mentioning(_words(text.headline), people)}"
        blocks = [bk.section(body)]
        room = bk.LIMITS.blocks_per_message - 4  # headline, notes, context, buttons
        blocks += [_alert_list(x) for x in text.lists if x.items][:room]
        if text.notes:
            blocks.append(bk.section("\n".join(_words(n) for n in text.notes)))
    blocks.append(bk.context(f"Window `{window.id}` · {_span(window.start, window.end)}"))
    buttons = [extend_select(window)] if "extend" in actions else []
    for name in actions:
        spec = _ALERT_BUTTONS.get(name)
        if spec is None:
            continue
        label, action_id, needs_confirm = spec
        dialog = (
            bk.confirm(f"{label}?", f"{label} for maintenance window {window.id}?", ok=label)
            if needs_confirm
            else None
        )
        style: bk.Style | None = "danger" if action_id is ActionId.END_NOW else None
        buttons.append(
            bk.button(label, action_id, {"w": window.id}, style=style, confirm_dialog=dialog)
        )
    if buttons:
        blocks.append(bk.actions(*buttons, block_id="alert-actions"))
    return bk.message(body, blocks)


# Lengths offered by an alert's "Extend by…" menu; any other is `/maintenance extend ID 45m`.
EXTEND_CHOICES = (15, 30, 45, 60, 120, 240)


def extend_select(window: WindowRecord) -> dict[str, Any]:
    return bk.select(
        "Extend by…",
        ActionId.EXTEND,
        [(length(timedelta(minutes=m)), {"w": window.id, "m": m}) for m in EXTEND_CHOICES],
    )


_ALERT_ITEMS = 15  # items a list shows before "and N more": a glance, not a report
_ALERT_ROOM = 2800  # characters of a list's section, under Slack's 3000


def _words(text: Text) -> str:
    """Alert text as mrkdwn: words escaped (and cut), instants as ``<!date>`` tokens."""
    return "".join(
        bk.date_token(part) if isinstance(part, datetime) else bk.fit(part, 1500) for part in text
    )


def _alert_item(item: AlertItem) -> str:
    label = f"*{bk.fit(item.name, 150)}*"
    if item.system:
        label += f" (`{bk.fit(item.system, 60)}`)"
    return f"• {label}: {_words(item.detail)}" if item.detail else f"• {label}"


def _alert_list(listed: AlertList) -> bk.Block:
    mark = ":warning: " if listed.warn else ""
    lines = [f"{mark}*{bk.escape(listed.title)}* ({len(listed.items)})"]
    used = len(lines[0])
    shown = 0
    for item in listed.items[:_ALERT_ITEMS]:
        line = _alert_item(item)
        if used + len(line) + 1 > _ALERT_ROOM and shown:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    if shown < len(listed.items):
        lines.append(f"…and {len(listed.items) - shown} more")
    return bk.section("\n".join(lines))


# -- list / status / audit / help ----------------------------------------------------------
def window_line(window: WindowRecord, task_count: int) -> str:
    return (
        f"`{window.id}` · *{window.state.label}* · {_span(window.start, window.end)} · "
        f"{task_count} task(s) · requested by {who(window.requested_by)}"
        + (f", approved by {who(window.approved_by)}" if window.approved_by else "")
    )


def series_intro(series: Series, shown: Sequence[Occurrence]) -> dict[str, Any]:
    """What a recurring ``check`` is about, before the report of each occurrence: the rule
    in words and as RFC 5545 has it, its zone and end, and the dates it checks (one that
    cannot happen, in a DST gap, says so here and gets no report)."""
    end = (
        f"until {bk.date_token(series.until)}"
        if series.until is not None
        else f"{series.count} times"
        if series.count
        else "no end"
    )
    name = f"*{bk.fit(series.title, 150)}* · " if series.title else ""
    lines = [
        f"{name}*Recurring:* {bk.escape(describe(series))} ({end}), read in "
        f"{bk.fit(series.tz, 64)} · `RRULE:{bk.fit(series.rrule, 300)}`",
        f"The next {len(shown)} occurrence(s), each checked on its own below:",
    ]
    for number, occurrence in enumerate(shown, start=1):
        if occurrence.window is None:
            lines.append(
                f"{number}. {occurrence.day.isoformat()}: cannot happen "
                f"({bk.fit(occurrence.problem or 'a DST gap', 300)})"
            )
        else:
            lines.append(f"{number}. {_span(occurrence.window.start, occurrence.window.end)}")
    text = "\n".join(lines)
    return bk.message(text, [bk.section(text)])


def numbered(message: dict[str, Any], label: str) -> dict[str, Any]:
    """``message`` with ``label`` (e.g. "Occurrence 2 of 3") before its first section's
    text, so the message keeps its number of blocks (a report page may use them all)."""
    blocks = [dict(b) for b in message.get("blocks", [])]
    for block in blocks:
        if block.get("type") in ("header", "section") and isinstance(block.get("text"), dict):
            text = dict(block["text"])
            plain = text.get("type") == "plain_text"
            limit = bk.LIMITS.header_text if block["type"] == "header" else bk.LIMITS.section_text
            prefix = f"{label} · " if plain else f"*{bk.escape(label)}* · "
            text["text"] = prefix + str(text.get("text", ""))
            if len(text["text"]) > limit:
                text["text"] = text["text"][: limit - 1] + "…"
            block["text"] = text
            break
    fallback = f"{label}: {message.get('text', '')}"
    return {**message, "text": fallback[:3000], "blocks": blocks}


def series_line(view: SeriesView) -> str:
    """A series in a list: its id, state, rule as typed, zone, and its next occurrence."""
    r = view.record
    name = f"*{bk.fit(r.title, 150)}* · " if r.title else ""
    upcoming = view.next_window
    if upcoming is not None:
        nxt = f"next {_span(upcoming.start, upcoming.end)}"
    else:
        first = next((o.window for o in view.upcoming if o.window is not None), None)
        nxt = (
            f"next {_span(first.start, first.end)}"
            if first is not None
            else "next occurrence not planned yet"
        )
    return (
        f"`{r.id}` · {name}*{r.state.label}* · “{bk.fit(r.text, 150)}” in "
        f"{bk.fit(r.tz, 64)} · {nxt} · requested by {who(r.requested_by)}"
        + (f", approved by {who(r.approved_by)}" if r.approved_by else "")
    )


def series_list(views: Sequence[SeriesView]) -> dict[str, Any]:
    if not views:
        return text_message(
            f"No recurring maintenance; `{COMMAND} plan every Saturday 2-4am` plans one."
        )
    return _listing(f"{len(views)} series", [series_line(v) for v in views])


def windows_list(
    rows: Sequence[tuple[WindowRecord, int]], series: Sequence[SeriesView] = ()
) -> dict[str, Any]:
    if not rows and not series:
        return text_message("No planned or active maintenance windows.")
    lines = [series_line(v) for v in series] + [window_line(w, n) for w, n in rows]
    title = f"{len(rows)} planned or active window(s)"
    if series:
        title += f" and {len(series)} series"
    return _listing(title, lines)


def status_lines(held: HeldPaused) -> list[str]:
    lines = []
    for task, window in held.windows:
        since = bk.date_token(task.paused_at) if task.paused_at else "an unknown time"
        lines.append(
            f"• *{bk.fit(task.task_name, 150)}* (`{bk.fit(task.system, 60)}`) since {since} "
            f"for window `{window.id}` (ends {bk.date_token(window.end)})"
        )
    for row in held.immediate:
        name = (row.detail or {}).get("name") or row.task_id or "?"
        lines.append(
            f"• *{bk.fit(str(name), 150)}* (`{bk.fit(row.system or '?', 60)}`) since "
            f"{bk.date_token(row.at)}, paused now by {who(row.actor)}"
        )
    return lines


def status(held: HeldPaused) -> dict[str, Any]:
    lines = status_lines(held)
    if not lines:
        return text_message("The bot holds nothing paused.")
    return _listing(f"The bot holds {len(lines)} task(s) paused", lines)


def audit_line(entry: AuditEntry) -> str:
    """One call or change: when (each reader's zone), who, what, on which task (by name,
    with its id) or window, and how it ended; an attempt with no outcome says so."""
    row = entry.row
    if row.task_id:
        task = f"{row.system}:{row.task_id}" if row.system else row.task_id
        target = f"`{bk.fit(task, 120)}`"
        if entry.task_name:
            target = f"*{bk.fit(entry.task_name, 150)}* ({target})"
        if row.window_id:
            target += f" in window `{bk.fit(row.window_id, 40)}`"
    elif row.window_id:
        target = f"window `{bk.fit(row.window_id, 40)}`"
    else:
        target = f"`{bk.fit(row.system or '-', 60)}`"
    outcome = (
        "_no answer recorded (in flight, or the bot stopped)_"
        if entry.unanswered
        else f"*{bk.fit(row.outcome, 40)}*"
    )
    line = (
        f"{bk.date_token(row.at, fmt='{date_short} {time_secs}')} {who(row.actor)} "
        f"{bk.fit(row.action, 40)} {target} → {outcome}"
    )
    if row.error:
        line += f" ({bk.fit(row.error, 300)})"
    elif row.reason:
        line += f": “{bk.fit(row.reason, 200)}”"
    return line


def audit_trail(trail: AuditTrail) -> dict[str, Any]:
    if not trail.entries:
        return text_message(trail.empty_text())
    described = trail.filters.describe()
    matching = f", {bk.fit(described, 300)}" if described else ""
    return _listing(
        f"Audit trail{matching}, newest first ({len(trail.entries)} line(s), one per call; "
        "`maintbot audit` shows the same)",
        [audit_line(e) for e in trail.entries],
    )


def _listing(title: str, lines: Sequence[str]) -> dict[str, Any]:
    """A title and lines, packed into as many sections as fit one message; what does not
    fit is counted, never dropped silently."""
    chunks = pack(lines, bk.LIMITS.section_text)
    room = bk.LIMITS.blocks_per_message - 2
    blocks = [bk.section(f"*{title}*"), *(bk.section(c) for c in chunks[:room])]
    if len(chunks) > room:
        shown = sum(c.count("\n") + 1 for c in chunks[:room])
        blocks.append(bk.context(f"…and {len(lines) - shown} more not shown."))
    return bk.message(title, blocks)


HELP = (
    "*/maintenance* — check a maintenance window against the job schedulers and pause what "
    "collides with it.\n"
    f"• `{COMMAND} check Saturday 2-4am` — the runs that collide with a window (read in your "
    "Slack time zone unless the text names one, e.g. `Saturday 2-4am UTC`)\n"
    f"• `{COMMAND} plan [Saturday 2-4am]` — the plan dialog: title, reason, the window, "
    "the systems and groups, and the tasks to pause\n"
    f"• `{COMMAND} suggest 2h [tomorrow 00:00 for 24h]` — the three least disturbing "
    "2-hour slots in a range (default: the next 7 days), each with a Plan this button\n"
    f"• `{COMMAND} list` — planned and active windows\n"
    f"• `{COMMAND} status` — what the bot holds paused, and since when\n"
    f"• `{COMMAND} cancel &lt;window id&gt;` — cancel a planned window\n"
    f"• `{COMMAND} edit &lt;window id&gt; Saturday 3-5am` — move a window that has not "
    "started or change its length (a wider window needs an approver again)\n"
    f"• `{COMMAND} extend &lt;window id&gt; 45m` — keep a window open longer (any length)\n"
    f"• `{COMMAND} end &lt;window id&gt;` — end an active window now and resume its tasks\n"
    f"• `{COMMAND} audit [n] [window &lt;id&gt;] [by @person] [system &lt;name&gt;] "
    "[since 2h] [until 2026-11-18]` — the audit trail, newest first (default 20 lines)\n"
    f"• `{COMMAND} series` — recurring maintenance: `series skip ID DATE`, `series move ID "
    "DATE TEXT`, `series end ID`, `series cancel ID`\n"
    f"• `{COMMAND} calendar` — the address to subscribe to the maintenance calendar "
    "(Google Calendar, Outlook)\n"
    f"• `{COMMAND} help` — this text"
)


def calendar_link(url: str | None) -> dict[str, Any]:
    """The feed's address for the person who asked (the command's answer is theirs alone:
    whoever has the address reads the calendar), or why there is none."""
    if url is None:
        return text_message(
            "The maintenance calendar has no address yet: whoever runs maintbot sets "
            "`MAINTBOT_PUBLIC_URL` to where it is reached (e.g. https://maintbot.example.com)."
        )
    return text_message(
        f":spiral_calendar_pad: Subscribe to the maintenance calendar at <{url}> (Google "
        "Calendar: Other calendars → From URL; Outlook: Add calendar → Subscribe from web). "
        "Keep it to your team: anyone with the address can read the calendar."
    )


def help_message(error: str | None = None) -> dict[str, Any]:
    """Usage, after ``error`` (raw text, escaped here) when the command was not understood."""
    blocks: list[bk.Block] = []
    if error:
        blocks.append(bk.section(f":warning: {bk.fit(error, 2000)}"))
    blocks.append(bk.section(HELP))
    return bk.message(bk.fit(error, 2000) if error else "How to use /maintenance", blocks)


# -- the reject dialog ------------------------------------------------------------------------
def reason_view(metadata: dict[str, str]) -> dict[str, Any]:
    """Asks an approver why they reject, before anything is decided."""
    return bk.modal_view(
        {
            "type": "modal",
            "callback_id": "reject_reason",
            "title": bk.plain("Reject this window", 24),
            "submit": bk.plain("Reject", 24),
            "close": bk.plain("Cancel", 24),
            "private_metadata": json.dumps(metadata, separators=(",", ":")),
            "blocks": [
                bk.section(
                    "The requester and the window's thread are told the reason. Nothing is "
                    "rejected until you press Reject."
                ),
                {
                    "type": "input",
                    "block_id": "reason",
                    "label": bk.plain("Why?", 2000),
                    "element": {
                        "type": "plain_text_input",
                        "action_id": "reason",
                        "multiline": True,
                        "max_length": 500,
                        "placeholder": bk.plain("e.g. clashes with the year-end freeze", 150),
                    },
                },
            ],
        }
    )


def reason_metadata(view: dict[str, Any]) -> dict[str, str]:
    try:
        found = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        found = {}
    found = found if isinstance(found, dict) else {}
    return {key: str(found.get(key) or "") for key in ("a", "c", "t")}


def reason_given(view: dict[str, Any]) -> str:
    values = ((view.get("state") or {}).get("values") or {}).get("reason") or {}
    value = (values.get("reason") or {}).get("value") if isinstance(values, dict) else None
    return value.strip() if isinstance(value, str) else ""


# -- overlaps and edits ------------------------------------------------------------------------
def _window_line(record: WindowRecord) -> str:
    name = window_name(record.start, record.end, record.tz, record.title)
    return (
        f"• `{bk.escape(record.id)}` *{bk.fit(name, 200)}* ({_span(record.start, record.end)}), "
        f"{record.state.label}, requested by {who(record.requested_by)}"
    )


def overlap_warning(error: OverlapError, check_id: str) -> dict[str, Any]:
    """The answer to Plan pause when the window overlaps others: both windows, nothing
    saved, and a button that plans it anyway."""
    window = error.window
    name = window_name(window.start, window.end, window.tz)
    lines = [
        f":warning: *{bk.fit(name, 200)}* ({_span(window.start, window.end)}) overlaps "
        + (
            "another maintenance window:"
            if len(error.overlaps) == 1
            else f"{len(error.overlaps)} other maintenance windows:"
        ),
        *(_window_line(o) for o in error.overlaps[:20]),
        "Nothing was planned. If both should run, plan it anyway; otherwise check another time.",
    ]
    blocks = [
        bk.section("\n".join(lines)),
        bk.actions(
            bk.button("Plan anyway", ActionId.PLAN_ANYWAY, {"c": check_id}, style="primary"),
            block_id="overlap",
        ),
    ]
    return bk.message(f"{name} overlaps another maintenance window", blocks)


def edit_result(result: EditResult, *, asked_in: str | None = None) -> dict[str, Any]:
    """The difference an edit made, for the person who made it."""
    before, record = result.before, result.record
    lines = [f":pencil2: Edited maintenance window `{bk.escape(record.id)}`."]
    if result.moved:
        lines.append(
            f"*Was:* {_span(before.start, before.end)} ({length(before.end - before.start)})"
        )
        lines.append(
            f"*Now:* {_span(record.start, record.end)} ({length(record.end - record.start)})"
        )
    for label, rows in (("Added", result.added), ("Removed", result.removed)):
        if rows:
            names = ", ".join(
                f"*{bk.fit(r.task_name, 100)}* (`{bk.fit(r.system, 60)}`)" for r in rows[:10]
            )
            more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
            lines.append(f"*{label}:* {names}{more}")
    change = result.conflicts
    counts = [
        f"{len(change.appeared)} new conflict(s)" if change.appeared else "",
        f"{len(change.disappeared)} conflict(s) gone" if change.disappeared else "",
    ]
    if any(counts):
        lines.append("*Conflicts:* " + ", ".join(c for c in counts if c) + ".")
    if change.uncovered:
        names = ", ".join(sorted({f"*{bk.fit(c.task_name, 100)}*" for c in change.uncovered})[:10])
        lines.append(f":warning: Not paused, and runs in the window: {names}.")
    if result.overlaps:
        lines.append("*Overlaps:*")
        lines.extend(_window_line(o) for o in result.overlaps[:10])
    if result.reapproval:
        where = f" I asked in <#{bk.escape(asked_in)}>." if asked_in else ""
        lines.append(
            ":raising_hand: It asks for more than was approved, so an approver has to say yes "
            f"again.{where}"
        )
    elif before.approved_by:
        lines.append(":white_check_mark: Its approval stands.")
    return text_message("\n".join(lines))


# -- suggest ----------------------------------------------------------------------------------
# Lines of what one slot would disturb before "and N more" (a section holds 3,000 chars).
_HITS_SHOWN = 8


def suggestions(found: Suggestion) -> dict[str, Any]:
    """The best slots, best first, each with what it would disturb and a "Plan this" button
    (its stored report's id: the plan dialog opens on that slot); then what no slot
    accounts for (systems that did not answer, runs with no known time)."""
    ranking = found.ranking
    tz = ranking.range.tz
    span = f"{bk.date_token(ranking.range.start)} → {bk.date_token(ranking.range.end)}"
    blocks: list[bk.Block] = [
        bk.header(f"Quieter {length(ranking.length)} slots"),
        bk.context(
            f"{span} · {ranking.considered} slots on a {length(ranking.step)} grid in "
            f"{bk.escape(tz)} ranked"
            + (f", {ranking.excluded} left out for planned windows" if ranking.excluded else "")
        ),
    ]
    for warning in found.warnings:
        blocks.append(bk.section(f":warning: {bk.fit(warning, 600)}"))
    unchecked = ", ".join(s.system for s in ranking.unchecked)
    for number, (candidate, check) in enumerate(found.best, start=1):
        active = len(candidate.active)
        said = (
            f"{active} conflict{'s' if active != 1 else ''} on {', '.join(candidate.systems)}"
            if active
            else "no known conflict"
        )
        if unchecked:
            said += f" (not counting {unchecked}: no answer)"
        title = (
            f"*{number}. {bk.date_token(candidate.start)} → "
            f"{bk.date_token(candidate.end, fmt='{time}')}*: {bk.escape(said)}"
        )
        lines = [f"• {bk.fit(hit_line(h, tz), 200)}" for h in candidate.hits[:_HITS_SHOWN]]
        if len(candidate.hits) > _HITS_SHOWN:
            lines.append(
                f"…and {len(candidate.hits) - _HITS_SHOWN} more (`maintbot report {check.id}`)"
            )
        blocks.append(
            bk.section(
                "\n".join([title, *lines]),
                accessory=bk.button("Plan this", ActionId.PLAN_DIALOG, {"c": check.id}),
                block_id=f"suggest-{number}",
            )
        )
    if ranking.unknown:
        names = sorted({f"{c.task_name} ({c.system})" for c in ranking.unknown})
        blocks.append(
            bk.context(
                f"{len(ranking.unknown)} task(s) may fire at a time their scheduler does not "
                "expose; that is the same for every slot, so they rank none: "
                + bk.fit(", ".join(names), 1500)
            )
        )
    text = f"Quieter {length(ranking.length)} slots: " + ", ".join(
        bk.date_token(c.start) for c in ranking.candidates
    )
    return bk.message(text, blocks)
