"""Immediate pause and resume of one task, with an audit row before and after the vendor call.

This is the domain behind Slack's "Pause now" / "Resume" buttons (and anything else that
acts on one task at once, outside a planned window). It knows nothing of Slack: it returns an
:class:`ActionResult` whose ``message`` is safe to show a user.

It also tells whose pause a paused task carries (:func:`pause_note`): a maintbot window's,
the bot's own "pause now", or someone else's. Resuming someone else's pause goes through a
resume request (:func:`request_resume`, :func:`decide_resume`) that an approver decides,
once, and that refuses to act if the pause changed between the request and the approval.

The "attempt" row is written before the vendor is called, so a crash mid-call still leaves a
trace of what was tried; the outcome row (``ok``, ``no_change``, ``failed`` or ``refused``)
follows. The task's state is read first: that avoids a needless vendor write when it is
already in the wanted state, and keeps the vendor's own state word so a later resume can
restore exactly what was there (BMC resumes ``SERVICE_ON`` and ``WAITING`` differently).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.approvals import Policy
from bot.connectors.base import Connector
from bot.errors import ApprovalError, ConnectorError, MaintbotError, StoreError
from bot.lifecycle import window_id_in
from bot.model import (
    AuditRow,
    Conflict,
    PlannedTask,
    PlannedTaskState,
    ResumeRequestRecord,
    ResumeRequestState,
    Task,
    TaskRef,
    WindowRecord,
)
from bot.render import PauseNote, plain_pause
from bot.store import Store

__all__ = [
    "PAUSE_ACTION",
    "RESUME_ACTION",
    "RESUME_REQUEST_TTL",
    "ActionResult",
    "HeldPaused",
    "Outcome",
    "ResumeDecision",
    "abandon_resume_request",
    "changed_since",
    "decide_resume",
    "held_paused",
    "note_of_request",
    "note_of_task",
    "pause_detail",
    "pause_note",
    "pause_notes",
    "pause_now_reason",
    "pause_task",
    "request_resume",
    "resume_task",
]

log = logging.getLogger(__name__)

PAUSE_ACTION = "pause_now"
RESUME_ACTION = "resume_now"
REQUEST_ACTION = "resume_request"
# Long enough for an approver to see it, short enough that nobody approves a stale picture
# (the pause is read again at approval anyway).
RESUME_REQUEST_TTL = timedelta(hours=4)

Outcome = Literal["ok", "no_change", "failed", "refused"]

# A planned window holds the task paused in these states; resuming it by hand would undo
# a maintenance window in progress.
_HELD = (PlannedTaskState.PAUSING, PlannedTaskState.PAUSED)
# The bot's own pause in these states too: a window that ended and is still resuming it.
_OURS = (*_HELD, PlannedTaskState.RESUMING, PlannedTaskState.RESUME_FAILED)
# What :func:`pause_now_reason` writes on the vendor, to recognise it when read back.
_PAUSE_NOW_REASON = re.compile(r"\(maintbot (?:report c_[A-Za-z0-9_-]+|pause now)\)")


@dataclass(frozen=True)
class ActionResult:
    """What happened to one task; ``message`` is written for the person who asked."""

    ref: TaskRef
    action: Literal["pause", "resume"]
    outcome: Outcome
    message: str
    at: datetime
    name: str

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "no_change")


def _label(ref: TaskRef, name: str | None) -> str:
    return f"{name or ref.id} ({ref.system})"


async def pause_task(
    store: Store,
    connector: Connector,
    ref: TaskRef,
    *,
    by: str,
    reason: str,
    request_id: str | None,
    now: datetime,
    name: str | None = None,
) -> ActionResult:
    """Pause ``ref`` now. Never raises :class:`ConnectorError`: a vendor failure becomes a
    ``failed`` result (and audit row) with a message that says what went wrong."""
    label = _label(ref, name)
    common = {"system": ref.system, "task_id": ref.id, "reason": reason, "request_id": request_id}
    detail: dict[str, object] = {"kind": ref.kind.value, "name": name}
    store.audit(by, PAUSE_ACTION, "attempt", **common, detail=detail)
    try:
        before = await connector.read_state(ref)
        detail.update(prior_paused=before.paused, prior_vendor_state=before.vendor_state)
        if before.paused:
            store.audit(by, PAUSE_ACTION, "no_change", **common, detail=detail)
            who = f" by {before.paused_by}" if before.paused_by else ""
            return ActionResult(
                ref, "pause", "no_change", f"{label} was already paused{who}.", now, before.name
            )
        changed = await connector.pause(ref, reason)
    except ConnectorError as exc:
        store.audit(by, PAUSE_ACTION, "failed", **common, error=str(exc), detail=detail)
        return ActionResult(
            ref, "pause", "failed", f"Could not pause {label}: {exc}", now, name or ref.id
        )
    except Exception as exc:
        # A bug, not a vendor answer: leave the trail complete, then let the caller's error
        # handler log it with its traceback.
        store.audit(by, PAUSE_ACTION, "failed", **common, error=type(exc).__name__, detail=detail)
        raise
    outcome: Outcome = "ok" if changed else "no_change"
    store.audit(by, PAUSE_ACTION, outcome, **common, detail=detail)
    text = f"Paused {label}." if changed else f"{label} was already paused."
    return ActionResult(ref, "pause", outcome, text, now, before.name)


async def resume_task(
    store: Store,
    connector: Connector,
    ref: TaskRef,
    *,
    by: str,
    reason: str,
    request_id: str | None,
    now: datetime,
    name: str | None = None,
    guard: Callable[[Task], str | None] | None = None,
    detail: dict[str, object] | None = None,
) -> ActionResult:
    """Resume ``ref`` now, unless a maintenance window holds it paused (then ``refused``).

    ``guard`` sees the task as read just before the call; a message from it refuses the
    resume (the pause is not the one the person agreed to lift). ``detail`` is added to
    every audit row (e.g. whose pause it was, the request that approved it).

    The state the task had before the bot's last "pause now" (kept in that audit row) is
    handed to the connector, so vendors with several running states get the right one back.
    """
    label = _label(ref, name)
    common = {"system": ref.system, "task_id": ref.id, "reason": reason, "request_id": request_id}
    detail = {"kind": ref.kind.value, "name": name, **(detail or {})}
    store.audit(by, RESUME_ACTION, "attempt", **common, detail=detail)
    holders = store.holders(ref, _HELD)
    if holders:
        window = store.get_window(holders[0].window_id)
        store.audit(
            by,
            RESUME_ACTION,
            "refused",
            **common,
            window_id=window.id,
            error="held paused by a maintenance window",
            detail=detail,
        )
        return ActionResult(
            ref,
            "resume",
            "refused",
            f"{label} is held paused by maintenance window {window.id} until it ends; "
            f"end or extend that window instead of resuming the task by hand.",
            now,
            name or ref.id,
        )
    try:
        current = await connector.read_state(ref)
        if not current.paused:
            store.audit(by, RESUME_ACTION, "no_change", **common, detail=detail)
            return ActionResult(
                ref, "resume", "no_change", f"{label} is not paused.", now, current.name
            )
        refusal = guard(current) if guard is not None else None
        if refusal is not None:
            store.audit(by, RESUME_ACTION, "refused", **common, error=refusal, detail=detail)
            return ActionResult(ref, "resume", "refused", refusal, now, current.name)
        changed = await connector.resume(ref, _prior(store, ref, current))
    except ConnectorError as exc:
        store.audit(by, RESUME_ACTION, "failed", **common, error=str(exc), detail=detail)
        return ActionResult(
            ref, "resume", "failed", f"Could not resume {label}: {exc}", now, name or ref.id
        )
    except Exception as exc:
        store.audit(by, RESUME_ACTION, "failed", **common, error=type(exc).__name__, detail=detail)
        raise
    outcome: Outcome = "ok" if changed else "no_change"
    store.audit(by, RESUME_ACTION, outcome, **common, detail=detail)
    text = f"Resumed {label}." if changed else f"{label} was not paused."
    return ActionResult(ref, "resume", outcome, text, now, current.name)


def _prior(store: Store, ref: TaskRef, current: Task) -> Task | None:
    """The task as it was before the bot's last successful "pause now", if there was one."""
    row = store.last_task_audit(ref.system, ref.id, actions=(PAUSE_ACTION,), outcomes=("ok",))
    if row is None or not row.detail or row.detail.get("kind") != ref.kind.value:
        return None
    state = row.detail.get("prior_vendor_state")
    return current.model_copy(
        update={"paused": False, "vendor_state": state if isinstance(state, str) else None}
    )


@dataclass(frozen=True)
class HeldPaused:
    """What the bot holds paused: tasks paused for a window (with it), and tasks paused
    with "pause now" and not resumed since (their audit row says who and when)."""

    windows: tuple[tuple[PlannedTask, WindowRecord], ...]
    immediate: tuple[AuditRow, ...]

    def __len__(self) -> int:
        return len(self.windows) + len(self.immediate)


def held_paused(store: Store) -> HeldPaused:
    held = store.held_tasks([PlannedTaskState.PAUSED])
    windows: dict[str, WindowRecord] = {}
    for task in held:
        if task.window_id not in windows:
            windows[task.window_id] = store.get_window(task.window_id)
    by_window = {(t.system, t.task_id) for t in held}
    immediate = tuple(
        row
        for row in store.latest_task_audits(actions=(PAUSE_ACTION, RESUME_ACTION), outcomes=("ok",))
        if row.action == PAUSE_ACTION and (row.system, row.task_id) not in by_window
    )
    return HeldPaused(tuple((t, windows[t.window_id]) for t in held), immediate)


# -- whose pause is it -----------------------------------------------------------------------
def pause_now_reason(verb: str, by: str, check_id: str | None) -> str:
    """The reason "Pause now" writes on vendors that keep one; :func:`pause_note` knows it
    again by its "(maintbot report …)" tail, or "(maintbot pause now)" for a pause made
    without a report (``maintbot pause SYSTEM:ID``)."""
    if check_id is None:
        return f"{verb} from the command line by {by} (maintbot pause now)"
    return f"{verb} from Slack by {by} (maintbot report {check_id})"


def pause_note(
    store: Store | None,
    ref: TaskRef,
    *,
    paused_by: str | None,
    pause_reason: str | None,
    paused_at: datetime | None,
) -> PauseNote:
    """Whose pause ``ref`` carries, from what the vendor reports and what the store knows.

    A reason the bot wrote is the bot's; any other reason or user the vendor reports is
    someone else's, whatever the store says (they may have resumed and re-paused it). A
    vendor that reports neither leaves the store to answer: a window holding the task, or
    the bot's last "pause now" not resumed since, make it the bot's; otherwise it is
    someone else's. Without a store (``maintbot check``) such a pause is ``unknown``.
    """
    holders = store.holders(ref, _OURS) if store is not None else []
    if holders:
        return PauseNote("window", at=holders[0].paused_at, window_id=holders[0].window_id)
    window_id = window_id_in(pause_reason)
    if window_id is not None:
        return PauseNote("window", at=paused_at, window_id=window_id)
    last = (
        store.last_task_audit(
            ref.system, ref.id, actions=(PAUSE_ACTION, RESUME_ACTION), outcomes=("ok",)
        )
        if store is not None
        else None
    )
    ours = last if last is not None and last.action == PAUSE_ACTION else None
    if pause_reason and _PAUSE_NOW_REASON.search(pause_reason):
        return PauseNote(
            "pause_now",
            by=ours.actor if ours else None,
            at=paused_at or (ours.at if ours else None),
        )
    if paused_by or pause_reason:
        return PauseNote("other", by=paused_by, at=paused_at, reason=pause_reason)
    if store is None:
        return PauseNote("unknown", at=paused_at)
    if ours is not None:
        return PauseNote("pause_now", by=ours.actor, at=paused_at or ours.at)
    return PauseNote("other", at=paused_at)


def pause_notes(conflicts: Iterable[Conflict], store: Store | None = None) -> dict[str, PauseNote]:
    """:func:`pause_note` of every paused conflict's task, by task key."""
    return {
        c.ref.key: pause_note(
            store, c.ref, paused_by=c.paused_by, pause_reason=c.pause_reason, paused_at=c.paused_at
        )
        for c in conflicts
        if c.paused
    }


def note_of_task(store: Store, task: Task) -> PauseNote:
    return pause_note(
        store,
        task.ref,
        paused_by=task.paused_by,
        pause_reason=task.pause_reason,
        paused_at=task.paused_at,
    )


def note_of_request(request: ResumeRequestRecord) -> PauseNote:
    """The pause a resume request was made against (always someone else's)."""
    return PauseNote(
        "other", by=request.paused_by, at=request.paused_at, reason=request.pause_reason
    )


def changed_since(note: PauseNote, label: str) -> Callable[[Task], str | None]:
    """A :func:`resume_task` guard: refuse if the pause read now is not ``note``'s."""

    def guard(task: Task) -> str | None:
        if (task.paused_by, task.pause_reason) == note.marker:
            return None
        now = PauseNote("other", by=task.paused_by, at=task.paused_at, reason=task.pause_reason)
        return (
            f"{label} was paused again meanwhile, {plain_pause(now)} (it was "
            f"{plain_pause(note)}); nothing was resumed. Ask again if it should still be resumed."
        )

    return guard


# -- resume requests -------------------------------------------------------------------------
@dataclass(frozen=True)
class ResumeDecision:
    """The outcome of Approve/Reject on a resume request. ``acted`` is ``False`` when it
    was decided already or has expired; ``result`` is the resume, when one was tried."""

    request: ResumeRequestRecord
    acted: bool
    result: ActionResult | None = None


def request_resume(
    store: Store,
    ref: TaskRef,
    *,
    name: str,
    note: PauseNote,
    by: str,
    now: datetime,
    request_id: str | None,
    check_id: str | None = None,
) -> tuple[ResumeRequestRecord, bool]:
    """Record a request to resume someone else's pause; ``(request, True)`` when it is new,
    ``(the pending one, False)`` when one is already waiting for this task."""
    common = {"system": ref.system, "task_id": ref.id, "request_id": request_id}
    detail: dict[str, object] = {"kind": ref.kind.value, "name": name, **pause_detail(note)}

    def create() -> ResumeRequestRecord | None:
        return store.create_resume_request(
            ref,
            task_name=name,
            requested_by=by,
            paused_by=note.by,
            pause_reason=note.reason,
            paused_at=note.at,
            now=now,
            expires_at=now + RESUME_REQUEST_TTL,
            check_id=check_id,
        )

    created = create()
    if created is None:
        pending = store.pending_resume_request(ref)
        if pending is not None:
            store.audit(
                by,
                REQUEST_ACTION,
                "already_requested",
                **common,
                detail={**detail, "resume_request": pending.id},
            )
            return pending, False
        # The pending one was decided between the insert and this read: ask again.
        created = create()
        if created is None:
            raise StoreError(f"could not record a resume request for {ref.key}; try again")
    store.audit(
        by,
        REQUEST_ACTION,
        "ok",
        **common,
        detail={
            **detail,
            "resume_request": created.id,
            "expires_at": created.expires_at.isoformat(),
        },
    )
    return created, True


async def decide_resume(
    store: Store,
    connector: Callable[[str], Connector],
    request_id: str,
    *,
    user: str,
    approve: bool,
    policy: Policy,
    now: datetime,
    slack_request: str | None = None,
    reason: str | None = None,
) -> ResumeDecision:
    """Approve or reject a resume request, once (compare-and-set on its state). Approval
    needs an approver other than the requester (the requester may withdraw); a refusal is
    audited and raised as :class:`ApprovalError`. An approved request resumes the task
    only if it is still paused by the same pause; the outcome is kept on the request.
    ``reason`` (why, in the decider's words) goes on the decision's audit row."""
    try:
        request = store.get_resume_request(request_id)
    except StoreError:
        raise ApprovalError(
            "That resume request does not exist (it may belong to another maintbot)."
        ) from None
    action = "approve_resume" if approve else "reject_resume"
    common: dict[str, Any] = {
        "system": request.system,
        "task_id": request.task_id,
        "request_id": slack_request,
    }
    detail = {"resume_request": request.id, "requested_by": request.requested_by}
    try:
        if approve or user != request.requested_by:
            policy.check_resume(user, request.requested_by)
    except ApprovalError as exc:
        store.audit(user, action, "refused", error=str(exc), detail=detail, **common)
        raise
    pending, new = (
        ResumeRequestState.PENDING,
        (ResumeRequestState.APPROVED if approve else ResumeRequestState.REJECTED),
    )
    if request.state is pending and request.expires_at <= now:
        store.transition_resume_request(
            request.id, pending, ResumeRequestState.EXPIRED, expired_at=now, decided_at=now
        )
        store.audit(user, action, "expired", detail=detail, **common)
        return ResumeDecision(store.get_resume_request(request.id), acted=False)
    if not store.transition_resume_request(
        request.id, pending, new, unexpired_at=now, decided_by=user, decided_at=now
    ):
        store.audit(user, action, "already_decided", detail=detail, **common)
        return ResumeDecision(store.get_resume_request(request.id), acted=False)
    store.audit(user, action, "ok", reason=reason, detail=detail, **common)
    if not approve:
        return ResumeDecision(store.get_resume_request(request.id), acted=True)
    note = note_of_request(request)
    label = _label(request.ref, request.task_name)
    try:
        vendor = connector(request.system)
    except MaintbotError as exc:
        text = f"Could not resume {label}: {exc}"
        store.audit(user, RESUME_ACTION, "failed", error=text, detail=detail, **common)
        result = ActionResult(request.ref, "resume", "failed", text, now, request.task_name)
    else:
        result = await resume_task(
            store,
            vendor,
            request.ref,
            by=user,
            reason=f"resume requested by {request.requested_by}, approved by {user}",
            request_id=slack_request,
            now=now,
            name=request.task_name,
            guard=changed_since(note, label),
            detail={**detail, **pause_detail(note)},
        )
    store.transition_resume_request(
        request.id,
        ResumeRequestState.APPROVED,
        ResumeRequestState.APPROVED,
        outcome_unset=True,
        outcome=result.outcome,
        outcome_text=result.message,
    )
    return ResumeDecision(store.get_resume_request(request.id), acted=True, result=result)


def abandon_resume_request(store: Store, request_id: str, *, now: datetime, error: str) -> None:
    """Expire a request nobody can decide (its message could not be posted)."""
    request = store.get_resume_request(request_id)
    store.transition_resume_request(
        request_id, ResumeRequestState.PENDING, ResumeRequestState.EXPIRED, decided_at=now
    )
    store.audit(
        request.requested_by,
        REQUEST_ACTION,
        "withdrawn",
        system=request.system,
        task_id=request.task_id,
        error=error,
        detail={"resume_request": request_id},
    )


def pause_detail(note: PauseNote) -> dict[str, object]:
    """Whose pause it was, for audit rows."""
    return {
        "pause_owner": note.owner,
        "paused_by": note.by,
        "pause_reason": note.reason,
        "paused_at": note.at.isoformat() if note.at else None,
    }
