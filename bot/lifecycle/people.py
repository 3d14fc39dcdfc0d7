"""The transitions people trigger (through Slack or the CLI): plan, ask for approval,
decide, cancel, end now, extend. They only write the store; none calls a vendor, so a
click never waits on a scheduler. The window clock carries out what they record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.approvals import Policy
from bot.errors import ApprovalError, LifecycleError, StoreError
from bot.format import instant, length
from bot.model import (
    ApprovalRecord,
    ApprovalState,
    PredictedStart,
    SeriesRecord,
    SeriesState,
    TaskRef,
    Window,
    WindowRecord,
    WindowState,
)
from bot.store import Store

_W = WindowState

MAX_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class Decision:
    """The outcome of a click on Approve/Reject. ``acted`` is ``False`` when someone else
    decided first or the request expired: the caller shows what happened instead."""

    approval: ApprovalRecord
    window: WindowRecord
    acted: bool


def window_or_error(store: Store, window_id: str) -> WindowRecord:
    found = store.find_window(window_id)
    if found is None:
        raise LifecycleError(
            f"There is no maintenance window with id {window_id!r}; `maintbot windows` lists them."
        )
    return found


def require_text(name: str, what: str) -> str:
    if not name or not name.strip():
        raise LifecycleError(f"{what} is required (a Slack user id or a name)")
    return name.strip()


def window_refusal(
    window: Window, now: datetime, *, verb: str = "plan", which: str = "window"
) -> LifecycleError | None:
    """Why ``window`` cannot be planned (or an edit moved to it), ``None`` when it can:
    it ends before it starts, lasts over 14 days, or is over already. ``verb`` and
    ``which`` fit the words to who asks ("plan one…", "give one…"; "the new window")."""
    if window.end <= window.start:
        return LifecycleError("The window ends before it starts; give an end after the start.")
    if window.end - window.start > MAX_WINDOW:
        return LifecycleError(
            f"The window lasts {length(window.end - window.start)}, longer than the 14 days "
            f"maintbot will hold tasks paused; {verb} a shorter window."
        )
    if window.end <= now:
        return LifecycleError(
            f"The {which} ended at {instant(window.end, window.tz)}, which is in the "
            f"past; {verb} one that is still ahead, e.g. 'tomorrow 2-4am'."
        )
    return None


def plan_window(
    store: Store,
    window: Window,
    tasks: Sequence[tuple[TaskRef, str]],
    *,
    requested_by: str,
    now: datetime,
    channel: str | None = None,
    drain_lead: timedelta = timedelta(0),
    title: str | None = None,
    reason: str | None = None,
    series: SeriesRecord | None = None,
    occurrence: datetime | None = None,
    predicted: Mapping[str, Sequence[PredictedStart]] | None = None,
) -> WindowRecord:
    """Record a window and the tasks (ref, display name) to pause in it, as ``planned``,
    with the run times its check predicted for them (``predicted``, by task key), which
    the end of the window holds against what the vendor reports.
    With ``series``, it is that series' occurrence starting (nominally) at ``occurrence``;
    an occurrence may have no task to pause (its check found none), a one-off window not."""
    requested_by = require_text(requested_by, "requested_by")
    refusal = window_refusal(window, now)
    if refusal is not None:
        raise refusal
    if drain_lead < timedelta(0) or drain_lead >= window.end - window.start + timedelta(days=1):
        raise LifecycleError("The drain lead must be zero or a positive time before the start.")
    unique: dict[str, tuple[TaskRef, str]] = {}
    for ref, name in tasks:
        unique.setdefault(ref.key, (ref, name or ref.id))
    if not unique and series is None:
        raise LifecycleError(
            "No tasks to pause in this window; name them (SYSTEM:ID) or pick conflicting ones."
        )
    if series is not None:
        assert occurrence is not None
        made = store.create_occurrence(
            series,
            occurrence,
            window,
            tasks=list(unique.values()),
            state=_W.PLANNED,
            approved_by=None,
            channel=channel,
        )
        if made is None:
            raise LifecycleError("That occurrence of the series is planned already.")
        record = made
    else:
        record = store.create_window(
            window,
            requested_by=requested_by,
            tasks=list(unique.values()),
            drain_lead_seconds=int(drain_lead.total_seconds()),
            channel=channel,
            # The words around the window text ("db failover tmrw 22:00-23:00") name it
            # when the requester gave no title of their own.
            title=(title or "").strip() or window.title or None,
            reason=(reason or "").strip() or None,
        )
    if predicted:
        store.record_predictions(record.id, predicted)
    store.audit(
        requested_by,
        "plan",
        "ok",
        window_id=record.id,
        detail={
            "start": record.start.isoformat(),
            "end": record.end.isoformat(),
            "tz": record.tz,
            "tasks": len(unique),
        },
    )
    return record


def request_approval(
    store: Store,
    window_id: str,
    *,
    requested_by: str,
    now: datetime,
    channel: str | None = None,
    ttl: timedelta = timedelta(hours=24),
) -> ApprovalRecord:
    """Open an approval request for a planned window.

    It expires at the window's start (an approval after the start would pause jobs in the
    middle of someone else's plan), or after ``ttl`` if sooner. A window planned to start
    right away ("now for 1 hour") has already started when the request is made; its
    approval may come until the window ends, and the start is then reported as late.
    """
    requested_by = require_text(requested_by, "requested_by")
    record = window_or_error(store, window_id)
    if record.state is not _W.PLANNED:
        raise LifecycleError(
            f"Window {record.id} is {record.state.value}; only a planned window can be sent "
            "for approval."
        )
    if record.end <= now:
        raise LifecycleError(f"Window {record.id} is already over; plan a new one.")
    limit = record.start if record.start > now else record.end
    approval = store.create_approval(
        record.id, requested_by=requested_by, expires_at=min(limit, now + ttl), channel=channel
    )
    store.audit(
        requested_by,
        "request_approval",
        "ok",
        window_id=record.id,
        detail={"approval": approval.id, "expires_at": approval.expires_at.isoformat()},
    )
    return approval


class _WindowMoved(Exception):
    """Rolls an approval decision back when its window changed state meanwhile."""


def decide(
    store: Store,
    approval_id: str,
    *,
    user: str,
    approve: bool,
    policy: Policy,
    now: datetime,
    request_id: str | None = None,
    reason: str | None = None,
) -> Decision:
    """Approve or reject a request, once. Approving moves the window planned → approved;
    rejecting cancels it (``reason``: the decider's why, kept and shown). A refusal by
    policy is audited and raised as ApprovalError.

    The requester may reject (withdraw) their own request; everything else needs approver
    rights.
    """
    user = require_text(user, "user")
    try:
        approval = store.get_approval(approval_id)
    except StoreError:
        raise ApprovalError(
            "That approval request does not exist (it may belong to another maintbot)."
        ) from None
    action = "approve" if approve else "reject"
    common: dict[str, Any] = {"window_id": approval.window_id, "request_id": request_id}
    try:
        if approve or user != approval.requested_by:
            policy.check(user, approval.requested_by)
    except ApprovalError as exc:
        store.audit(
            user, action, "refused", reason=str(exc), detail={"approval": approval.id}, **common
        )
        raise
    acted = False
    if approval.state is ApprovalState.PENDING and approval.expires_at <= now:
        store.expire_approval(approval.id, now)
        outcome = "expired"
    else:
        try:
            with store.transaction():
                new = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
                if store.decide_approval_at(approval.id, new, user, now, reason=reason):
                    # What the approver agreed to: a requester's later extensions are
                    # measured from this end (Policy.extend_limit).
                    agreed_end = store.get_window(approval.window_id).end
                    moved = (
                        store.transition_window(
                            approval.window_id,
                            _W.PLANNED,
                            _W.APPROVED,
                            approved_by=user,
                            approved_end=agreed_end,
                        )
                        if approve
                        else store.transition_window(
                            approval.window_id, _W.PLANNED, _W.CANCELLED, finished_at=now
                        )
                    )
                    if not moved:
                        raise _WindowMoved
                    _decide_series(store, approval.window_id, approve=approve, user=user)
                    acted = True
        except _WindowMoved:
            acted = False
        outcome = "ok" if acted else "already_decided"
    store.audit(user, action, outcome, reason=reason, detail={"approval": approval.id}, **common)
    if acted and not approve:
        store.close_approvals(approval.window_id, now)
    return Decision(
        approval=store.get_approval(approval.id),
        window=store.get_window(approval.window_id),
        acted=acted,
    )


def _decide_series(store: Store, window_id: str, *, approve: bool, user: str) -> None:
    """The first occurrence's approval is its series' approval: approving it approves the
    series (its later occurrences are planned approved by the same person), rejecting it
    cancels the series. Later occurrences are approved already, so this acts only once."""
    window = store.get_window(window_id)
    if window.series_id is None:
        return
    if approve:
        if store.transition_series(
            window.series_id, SeriesState.PLANNED, SeriesState.APPROVED, approved_by=user
        ):
            store.audit(
                user,
                "approve_series",
                "ok",
                window_id=window_id,
                detail={"series": window.series_id},
            )
    elif store.transition_series(window.series_id, SeriesState.PLANNED, SeriesState.CANCELLED):
        store.audit(
            user, "reject_series", "ok", window_id=window_id, detail={"series": window.series_id}
        )


def approve_now(
    store: Store,
    window_id: str,
    *,
    requested_by: str,
    approved_by: str,
    policy: Policy,
    now: datetime,
) -> WindowRecord:
    """Approve a planned window in one step (the CLI's ``--approved-by``), by the same rules
    and records as a Slack approval: an approval request is created and decided."""
    record = window_or_error(store, window_id)
    for requester in {requested_by, record.requested_by}:
        try:
            policy.check(approved_by, requester)
        except ApprovalError as exc:
            store.audit(approved_by, "approve", "refused", window_id=record.id, reason=str(exc))
            raise
    approval = request_approval(store, record.id, requested_by=requested_by, now=now)
    decision = decide(store, approval.id, user=approved_by, approve=True, policy=policy, now=now)
    if not decision.acted:
        raise LifecycleError(
            f"Window {record.id} could not be approved: it is {decision.window.state.value} "
            f"and the approval is {decision.approval.state.value}."
        )
    return decision.window


def cancel_window(store: Store, window_id: str, *, by: str, now: datetime) -> WindowRecord:
    """Cancel a window. A planned or approved one is simply dropped (no vendor is called);
    an active one ends now, so the clock resumes what it paused on its next tick."""
    by = require_text(by, "by")
    for _ in range(5):
        record = window_or_error(store, window_id)
        if record.state in (_W.PLANNED, _W.APPROVED):
            if store.transition_window(record.id, record.state, _W.CANCELLED, finished_at=now):
                store.close_approvals(record.id, now)
                store.audit(
                    by, "cancel", "ok", window_id=record.id, detail={"was": record.state.value}
                )
                return store.get_window(record.id)
            continue  # the clock started it meanwhile: read again and end it instead
        if record.state is _W.ACTIVE:
            ended = _end_active(store, record, by=by, now=now, action="cancel")
            if ended is not None:
                return ended
            continue
        raise LifecycleError(
            f"Window {record.id} is already {record.state.label}; there is nothing to cancel."
        )
    raise LifecycleError(f"Window {window_id} kept changing while cancelling; try again.")


def end_window_now(store: Store, window_id: str, *, by: str, now: datetime) -> WindowRecord:
    """End an active window now: its end becomes due and the clock resumes on its next tick."""
    by = require_text(by, "by")
    for _ in range(5):
        record = window_or_error(store, window_id)
        if record.state in (_W.PLANNED, _W.APPROVED):
            raise LifecycleError(
                f"Window {record.id} has not started yet; cancel it instead "
                f"(maintbot cancel {record.id} --by NAME)."
            )
        if record.state is not _W.ACTIVE:
            raise LifecycleError(f"Window {record.id} is already over ({record.state.label}).")
        ended = _end_active(store, record, by=by, now=now, action="end")
        if ended is not None:
            return ended
    raise LifecycleError(f"Window {window_id} kept changing while ending it; try again.")


def _end_active(
    store: Store, record: WindowRecord, *, by: str, now: datetime, action: str
) -> WindowRecord | None:
    """Move an active window's end to ``now``; ``None`` if it changed under us."""
    if record.end <= now:
        store.audit(by, action, "no_change", window_id=record.id, reason="already ending")
        return record
    if not store.update_window_fields(record.id, record.version, end_at=now):
        return None
    store.audit(
        by,
        action,
        "ok",
        window_id=record.id,
        detail={"old_end": record.end.isoformat(), "new_end": now.isoformat()},
    )
    return store.get_window(record.id)


def extend_window(
    store: Store,
    window_id: str,
    *,
    by: str,
    delta: timedelta,
    now: datetime,
    approved: bool = False,
) -> WindowRecord:
    """Move the end of an approved or active window ``delta`` later (≤ 14 days in total).
    ``approved``: an approver extended it, so the new end is the one agreed to."""
    by = require_text(by, "by")
    if delta <= timedelta(0):
        raise LifecycleError("Extend by a positive time, e.g. 30 minutes.")
    for _ in range(5):
        record = window_or_error(store, window_id)
        if record.state not in (_W.APPROVED, _W.ACTIVE):
            raise LifecycleError(
                f"Only an approved or active window can be extended; {record.id} is "
                f"{record.state.label}."
            )
        if record.end <= now:
            raise LifecycleError(
                f"Window {record.id} has already reached its end and is resuming tasks; plan "
                "a new window instead."
            )
        new_end = record.end + delta
        if new_end - record.start > MAX_WINDOW:
            room = MAX_WINDOW - (record.end - record.start)
            raise LifecycleError(
                f"Extending by {length(delta)} would make window {record.id} last "
                f"{length(new_end - record.start)}, over the 14-day limit; it can be extended "
                f"by at most {length(room)}."
            )
        agreed = {"approved_end": new_end} if approved else {}
        if store.update_window_fields(record.id, record.version, end_at=new_end, **agreed):
            store.audit(
                by,
                "extend",
                "ok",
                window_id=record.id,
                detail={
                    "old_end": record.end.isoformat(),
                    "new_end": new_end.isoformat(),
                    "by_approver": approved,
                },
            )
            return store.get_window(record.id)
    raise LifecycleError(f"Window {window_id} kept changing while extending it; try again.")
