"""The bot's voice in shared channels: the window clock's alerts in MAINTBOT_ALERT_CHANNEL and
in the window's approval thread (with buttons for what a person can do about them), the
announcements of pauses and resumes done from a report, and requests to resume a task
someone else paused (posted where approvals go, decided with Approve / Reject).

Implements the lifecycle's ``Notifier`` protocol. The clock claims each alert before sending
and releases the claim when ``notify`` raises, so the next tick sends it again: ``notify``
raises only when the alert reached nobody. If one of two places got it, raising would post a
duplicate there on the retry, so the other failure is logged instead.

An announcement reports something already done, so it never raises: a failure to post it is
logged, and the audit trail has the action either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.notify import Alert, ThreadBook, WindowThread, plain_text
from bot.model import ApprovalState, ResumeRequestRecord, ResumeRequestState, WindowRecord
from bot.render import PauseNote
from bot.service.pauses import ActionResult, ResumeDecision, note_of_request
from bot.slack import blocks as bk
from bot.slack import messages
from bot.slack.errors import SLACK_ERRORS
from bot.slack.registry import ActionId

__all__ = [
    "SlackNotifier",
    "action_announcement",
    "decision_announcement",
    "request_announcement",
    "resume_already_decided",
    "resume_decision_line",
    "resume_request",
    "resume_request_decided",
]

log = logging.getLogger(__name__)


# Alerts that also go to the channel itself, not only into the window's thread: the window
# opening and closing, and what a person has to act on.
_BROADCAST = frozenset({"start", "end", "pause_failed", "resume_failed", "late", "not_approved"})
# How long an alert waits for a thread another replica is posting (10 × 0.2 s).
_THREAD_WAITS, _THREAD_WAIT = 10, 0.2
# Kinds whose listener already redrew the approval message.
_DECIDED = frozenset({"approved", "rejected"})


class SlackNotifier:
    """With an alert channel and a thread book (bound by the application), each window's
    alerts and changes go into one thread there, whose first message shows the window as
    it is now, and the approval request is redrawn to the window's real state. Without a
    book, an alert goes to the alert channel and the approval thread, as separate posts."""

    def __init__(
        self, client: AsyncWebClient, alert_channel: str | None, book: ThreadBook | None = None
    ) -> None:
        self.client = client
        self.alert_channel = alert_channel or None
        self.book = book
        self._posting: dict[str, asyncio.Lock] = {}

    def bind_threads(self, book: ThreadBook) -> None:
        self.book = book

    async def notify(
        self,
        window: WindowRecord,
        kind: str,
        text: str | Alert,
        *,
        actions: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None:
        payload = messages.alert(window, kind, text, actions, people=people)
        if self.alert_channel and self.book is not None:
            thread = await self._thread(window, self.book, self.alert_channel)
            if thread is None:
                await self.client.chat_postMessage(channel=self.alert_channel, **payload)
                return
            await self.client.chat_postMessage(
                channel=thread.channel,
                thread_ts=thread.ts,
                reply_broadcast=kind in _BROADCAST,
                **payload,
            )
            await self._redraw(window.id, kind, self.book, thread)
            return
        await self._scattered(window, kind, text, payload)

    async def _thread(
        self, window: WindowRecord, book: ThreadBook, channel: str
    ) -> WindowThread | None:
        """The window's thread, posting its first message if it has none yet: once in this
        process (a lock per window) and once among replicas (a claim in the store). While
        another replica is posting it, ``None``: this alert goes to the channel itself."""
        lock = self._posting.setdefault(window.id, asyncio.Lock())
        async with lock:
            thread = book.thread(window.id)
            if thread is not None:
                return thread
            if not book.claim_thread(window.id):
                thread = await self._thread_from_another(window.id, book)
                if thread is None:
                    log.warning(
                        "window %s: another replica is starting its thread; this alert goes "
                        "to the channel",
                        window.id,
                    )
                return thread
            current = book.window(window.id)
            try:
                posted = await self.client.chat_postMessage(
                    channel=channel,
                    **messages.window_thread_root(
                        current, book.approval(window.id), book.tasks(window.id)
                    ),
                )
            except BaseException:
                book.unclaim_thread(window.id)  # the next alert tries again
                raise
            thread = WindowThread(str(posted["channel"]), str(posted["ts"]))
            book.thread_posted(window.id, thread)
            return thread

    async def _thread_from_another(self, window_id: str, book: ThreadBook) -> WindowThread | None:
        """Wait a little for the replica that claimed the thread to record it."""
        for _ in range(_THREAD_WAITS):
            await asyncio.sleep(_THREAD_WAIT)
            thread = book.thread(window_id)
            if thread is not None:
                return thread
        return None

    async def _redraw(
        self, window_id: str, kind: str, book: ThreadBook, thread: WindowThread
    ) -> None:
        """Show the window's state where people look first: the thread's first message,
        and the approval request. Best effort: the alert itself was delivered."""
        current, approval = book.window(window_id), book.approval(window_id)
        tasks = book.tasks(window_id)
        redraws: list[tuple[str, str, dict[str, Any]]] = []
        if approval is None or approval.message_ts != thread.ts:
            # (When the request itself heads the thread, it is redrawn below instead.)
            root = messages.window_thread_root(current, approval, tasks)
            redraws.append((thread.channel, thread.ts, root))
        shown = approval is not None and approval.channel and approval.message_ts
        if shown and approval is not None and kind not in _DECIDED:
            if approval.state is not ApprovalState.PENDING:
                request = messages.approval_decided(current, approval, tasks)
            elif kind == "edited":
                # Still waiting, but for the window as it is now: its times and tasks.
                request = messages.approval_request(current, approval, tasks)
            else:
                request = None
            if request is not None:
                redraws.append((str(approval.channel), str(approval.message_ts), request))
        for channel, ts, message in redraws:
            try:
                await self.client.chat_update(channel=channel, ts=ts, **message)
            except SLACK_ERRORS as exc:
                log.warning(
                    "window %s: could not redraw %s/%s: %s",
                    window_id,
                    channel,
                    ts,
                    exc,
                    extra={"window_id": window_id},
                )

    async def _scattered(
        self, window: WindowRecord, kind: str, text: str | Alert, payload: dict[str, Any]
    ) -> None:
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
                plain_text(text, window.tz),
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

    async def announce(self, text: str) -> bool:
        """Post ``text`` (mrkdwn, escaped by its builder below) to the alert channel;
        ``True`` when it was posted."""
        if not self.alert_channel:
            log.warning("announcement has nowhere to go (set MAINTBOT_ALERT_CHANNEL): %s", text)
            return False
        try:
            await self.client.chat_postMessage(
                channel=self.alert_channel, **messages.text_message(text)
            )
        except SLACK_ERRORS as exc:
            log.error("could not post an announcement to %s: %s", self.alert_channel, exc)
            return False
        return True


# -- announcements ---------------------------------------------------------------------------
def _task(name: str, system: str) -> str:
    return f"*{bk.fit(name, messages.NAME_LIMIT)}* (`{bk.fit(system, 60)}`)"


def action_announcement(
    result: ActionResult, user: str, check_id: str, was: PauseNote | None = None
) -> str:
    """A "Pause now" or "Resume" from a report that changed the task; ``was`` is whose
    pause a resume lifted, when it was someone else's."""
    task = _task(result.name, result.ref.system)
    report = f"from report `{bk.escape(check_id)}`"
    if result.action == "pause":
        return (
            f":double_vertical_bar: {messages.who(user)} paused {task} with Pause now {report}; "
            "it stays paused until someone resumes it."
        )
    text = f":arrow_forward: {messages.who(user)} resumed {task} {report}"
    if was is not None and was.others:
        text += f"; it had been {messages.pause_line(was)}"
    return text + "."


def request_announcement(request: ResumeRequestRecord, channel: str) -> str:
    return (
        f":raising_hand: {messages.who(request.requested_by)} asks to resume "
        f"{_task(request.task_name, request.system)}, which was "
        f"{messages.pause_line(note_of_request(request))}. An approver decides in "
        f"<#{bk.escape(channel)}>."
    )


def decision_announcement(decision: ResumeDecision) -> str:
    request, result = decision.request, decision.result
    task = _task(request.task_name, request.system)
    whose = messages.pause_line(note_of_request(request))
    asker = messages.who(request.requested_by)
    decider = messages.who(request.decided_by)
    if request.state is ResumeRequestState.REJECTED:
        if request.decided_by == request.requested_by:
            return f":leftwards_arrow_with_hook: {asker} withdrew their request to resume {task}."
        return f":x: {decider} rejected {asker}'s request to resume {task}; it stays {whose}."
    if result is not None and result.outcome == "ok":
        return (
            f":arrow_forward: {decider} approved {asker}'s request and {task} was resumed; "
            f"it had been {whose}."
        )
    outcome = result.message if result is not None else "nothing was done"
    return (
        f":warning: {decider} approved {asker}'s request to resume {task}, but it was not "
        f"resumed: {bk.fit(outcome, 1500)}"
    )


# -- the resume request ------------------------------------------------------------------------
def _request_frame(request: ResumeRequestRecord) -> list[bk.Block]:
    note = note_of_request(request)
    return [
        bk.header("Resume request"),
        bk.section(
            f"{messages.who(request.requested_by)} asks to resume "
            f"{_task(request.task_name, request.system)} now.\n"
            f"It was {messages.pause_line(note)}.\n"
            "Resuming undoes someone else's pause: approve only if they agree or it is no "
            "longer needed. The pause is read again before anything is resumed."
        ),
        bk.context(
            f"Request `{bk.escape(request.id)}` · expires {bk.date_token(request.expires_at)}"
        ),
    ]


def resume_request(request: ResumeRequestRecord) -> dict[str, Any]:
    """The request in the approvals channel: a normal message, so it is updated in place."""
    value = {"r": request.id}
    blocks = [
        *_request_frame(request),
        bk.actions(
            bk.button(
                "Approve",
                ActionId.APPROVE,
                value,
                style="primary",
                confirm_dialog=bk.confirm(
                    "Resume someone else's pause?",
                    f"Resume {request.task_name} on {request.system} now? The pause is read "
                    "again first; if it changed, nothing is resumed.",
                    ok="Approve",
                ),
            ),
            bk.button(
                "Reject",
                ActionId.REJECT,
                value,
                style="danger",
                confirm_dialog=bk.confirm(
                    "Reject this request?",
                    "Reject the request? The task stays paused.",
                    ok="Reject",
                    style="danger",
                ),
            ),
            block_id="decision",
        ),
    ]
    text = (
        f"Approval needed: {messages.who(request.requested_by)} asks to resume "
        f"{_task(request.task_name, request.system)}"
    )
    return bk.message(text, blocks)


def resume_request_decided(request: ResumeRequestRecord) -> dict[str, Any]:
    """The request after a decision: the buttons give way to who decided, and what came of it."""
    line = resume_decision_line(request)
    blocks = [*_request_frame(request), bk.section(line, block_id="decision")]
    return bk.message(f"Resume request {bk.escape(request.id)}: {line}", blocks)


def resume_decision_line(request: ResumeRequestRecord) -> str:
    when = bk.date_token(request.decided_at) if request.decided_at else "an unknown time"
    by = messages.who(request.decided_by)
    if request.state is ResumeRequestState.APPROVED:
        done = {
            "ok": "the task was resumed",
            "no_change": "it was no longer paused",
            None: "resuming…",
        }.get(request.outcome, "it was not resumed")
        line = f":white_check_mark: Approved by {by} at {when}; {done}"
        if request.outcome not in ("ok", None) and request.outcome_text:
            line += f": {bk.fit(request.outcome_text, 1500)}"
        return line
    if request.state is ResumeRequestState.REJECTED:
        verb = "Withdrawn" if request.decided_by == request.requested_by else "Rejected"
        return f":x: {verb} by {by} at {when}; the task stays paused"
    if request.state is ResumeRequestState.EXPIRED:
        return f":hourglass: Expired at {bk.date_token(request.expires_at)} without a decision"
    return (
        ":hourglass_flowing_sand: Waiting for an approver "
        f"(expires {bk.date_token(request.expires_at)})"
    )


def resume_already_decided(request: ResumeRequestRecord) -> dict[str, Any]:
    """For a second click: what already happened to the request."""
    if request.state is ResumeRequestState.EXPIRED:
        return messages.text_message("This resume request expired; ask again from a new check.")
    if request.state is ResumeRequestState.PENDING:
        return messages.text_message("This resume request is still waiting for a decision.")
    return messages.text_message(f"Already decided: {resume_decision_line(request)}.")
