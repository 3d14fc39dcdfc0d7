"""The window lifecycle: plan → approve → pause at the start → resume at the end.

Two halves share one store and nothing else:

* plain functions that people trigger (through Slack or the CLI): :func:`plan_window`,
  :func:`request_approval`, :func:`decide`, :func:`approve_now`, :func:`cancel_window`,
  :func:`extend_window`, :func:`end_window_now`. They only write the store; none of them
  calls a vendor, so a click never waits on a scheduler.
* :class:`WindowClock`, one loop that on every tick reads from the store what is due and
  does it: reminders, pausing at the start, retries, resuming at the end, alerts.

Restart safety comes from the order of writes. Every transition is claimed by a
compare-and-set (window ``approved → active``, task ``planned → pausing``,
``paused → resuming``) *before* any vendor call, and its outcome is written after. A task
claim names its owner (one per clock) and carries a lease the owner renews before each
call; a crash leaves ``pausing``/``resuming`` rows that any clock takes over once the lease
has run out, never while a live owner holds it. Because each attempt reads the vendor's
state first, a retried row never repeats a call blindly. Nothing lives only in memory:
backoff times, grace deadlines, leases, what the bot saw before pausing and what its pause
looked like are all columns.

Vendor calls run per system, each under a hard deadline, beside the tick: a scheduler that
answers slowly or not at all holds up only its own tasks, and a call it cut off is audited
``unknown`` and read back before anything else is done to that task.

Overlapping windows share one pause: the second window recognises the pause as the bot's own
(its reason names the first window, and it matches what the bot recorded right after
pausing) and holds it too; whichever window ends first hands over, and only the last one
resumes. A task someone else paused, resumed or re-paused is left alone and reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from bot.approvals import Policy
from bot.clock import Clock
from bot.config import Config
from bot.connectors.base import Connector, SkippedRun, deadline
from bot.errors import ApprovalError, ConnectorError, LifecycleError, StoreError
from bot.format import instant, length
from bot.model import (
    ApprovalRecord,
    ApprovalState,
    PlannedTask,
    PlannedTaskState,
    RunningNow,
    Task,
    TaskRef,
    Window,
    WindowRecord,
    WindowState,
)
from bot.store import Store

__all__ = [
    "ACTIONS",
    "ACTOR",
    "MAX_WINDOW",
    "Decision",
    "Lateness",
    "LogNotifier",
    "Notifier",
    "TickReport",
    "WindowClock",
    "approve_now",
    "cancel_window",
    "decide",
    "end_window_now",
    "extend_window",
    "new_owner_id",
    "pause_reason",
    "plan_window",
    "request_approval",
    "run_clock",
    "window_id_in",
]

log = logging.getLogger(__name__)

ACTOR = "maintbot"
MAX_WINDOW = timedelta(days=14)
ACTIONS = frozenset({"extend_30", "end_now", "retry_pause", "retry_resume", "take_over"})

_S = PlannedTaskState
_W = WindowState
# A row in one of these states no longer needs anything from the clock.
_SETTLED = frozenset(
    {_S.ALREADY_PAUSED, _S.PAUSE_FAILED, _S.RESUMED, _S.LEFT_ALONE, _S.HANDED_OVER}
)
# Rows with a vendor call in flight (or cut off before its outcome was written down).
_MID = (_S.PAUSING, _S.RESUMING)
_LOUD = frozenset({"pause_failed", "resume_failed", "late"})
# A notifier (Slack) that has not answered in this long is tried again on a later tick.
_NOTIFY_DEADLINE = 60.0
_T = TypeVar("_T")
_WINDOW_ID = re.compile(r"maintbot window (w_[A-Za-z0-9_-]+)")


# -- notifications --------------------------------------------------------------------------
class Notifier(Protocol):
    """Where the clock's alerts go (Slack, or the log).

    ``kind``: ``reminder``, ``start``, ``before_end``, ``end``, ``resolved`` (the last
    failing resume of an ended window finally settled), ``pause_failed``,
    ``resume_failed``, ``late`` (the whole window passed while maintbot was down) and
    ``not_approved``. ``actions`` ⊆ :data:`ACTIONS`. ``text`` is plain text: a Slack
    notifier escapes it like any other vendor-sourced string, since it holds task names.
    """

    async def notify(
        self, window: WindowRecord, kind: str, text: str, *, actions: Sequence[str] = ()
    ) -> None: ...


class LogNotifier:
    """Logs each notification; the default when no Slack token is configured."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("bot.alerts")

    async def notify(
        self, window: WindowRecord, kind: str, text: str, *, actions: Sequence[str] = ()
    ) -> None:
        level = logging.WARNING if kind in _LOUD else logging.INFO
        suffix = f" [actions: {', '.join(actions)}]" if actions else ""
        self.log.log(level, "%s (window %s): %s%s", kind, window.id, text, suffix)


# -- people's actions -----------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """The outcome of a click on Approve/Reject. ``acted`` is ``False`` when someone else
    decided first or the request expired: the caller shows what happened instead."""

    approval: ApprovalRecord
    window: WindowRecord
    acted: bool


def _window(store: Store, window_id: str) -> WindowRecord:
    found = store.find_window(window_id)
    if found is None:
        raise LifecycleError(
            f"There is no maintenance window with id {window_id!r}; `maintbot windows` lists them."
        )
    return found


def _need(name: str, what: str) -> str:
    if not name or not name.strip():
        raise LifecycleError(f"{what} is required (a Slack user id or a name)")
    return name.strip()


def plan_window(
    store: Store,
    window: Window,
    tasks: Sequence[tuple[TaskRef, str]],
    *,
    requested_by: str,
    now: datetime,
    channel: str | None = None,
    drain_lead: timedelta = timedelta(0),
) -> WindowRecord:
    """Record a window and the tasks (ref, display name) to pause in it, as ``planned``."""
    requested_by = _need(requested_by, "requested_by")
    if window.end <= window.start:
        raise LifecycleError("The window ends before it starts; give an end after the start.")
    if window.end - window.start > MAX_WINDOW:
        raise LifecycleError(
            f"The window lasts {length(window.end - window.start)}, longer than the 14 days "
            "maintbot will hold tasks paused; plan a shorter window."
        )
    if window.end <= now:
        raise LifecycleError(
            f"The window ended at {instant(window.end, window.tz)}, which is in the "
            "past; plan one that is still ahead, e.g. 'tomorrow 2-4am'."
        )
    if drain_lead < timedelta(0) or drain_lead >= window.end - window.start + timedelta(days=1):
        raise LifecycleError("The drain lead must be zero or a positive time before the start.")
    unique: dict[str, tuple[TaskRef, str]] = {}
    for ref, name in tasks:
        unique.setdefault(ref.key, (ref, name or ref.id))
    if not unique:
        raise LifecycleError(
            "No tasks to pause in this window; name them (SYSTEM:ID) or pick conflicting ones."
        )
    record = store.create_window(
        window,
        requested_by=requested_by,
        tasks=list(unique.values()),
        drain_lead_seconds=int(drain_lead.total_seconds()),
        channel=channel,
    )
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
    requested_by = _need(requested_by, "requested_by")
    record = _window(store, window_id)
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
) -> Decision:
    """Approve or reject a request, once. Approving moves the window planned → approved;
    rejecting cancels it. A refusal by policy is audited and raised as ApprovalError.

    The requester may reject (withdraw) their own request; everything else needs approver
    rights.
    """
    user = _need(user, "user")
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
                if store.decide_approval_at(approval.id, new, user, now):
                    moved = (
                        store.transition_window(
                            approval.window_id, _W.PLANNED, _W.APPROVED, approved_by=user
                        )
                        if approve
                        else store.transition_window(
                            approval.window_id, _W.PLANNED, _W.CANCELLED, finished_at=now
                        )
                    )
                    if not moved:
                        raise _WindowMoved
                    acted = True
        except _WindowMoved:
            acted = False
        outcome = "ok" if acted else "already_decided"
    store.audit(user, action, outcome, detail={"approval": approval.id}, **common)
    if acted and not approve:
        store.close_approvals(approval.window_id, now)
    return Decision(
        approval=store.get_approval(approval.id),
        window=store.get_window(approval.window_id),
        acted=acted,
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
    record = _window(store, window_id)
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
    by = _need(by, "by")
    for _ in range(5):
        record = _window(store, window_id)
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
            f"Window {record.id} is already {record.state.value}; there is nothing to cancel."
        )
    raise LifecycleError(f"Window {window_id} kept changing while cancelling; try again.")


def end_window_now(store: Store, window_id: str, *, by: str, now: datetime) -> WindowRecord:
    """End an active window now: its end becomes due and the clock resumes on its next tick."""
    by = _need(by, "by")
    for _ in range(5):
        record = _window(store, window_id)
        if record.state in (_W.PLANNED, _W.APPROVED):
            raise LifecycleError(
                f"Window {record.id} has not started yet; cancel it instead "
                f"(maintbot cancel {record.id} --by NAME)."
            )
        if record.state is not _W.ACTIVE:
            raise LifecycleError(f"Window {record.id} has already {record.state.value}.")
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
    store: Store, window_id: str, *, by: str, delta: timedelta, now: datetime
) -> WindowRecord:
    """Move the end of an approved or active window ``delta`` later (≤ 14 days in total)."""
    by = _need(by, "by")
    if delta <= timedelta(0):
        raise LifecycleError("Extend by a positive time, e.g. 30 minutes.")
    for _ in range(5):
        record = _window(store, window_id)
        if record.state not in (_W.APPROVED, _W.ACTIVE):
            raise LifecycleError(
                f"Only an approved or active window can be extended; {record.id} is "
                f"{record.state.value}."
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
        if store.update_window_fields(record.id, record.version, end_at=new_end):
            store.audit(
                by,
                "extend",
                "ok",
                window_id=record.id,
                detail={"old_end": record.end.isoformat(), "new_end": new_end.isoformat()},
            )
            return store.get_window(record.id)
    raise LifecycleError(f"Window {window_id} kept changing while extending it; try again.")


# -- what the clock writes on vendors --------------------------------------------------------
def pause_reason(window: WindowRecord) -> str:
    """The pause reason the bot gives vendors. It names the window, so a later window (or a
    person reading the vendor's UI) can tell whose pause it is."""
    return (
        f"maintbot window {window.id}: maintenance until "
        f"{window.end.strftime('%Y-%m-%d %H:%M')} UTC, requested by {window.requested_by[:40]}"
    )


def window_id_in(reason: str | None) -> str | None:
    """The window id in a pause reason written by :func:`pause_reason`, if any."""
    if not reason:
        return None
    found = _WINDOW_ID.search(reason)
    return found.group(1) if found else None


def _marker(task: Task) -> dict[str, Any]:
    """What identifies a pause: who and why, as the vendor reports it."""
    return {"paused_by": task.paused_by, "pause_reason": task.pause_reason}


def _matches(task: Task, marker: Mapping[str, Any]) -> bool:
    return task.paused and all(getattr(task, k) == v for k, v in marker.items())


def _prior(row: PlannedTask) -> Task | None:
    if not row.prior_task:
        return None
    try:
        return Task.model_validate(row.prior_task)
    except ValidationError:
        return None


# -- the clock -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lateness:
    """How long after its due time a start or end transition was done."""

    window_id: str
    transition: str  # "start" | "end" | "missed"
    by: timedelta


@dataclass
class TickReport:
    """What one tick did; tests and the soak read it, the worker logs a summary.

    Vendor calls run in per-system lanes, so a tick that does not wait for them
    (``tick(wait=False)``, as the loop runs) reports what finished while it ran; the rest
    appears in a later tick's report."""

    now: datetime
    started: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    finished: list[tuple[str, WindowState]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    expired_approvals: list[str] = field(default_factory=list)
    paused: list[tuple[str, str]] = field(default_factory=list)
    shared: list[tuple[str, str]] = field(default_factory=list)
    already_paused: list[tuple[str, str]] = field(default_factory=list)
    pause_retrying: list[tuple[str, str]] = field(default_factory=list)
    pause_failed: list[tuple[str, str]] = field(default_factory=list)
    resumed: list[tuple[str, str]] = field(default_factory=list)
    left_alone: list[tuple[str, str]] = field(default_factory=list)
    handed_over: list[tuple[str, str]] = field(default_factory=list)
    resume_failed: list[tuple[str, str]] = field(default_factory=list)
    deferred: list[tuple[str, str]] = field(default_factory=list)
    # A call cut off by its hard deadline: it may or may not have happened at the vendor.
    unknown: list[tuple[str, str]] = field(default_factory=list)
    # A claim another clock took over after this one's lease ran out; nothing more done.
    lost: list[tuple[str, str]] = field(default_factory=list)
    notifications: list[tuple[str, str]] = field(default_factory=list)
    late: list[Lateness] = field(default_factory=list)

    def kinds(self, window_id: str | None = None) -> list[str]:
        return [k for w, k in self.notifications if window_id is None or w == window_id]

    def summary(self) -> str:
        parts = [
            f"{name} {len(value)}"
            for name, value in vars(self).items()
            if isinstance(value, list) and value
        ]
        return ", ".join(parts) or "nothing due"

    def _take(self, other: TickReport) -> None:
        """Move ``other``'s entries to the end of this report's lists."""
        for name, value in vars(other).items():
            if isinstance(value, list):
                getattr(self, name).extend(value)
                value.clear()


class _Abandoned(ConnectorError):
    """A vendor call cut off by its hard deadline. Unlike an error the vendor answered, it
    says nothing about whether the call took effect."""

    def __init__(self, system: str, seconds: float) -> None:
        super().__init__(
            system,
            f"the scheduler did not answer within {seconds:g} s, so maintbot stopped "
            "waiting; it reads the task back before doing anything more",
            retryable=True,
        )


def new_owner_id() -> str:
    """Who holds a claim: host, process and a random part (two clocks in one process, or a
    restarted process that got the same pid, never share an identity)."""
    host = (socket.gethostname() or "host")[:40]
    return f"{host}:{os.getpid()}:{secrets.token_hex(4)}"


class WindowClock:
    """Fires window transitions when they are due. Any number of instances, in one process
    or many, may run on one database, and any number of restarts in between, because
    everything it needs is read from the store on each tick.

    **Lanes.** Each system's pauses and resumes run as background jobs on that system's
    lane (at most ``concurrency`` at once per system), so a tick never waits on one vendor
    before calling another, and a vendor that hangs holds up only its own tasks. Every
    vendor call runs under a hard deadline (``vendor_deadline``, or ``deadlines[system]``)
    that includes reading the answer; a call cut off by it is audited ``unknown``, and the
    next attempt reads the task back first and decides from what the vendor reports.

    **Claims.** A row is claimed for ``owner`` with a lease of twice the system's deadline,
    renewed before each vendor call; every write after a call requires the claim to still
    be ours. A row another clock holds is taken over only once its lease has run out, which
    is what makes several clocks on one file pause and resume each task once.
    """

    def __init__(
        self,
        store: Store,
        connectors: Mapping[str, Connector],
        clock: Clock,
        notifier: Notifier,
        *,
        reminders: Sequence[timedelta] = (timedelta(minutes=60), timedelta(minutes=10)),
        before_end: timedelta = timedelta(minutes=10),
        pause_grace: timedelta = timedelta(minutes=15),
        retry_backoff: timedelta = timedelta(minutes=1),
        max_backoff: timedelta = timedelta(minutes=15),
        late_after: timedelta = timedelta(minutes=1),
        concurrency: int = 8,
        vendor_deadline: float = 60.0,
        deadlines: Mapping[str, float] | None = None,
        owner: str | None = None,
    ) -> None:
        if vendor_deadline <= 0 or any(d <= 0 for d in (deadlines or {}).values()):
            raise LifecycleError("Vendor deadlines must be more than 0 seconds.")
        self.store = store
        self.connectors = dict(connectors)
        self.clock = clock
        self.notifier = notifier
        self.reminders = tuple(sorted(reminders, reverse=True))
        self.before_end = before_end
        self.pause_grace = pause_grace
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        self.late_after = late_after
        self.concurrency = concurrency
        self.vendor_deadline = vendor_deadline
        self.deadlines = dict(deadlines or {})
        self.owner = owner or new_owner_id()
        self._lock = asyncio.Lock()
        # What each system has running, asked once per tick however many windows start in
        # it (for some vendors that is one request per task); dropped at the next tick.
        self._running: dict[str, list[RunningNow] | str] = {}
        self._wake: asyncio.Event | None = None
        self._heartbeat = float("-inf")
        self._loop: asyncio.AbstractEventLoop | None = None
        # Jobs in flight, by planned-task id (so no tick starts a second one), one semaphore
        # per system, alerts being sent (chained per window, so they arrive in order), and
        # what finished jobs did, until a tick reports it.
        self._jobs: dict[int, asyncio.Task[None]] = {}
        self._lanes: dict[str, asyncio.Semaphore] = {}
        self._alerts: dict[str, asyncio.Task[None]] = {}
        self._done = TickReport(now=clock())
        self._ends_seen: set[str] = set()

    @property
    def busy(self) -> int:
        """Vendor jobs and alert deliveries in flight on this clock."""
        return len(self._jobs) + len(self._alerts)

    def deadline_for(self, system: str) -> float:
        return self.deadlines.get(system, self.vendor_deadline)

    def lease_for(self, system: str) -> timedelta:
        # Twice the deadline: renewed before every call, a live owner's lease can only run
        # out if the process stalls for a whole deadline, and a dead one's frees soon.
        return timedelta(seconds=2 * self.deadline_for(system))

    # -- the loop ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, interval: float = 5.0, drain: float = 5.0) -> None:
        """Tick every ``interval`` seconds (sooner after a person's retry, or when a lane
        finishes its work) until ``stop``; then let calls in flight finish for up to
        ``drain`` seconds before abandoning them (their leases let another clock take over)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                try:
                    report = await self.tick(wait=False)
                except Exception:
                    # One bad tick (a locked database, a bug on one row) must not end the
                    # loop: the next tick re-derives everything from the store.
                    log.exception("window clock: tick failed; trying again in %ss", interval)
                else:
                    if report.summary() != "nothing due":
                        log.info("window clock: %s", report.summary())
                waker = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait(
                    {stopper, waker}, timeout=interval, return_when="FIRST_COMPLETED"
                )
                waker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waker
                self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(drain):
                    await self.settle()
        finally:
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
            await self.aclose()

    def _poke(self) -> None:
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def settle(self) -> None:
        """Wait until every job and alert started so far has finished."""
        while self._jobs or self._alerts:
            await asyncio.gather(
                *self._jobs.values(), *self._alerts.values(), return_exceptions=True
            )

    async def aclose(self) -> None:
        """Abandon whatever is in flight (as a killed process would, minus the process):
        rows stay claimed until their leases run out; undelivered alerts are released."""
        pending = [*self._jobs.values(), *self._alerts.values()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._jobs.clear()
        self._alerts.clear()

    async def tick(self, *, wait: bool = True) -> TickReport:
        """One pass: derive what is due from the store, do it, and say what was done.

        With ``wait`` (tests, ``worker --once``) the tick waits for the vendor calls it
        started, starts what they unblocked, and reports all of it; without (the loop) it
        returns once the calls are started, and the lanes wake the loop when they finish.
        """
        async with self._lock:
            now = self.clock()
            report = TickReport(now=now)
            self._running = {}
            try:
                self._expire_approvals(report)
                for record in self.store.open_windows():
                    if record.state is _W.PLANNED:
                        await self._unapproved(record, now, report)
                    elif record.state is _W.APPROVED:
                        await self._approved(record, now, report)
                # A job that was deferred (another window's row of its task was changing)
                # can go once that settles: a few rounds, while the tick waits.
                for _ in range(4 if wait else 1):
                    started = self._dispatch(now, report)
                    if not wait:
                        break
                    await self.settle()
                    if not started:
                        break
                report._take(self._done)
                await self._follow_up(now, report)
                if wait:
                    await self.settle()
                report._take(self._done)
            except asyncio.CancelledError:
                # A killed tick takes its jobs with it, as a killed process would.
                await self.aclose()
                raise
            if time.monotonic() - self._heartbeat >= 30:
                # A heartbeat for people and health checks; not what any decision reads,
                # so it need not cost a disk sync on every tick.
                self._heartbeat = time.monotonic()
                self.store.set_kv("clock.last_tick", now.isoformat())
            return report

    def _expire_approvals(self, report: TickReport) -> None:
        for approval_id in self.store.expire_approvals():
            report.expired_approvals.append(approval_id)
            approval = self.store.get_approval(approval_id)
            self.store.audit(
                ACTOR,
                "expire_approval",
                "ok",
                window_id=approval.window_id,
                detail={"approval": approval_id},
            )

    # -- lanes -------------------------------------------------------------------------------
    def _dispatch(self, now: datetime, report: TickReport) -> int:
        """Start a job for every row that needs a vendor call and has none in flight;
        returns how many were started. Starts before ends: a window starting as another
        ends takes over its pauses instead of the task being resumed and paused again."""
        started = 0
        open_now = self.store.open_windows()
        for record in open_now:
            if record.state is _W.ACTIVE and now < record.end:
                for row in self.store.window_tasks(record.id):
                    if self._pause_due(row, now):
                        started += self._start(row, self._pause_row(record, row, now))
        ending = [r for r in open_now if r.state is _W.ACTIVE and r.end <= now]
        for record in sorted(ending, key=lambda r: (r.end, r.id)):
            if record.id not in self._ends_seen and "end" not in self.store.alerts_sent(record.id):
                self._ends_seen.add(record.id)
                report.ended.append(record.id)
                report.late.append(Lateness(record.id, "end", now - record.end))
            for row in self.store.window_tasks(record.id):
                if row.id in self._jobs:
                    continue
                if row.state is _S.PLANNED:
                    self._never_paused(record, row, report)
                elif self._resume_due(row, now):
                    started += self._start(row, self._resume_row(record, row, now))
        return started

    def _start(self, row: PlannedTask, job: Coroutine[Any, Any, None]) -> int:
        task = asyncio.create_task(self._in_lane(row.system, job), name=f"maintbot-{row.id}")
        self._jobs[row.id] = task

        def finished(_: asyncio.Task[None], planned_id: int = row.id) -> None:
            if self._jobs.get(planned_id) is task:
                del self._jobs[planned_id]
            job.close()  # a job cancelled before it started never ran: say it will not
            self._poke()

        task.add_done_callback(finished)
        return 1

    async def _in_lane(self, system: str, job: Coroutine[Any, Any, None]) -> None:
        lane = self._lanes.setdefault(system, asyncio.Semaphore(self.concurrency))
        try:
            async with lane:
                await job
        except asyncio.CancelledError:
            job.close()  # cancelled while waiting its turn: it never started
            raise
        except Exception:
            # A job's own failures are handled inside it; this is a bug or the database.
            # The row's claim (if any) runs out and another tick takes it over.
            log.exception("window clock: a %s job failed", system)

    def _free(self, row: PlannedTask, now: datetime) -> bool:
        """A claim nobody holds: never claimed, released, or its lease ran out; and not
        waiting for its next attempt."""
        unheld = row.claimed_by is None or row.lease_until is None or row.lease_until <= now
        return unheld and (row.next_attempt_at is None or row.next_attempt_at <= now)

    def _pause_due(self, row: PlannedTask, now: datetime) -> bool:
        if row.id in self._jobs:
            return False
        if row.state is _S.PLANNED:
            return row.next_attempt_at is None or row.next_attempt_at <= now
        return row.state is _S.PAUSING and self._free(row, now)

    def _resume_due(self, row: PlannedTask, now: datetime) -> bool:
        if row.state is _S.PAUSED:
            return True
        if row.state in (_S.PAUSING, _S.RESUMING):
            return self._free(row, now)
        return row.state is _S.RESUME_FAILED and (
            row.next_attempt_at is None or row.next_attempt_at <= now
        )

    def _in_flight(self, row: PlannedTask, now: datetime) -> bool:
        """A vendor call for the row is running here or, by a live lease, elsewhere."""
        if row.id in self._jobs:
            return True
        return (
            row.state in (_S.PAUSING, _S.RESUMING)
            and row.claimed_by is not None
            and row.lease_until is not None
            and row.lease_until > now
        )

    def _claim(self, row: PlannedTask, new: PlannedTaskState, now: datetime, **fields: Any) -> bool:
        moment = self.clock()
        return self.store.claim_task(
            row,
            new,
            owner=self.owner,
            now=now,
            lease_until=moment + self.lease_for(row.system),
            **fields,
        )

    def _renew(self, row: PlannedTask, action: str, detail: dict[str, Any]) -> bool:
        """Renew our lease before a vendor call; ``False`` (audited) if it is not ours now."""
        until = self.clock() + self.lease_for(row.system)
        if row.id in self.store.renew_leases(self.owner, [row.id], until):
            return True
        self._lost(row, action, detail)
        return False

    def _settle_row(
        self,
        row: PlannedTask,
        came_from: PlannedTaskState,
        new: PlannedTaskState,
        action: str,
        detail: dict[str, Any],
        **fields: Any,
    ) -> bool:
        """Write an outcome, only while the claim is still ours. Leaving the claimed states
        releases the claim; staying in one releases it only when asked."""
        if new not in (_S.PAUSING, _S.RESUMING):
            fields.setdefault("claimed_by", None)
            fields.setdefault("lease_until", None)
        if self.store.transition_task(row.id, came_from, new, owner=self.owner, **fields):
            return True
        self._lost(row, action, detail)
        return False

    def _lost(self, row: PlannedTask, action: str, detail: dict[str, Any]) -> None:
        current = self.store.get_planned_task(row.id)
        self._audit(
            row,
            action,
            "lost_claim",
            {
                **detail,
                "owner": self.owner,
                "now": current.state.value,
                "held_by": current.claimed_by,
            },
            error="the task was no longer this clock's to settle (its lease ran out and "
            "another maintbot took it over, or a person took it over); it did nothing more",
        )
        self._done.lost.append((row.window_id, row.ref.key))

    async def _call(self, system: str, call: Awaitable[_T]) -> _T:
        """A vendor call under a hard deadline that covers the whole answer: the connectors'
        own deadline bounds their retries, this bounds one slow or trickling response."""
        seconds = self.deadline_for(system)
        scope = asyncio.timeout(seconds)
        with deadline(seconds):
            try:
                async with scope:
                    return await call
            except TimeoutError:
                if scope.expired():
                    raise _Abandoned(system, seconds) from None
                raise

    async def _read_quietly(self, connector: Connector, ref: TaskRef) -> Task | None:
        """The state right after a pause or resume, to check it took and to record what the
        bot's pause looks like; a failed read must not turn a successful call into a
        failure."""
        try:
            return await self._call(ref.system, connector.read_state(ref))
        except (ConnectorError, asyncio.CancelledError) as exc:
            _reraise_own_cancellation(exc)
            log.info("%s: could not read %s back after changing it: %s", ref.system, ref.key, exc)
            return None

    # -- people's requests to the clock -----------------------------------------------------
    def retry(self, window_id: str, *, by: str) -> None:
        """Retry now what failed in a window: pauses that gave up (with a fresh grace period,
        while the window is on) and resumes waiting for their next attempt."""
        by = _need(by, "by")
        record = _window(self.store, window_id)
        now = self.clock()
        count = 0
        window_on = record.state is _W.ACTIVE and now < record.end
        for row in self.store.window_tasks(record.id):
            if row.state is _S.PAUSE_FAILED and window_on:
                # A fresh grace period: the old one is what made the pause give up.
                moved = self.store.transition_task(
                    row.id,
                    _S.PAUSE_FAILED,
                    _S.PLANNED,
                    next_attempt_at=None,
                    give_up_at=now + self.pause_grace,
                    note=f"retry requested by {by}",
                )
            elif row.state is _S.RESUME_FAILED:
                moved = self.store.transition_task(
                    row.id, _S.RESUME_FAILED, _S.RESUME_FAILED, next_attempt_at=now
                )
            else:
                moved = False
            count += moved
        if not count:
            raise LifecycleError(
                f"Window {record.id} ({record.state.value}) has no failed pause or resume to retry."
            )
        self.store.audit(by, "retry", "ok", window_id=record.id, detail={"tasks": count})
        self._poke()

    def take_over(self, planned_id: int, *, by: str) -> None:
        """A person takes over a task whose resume keeps failing: the clock stops retrying,
        records who took it, and the window ends as failed."""
        by = _need(by, "by")
        try:
            row = self.store.get_planned_task(planned_id)
        except StoreError:
            raise LifecycleError(f"There is no planned task {planned_id}.") from None
        if row.state not in (_S.RESUME_FAILED, _S.RESUMING) or not self.store.transition_task(
            row.id,
            (_S.RESUME_FAILED, _S.RESUMING),
            _S.HANDED_OVER,
            taken_over_by=by,
            next_attempt_at=None,
            claimed_by=None,
            lease_until=None,
            note=f"taken over by {by} after {row.attempts} failed resume attempt(s)",
        ):
            raise LifecycleError(
                f"{row.task_name} ({row.system}) is {row.state.value}; only a task whose "
                "resume is failing can be taken over."
            )
        self.store.audit(
            by,
            "take_over",
            "ok",
            system=row.system,
            task_id=row.task_id,
            window_id=row.window_id,
            detail={"kind": row.kind.value, "attempts": row.attempts},
        )
        self._poke()

    # -- before the start --------------------------------------------------------------------
    async def _unapproved(self, record: WindowRecord, now: datetime, report: TickReport) -> None:
        """Drop a planned window that can no longer be approved in time."""
        if now < record.start:
            return
        approvals = self.store.approvals_for(record.id)
        pending = any(a.state is ApprovalState.PENDING and a.expires_at > now for a in approvals)
        # A window planned to start at once may wait for its approval until its end; one
        # planned ahead had until its start.
        if now < record.end and (pending or (not approvals and record.created_at >= record.start)):
            return
        if not self.store.transition_window(record.id, _W.PLANNED, _W.CANCELLED, finished_at=now):
            return
        self.store.close_approvals(record.id, now)
        self.store.audit(ACTOR, "cancel", "ok", window_id=record.id, reason="not approved in time")
        report.dropped.append(record.id)
        self._alert(
            record,
            "not_approved",
            "not_approved",
            f"Maintenance window {_label(record)} was not approved before its start "
            f"({instant(record.start, record.tz)}), so it was cancelled; nothing was "
            "paused.",
        )

    async def _approved(self, record: WindowRecord, now: datetime, report: TickReport) -> None:
        due = record.start - timedelta(seconds=record.drain_lead_seconds)
        if now < due:
            await self._reminders(record, now, report)
            return
        if now >= record.end:
            await self._missed(record, now, due, report)
            return
        if not self.store.transition_window(record.id, _W.APPROVED, _W.ACTIVE, started_at=now):
            return
        late = now - self._start_due(record)
        self.store.audit(
            ACTOR,
            "start",
            "ok",
            window_id=record.id,
            detail={"late_by_seconds": round(late.total_seconds(), 3)},
        )
        report.started.append(record.id)
        report.late.append(Lateness(record.id, "start", late))

    def _start_due(self, record: WindowRecord) -> datetime:
        """When the start became due: its time (less the drain lead), or its approval if
        that came later (a window planned for "now" is approved after it began, and
        starting it then is not late)."""
        due = record.start - timedelta(seconds=record.drain_lead_seconds)
        approved = [
            a.decided_at
            for a in self.store.approvals_for(record.id)
            if a.state is ApprovalState.APPROVED and a.decided_at is not None
        ]
        return max([due, *approved])

    async def _reminders(self, record: WindowRecord, now: datetime, report: TickReport) -> None:
        due = [r for r in self.reminders if record.start - r <= now]
        if not due:
            return
        # After downtime several thresholds may have passed: say it once, with the real
        # time left, and retire the older thresholds without a message.
        sent = self.store.alerts_sent(record.id)
        nearest = due[-1]
        for r in due[:-1]:
            self.store.claim_alert(record.id, _reminder_key(r))
        if _reminder_key(nearest) in sent:
            return
        rows = self.store.window_tasks(record.id)
        self._alert(
            record,
            _reminder_key(nearest),
            "reminder",
            f"Maintenance window {_label(record)} starts in {length(record.start - now)} "
            f"({instant(record.start, record.tz)}) and lasts until "
            f"{instant(record.end, record.tz)}. It will pause {len(rows)} task(s): "
            f"{_names(rows)}.",
        )

    async def _missed(
        self, record: WindowRecord, now: datetime, due: datetime, report: TickReport
    ) -> None:
        """The whole window passed while maintbot was not running: pausing now would only
        stop jobs after the maintenance is over, so nothing is touched; it is reported."""
        if not self.store.transition_window(record.id, _W.APPROVED, _W.FAILED, finished_at=now):
            return
        note = "not paused: the whole window passed while maintbot was not running"
        rows = self.store.window_tasks(record.id)
        for row in rows:
            self.store.transition_task(
                row.id, (_S.PLANNED,), _S.PAUSE_FAILED, note=note, last_error=note
            )
        self.store.audit(
            ACTOR,
            "start",
            "missed",
            window_id=record.id,
            detail={"late_by_seconds": round((now - due).total_seconds(), 3)},
        )
        report.missed.append(record.id)
        report.late.append(Lateness(record.id, "missed", now - due))
        self._alert(
            record,
            "late",
            "late",
            f"Maintenance window {_label(record)} "
            f"({instant(record.start, record.tz)} to "
            f"{instant(record.end, record.tz)}) passed while maintbot was not running "
            f"(noticed {length(now - due)} after its start). Nothing was paused, so nothing "
            f"needs resuming; these {len(rows)} task(s) were not held during the maintenance "
            f"and may have run: {_names(rows)}.",
        )

    # -- after the calls: alerts and window ends ---------------------------------------------
    async def _follow_up(self, now: datetime, report: TickReport) -> None:
        """What depends on the rows' outcomes, not on a vendor: the start alert once every
        task has had its first attempt, the before-end question, the end alert once every
        task has had its first resume attempt, and finishing a window."""
        for record in self.store.open_windows():
            if record.state is not _W.ACTIVE:
                continue
            if now < record.end:
                self._during(record, now)
            else:
                self._after_end(record, now, report)

    def _during(self, record: WindowRecord, now: datetime) -> None:
        rows = self.store.window_tasks(record.id)
        first_pass_done = not any(
            self._in_flight(r, now) or (r.state is _S.PLANNED and r.attempts == 0) for r in rows
        )
        if first_pass_done and "start" not in self.store.alerts_sent(record.id):
            self._alert(record, "start", "start", lambda: self._start_text(record, rows))
        if record.end - self.before_end <= now and record.end - record.start > self.before_end:
            paused = [r for r in rows if r.state is _S.PAUSED]
            self._alert(
                record,
                f"before_end:{record.end.isoformat()}",
                "before_end",
                f"Maintenance window {_label(record)} ends in {length(record.end - now)} "
                f"({instant(record.end, record.tz)}); then {len(paused)} paused "
                "task(s) will be resumed. Extend it by 30 minutes, or end it now?",
                actions=("extend_30", "end_now"),
            )

    def _after_end(self, record: WindowRecord, now: datetime, report: TickReport) -> None:
        sent_before = self.store.alerts_sent(record.id)
        rows = self.store.window_tasks(record.id)
        first_pass_done = not any(
            self._in_flight(r, now) or r.state in (_S.PLANNED, _S.PAUSED, _S.PAUSING) for r in rows
        )
        if "end" not in sent_before and first_pass_done:
            self._alert(record, "end", "end", lambda: self._end_text(record, rows, now))
        if not all(r.state in _SETTLED for r in rows):
            return
        failed = any(r.state is _S.PAUSE_FAILED or r.taken_over_by for r in rows)
        final = _W.FAILED if failed else _W.COMPLETED
        if not self.store.transition_window(record.id, _W.ACTIVE, final, finished_at=now):
            return
        self.store.audit(ACTOR, "finish", final.value, window_id=record.id)
        report.finished.append((record.id, final))
        self._ends_seen.discard(record.id)
        if "end" in sent_before:
            self._alert(
                record,
                "resolved",
                "resolved",
                f"Maintenance window {_label(record)} is now {final.value}: "
                + " ".join(_listing(rows, _END_GROUPS)),
            )

    # -- pausing -----------------------------------------------------------------------------
    async def _pause_row(self, record: WindowRecord, row: PlannedTask, now: datetime) -> None:
        report = self._done
        ref = row.ref
        recovering = row.state is _S.PAUSING
        give_up = row.give_up_at or max(now, record.start) + self.pause_grace
        if not self._claim(
            row,
            _S.PAUSING,
            now,
            give_up_at=give_up,
            next_attempt_at=None,
            count_attempt=True,
        ):
            if any(h.window_id != record.id for h in self.store.holders(ref, _MID)):
                # Another window's row of this task is being paused or resumed; once that
                # is settled this window can tell whether the pause is the bot's to share.
                report.deferred.append((record.id, ref.key))
            return
        attempt = row.attempts + 1
        reason = pause_reason(record)
        detail: dict[str, Any] = {"kind": ref.kind.value, "attempt": attempt}
        if recovering:
            detail["recovering"] = True
        self._audit(row, "pause", "attempt", detail, reason=reason)
        step = "read"
        try:
            connector = self._connector(row.system)
            if not self._renew(row, "pause", detail):
                return
            task = await self._call(row.system, connector.read_state(ref))
            if task.paused:
                self._found_paused(record, row, task, now, detail, recovering)
                return
            if not self._settle_row(
                row,
                _S.PAUSING,
                _S.PAUSING,
                "pause",
                detail,
                prior_paused=False,
                prior_vendor_state=task.vendor_state,
                prior_task=task.model_dump(mode="json"),
            ) or not self._renew(row, "pause", detail):
                return
            step = "write"
            changed = await self._call(row.system, connector.pause(ref, reason))
            step = "read back"
            after = await self._read_quietly(connector, ref)
            if changed and after is not None and not after.paused:
                # Accepted is not done: a task that still reads active may run.
                raise ConnectorError(
                    row.system,
                    "the scheduler accepted the pause but still reports the task active",
                    retryable=True,
                )
        except (Exception, asyncio.CancelledError) as exc:
            _reraise_own_cancellation(exc)
            if step == "write" and isinstance(exc, _Abandoned):
                self._unknown(record, row, "pause", _S.PAUSING, attempt, exc, now)
            else:
                # A recovering row whose read failed may still be paused by us: it stays
                # a pause to read back, never "not paused".
                self._pause_attempt_failed(
                    record, row, attempt, give_up, exc, now, uncertain=recovering and step == "read"
                )
            return
        if not changed and not (
            after is not None and window_id_in(after.pause_reason) == record.id
        ):
            # The vendor changed nothing. Either someone paused it between our read and our
            # call (theirs, not ours to resume), or the task is inert (finished, aborted,
            # never scheduled) and will not fire: both are left alone.
            if after is not None and not after.paused:
                note = (
                    f"not active in the scheduler ({after.vendor_state or 'no state'}); "
                    "nothing to pause"
                )
            elif after is None:
                note = "the scheduler reported nothing to change; left alone"
            else:
                note = _paused_by_note(after, "just before the window")
            if self._settle_row(
                row,
                _S.PAUSING,
                _S.ALREADY_PAUSED,
                "pause",
                detail,
                prior_paused=bool(after and after.paused),
                note=note,
                last_error=None,
            ):
                self._audit(row, "pause", "no_change", {**detail, "changed": False, "note": note})
                report.already_paused.append((record.id, ref.key))
            return
        marker = _marker(after) if after is not None and after.paused else {"pause_reason": reason}
        if self._settle_row(
            row,
            _S.PAUSING,
            _S.PAUSED,
            "pause",
            detail,
            paused_at=now,
            pause_marker=marker,
            last_error=None,
            next_attempt_at=None,
        ):
            self._audit(row, "pause", "ok", {**detail, "changed": changed})
            report.paused.append((record.id, ref.key))

    def _found_paused(
        self,
        record: WindowRecord,
        row: PlannedTask,
        task: Task,
        now: datetime,
        detail: dict[str, Any],
        recovering: bool,
    ) -> None:
        """The task is paused already: by this window before a restart, by the bot for an
        overlapping window (share the hold), or by someone else (leave it alone)."""
        report = self._done
        ref = row.ref
        owner = window_id_in(task.pause_reason)
        if owner == record.id or (
            recovering and task.pause_reason is None and row.prior_paused is False
        ):
            # Our own pause whose outcome a crash (or an abandoned call) kept us from
            # writing down.
            if self._settle_row(
                row,
                _S.PAUSING,
                _S.PAUSED,
                "pause",
                detail,
                paused_at=row.paused_at or now,
                pause_marker=_marker(task),
                last_error=None,
                next_attempt_at=None,
            ):
                self._audit(row, "pause", "ok", {**detail, "changed": False, "confirmed": True})
                report.paused.append((record.id, ref.key))
            return
        holder = self._holder_for(row, task)
        # A holder in RESUME_FAILED has ended and keeps trying to resume the task; this
        # window needs it paused, so it takes the hold and that window stops resuming.
        if (
            holder is not None
            and holder.state is _S.RESUME_FAILED
            and not self.store.transition_task(
                holder.id,
                _S.RESUME_FAILED,
                _S.HANDED_OVER,
                next_attempt_at=None,
                note=f"handed over to window {record.id}, which needs it paused",
            )
        ):
            holder = None
        if holder is not None:
            if self._settle_row(
                row,
                _S.PAUSING,
                _S.PAUSED,
                "pause",
                detail,
                paused_at=now,
                prior_paused=holder.prior_paused,
                prior_vendor_state=holder.prior_vendor_state,
                prior_task=holder.prior_task,
                pause_marker=_marker(task),
                last_error=None,
                next_attempt_at=None,
                note=f"already paused by maintbot for window {holder.window_id}; held for "
                "this window too",
            ):
                self._audit(row, "pause", "no_change", {**detail, "shared_with": holder.window_id})
                report.shared.append((record.id, ref.key))
            return
        if self._settle_row(
            row,
            _S.PAUSING,
            _S.ALREADY_PAUSED,
            "pause",
            detail,
            prior_paused=True,
            prior_vendor_state=task.vendor_state,
            prior_task=task.model_dump(mode="json"),
            note=_paused_by_note(task, "before the window"),
            last_error=None,
        ):
            self._audit(row, "pause", "no_change", {**detail, "paused_by": task.paused_by})
            report.already_paused.append((record.id, ref.key))

    def _holder_for(self, row: PlannedTask, task: Task) -> PlannedTask | None:
        """Another window's row whose pause this is (it matches what the bot recorded)."""
        candidates = [
            h
            for h in self.store.task_rows(row.ref)
            if h.window_id != row.window_id
            and h.state in (_S.PAUSED, _S.RESUME_FAILED)
            and h.pause_marker is not None
            and _matches(task, h.pause_marker)
        ]
        candidates.sort(key=lambda h: h.state is not _S.PAUSED)
        return candidates[0] if candidates else None

    def _unknown(
        self,
        record: WindowRecord,
        row: PlannedTask,
        action: str,
        state: PlannedTaskState,
        attempt: int,
        exc: _Abandoned,
        now: datetime,
    ) -> None:
        """The pause or resume call was cut off: it may have happened. The row stays in its
        claimed state (so the next attempt, by any clock, reads the task back first and
        decides from what the vendor reports), released after a backoff."""
        retry_at = now + self._backoff(attempt)
        detail: dict[str, Any] = {
            "kind": row.kind.value,
            "attempt": attempt,
            "abandoned_after_seconds": self.deadline_for(row.system),
            "read_back_at": retry_at.isoformat(),
        }
        if self._settle_row(
            row,
            state,
            state,
            action,
            detail,
            claimed_by=None,
            lease_until=None,
            next_attempt_at=retry_at,
            last_error=str(exc),
        ):
            self._audit(row, action, "unknown", detail, error=str(exc))
            self._done.unknown.append((record.id, row.ref.key))

    def _pause_attempt_failed(
        self,
        record: WindowRecord,
        row: PlannedTask,
        attempt: int,
        give_up: datetime,
        exc: BaseException,
        now: datetime,
        *,
        uncertain: bool = False,
    ) -> None:
        report = self._done
        error = _error_text(exc)
        permanent = isinstance(exc, ConnectorError) and not exc.retryable
        detail: dict[str, Any] = {"kind": row.kind.value, "attempt": attempt}
        if uncertain:
            # Not read back yet: giving up here could report a task "not paused" that the
            # bot did pause. It stays a pause to read back, until the window's end.
            retry_at = now + self._backoff(attempt)
            if self._settle_row(
                row,
                _S.PAUSING,
                _S.PAUSING,
                "pause",
                detail,
                claimed_by=None,
                lease_until=None,
                last_error=error,
                next_attempt_at=retry_at,
            ):
                self._audit(
                    row,
                    "pause",
                    "failed",
                    {**detail, "retry_at": retry_at.isoformat(), "read_back": True},
                    error=error,
                )
                report.pause_retrying.append((record.id, row.ref.key))
            return
        if permanent or now >= give_up:
            if not self._settle_row(
                row,
                _S.PAUSING,
                _S.PAUSE_FAILED,
                "pause",
                detail,
                last_error=error,
                next_attempt_at=None,
                note=f"could not pause after {attempt} attempt(s)",
            ):
                return
            self._audit(row, "pause", "failed", {**detail, "gave_up": True}, error=error)
            report.pause_failed.append((record.id, row.ref.key))
            why = (
                "the scheduler refused it"
                if permanent
                else f"retried for {length(now - record.start)}"
            )
            self._alert(
                record,
                f"pause_failed:{row.id}:{attempt}",
                "pause_failed",
                f"Could not pause {_task_label(row)} for maintenance window {_label(record)} "
                f"({why}): {error}. It is NOT paused and may run during the maintenance. "
                "Retry, or pause it by hand in the scheduler.",
                actions=("retry_pause",),
            )
            return
        retry_at = min(now + self._backoff(attempt), give_up)
        if self._settle_row(
            row,
            _S.PAUSING,
            _S.PLANNED,
            "pause",
            detail,
            last_error=error,
            next_attempt_at=retry_at,
        ):
            self._audit(
                row, "pause", "failed", {**detail, "retry_at": retry_at.isoformat()}, error=error
            )
            report.pause_retrying.append((record.id, row.ref.key))

    async def _start_text(self, record: WindowRecord, rows: Sequence[PlannedTask]) -> str:
        fresh = self.store.get_window(record.id)
        due = self._start_due(fresh)
        late = ""
        if fresh.started_at is not None and fresh.started_at - due > self.late_after:
            late = f" {length(fresh.started_at - due)} late (maintbot was not running on time)"
        lines = [
            f"Maintenance window {_label(fresh)} has started{late}; it ends "
            f"{instant(fresh.end, fresh.tz)}."
        ]
        lines += _listing(
            rows,
            [
                (_S.PAUSED, "Paused"),
                (_S.ALREADY_PAUSED, "Left alone (already paused by someone else, or inactive)"),
                (_S.PAUSING, "Pause not confirmed yet (the scheduler was slow; reading back)"),
                (_S.PLANNED, "Not paused yet (retrying)"),
                (_S.PAUSE_FAILED, "Could not pause"),
            ],
        )
        lines.append(await self._running_text(rows))
        return "\n".join(lines)

    async def _running_text(self, rows: Sequence[PlannedTask]) -> str:
        names = {r.ref.key: r.task_name for r in rows}
        systems = [s for s in sorted({r.system for r in rows}) if s in self.connectors]
        missing = [s for s in systems if s not in self._running]
        # One question per system per tick, asked of every system at once.
        answers = await asyncio.gather(
            *(self._call(s, self.connectors[s].running_now()) for s in missing),
            return_exceptions=True,
        )
        for system, answer in zip(missing, answers, strict=True):
            if isinstance(answer, BaseException):
                _reraise_own_cancellation(answer)
                self._running[system] = _error_text(answer)
            else:
                self._running[system] = answer
        running: list[str] = []
        problems: list[str] = []
        for system in systems:
            runs = self._running[system]
            if isinstance(runs, str):
                problems.append(f"{system}: {runs}")
                continue
            for run in runs:
                if run.task.key in names:
                    since = f" since {run.started_at:%H:%M} UTC" if run.started_at else ""
                    running.append(f"{names[run.task.key]} ({system}){since}")
        text = (
            f"Running now (a pause lets runs in progress finish): {_cut(running)}."
            if running
            else "No run of these tasks is in progress."
        )
        if problems:
            text += f" Could not ask what is running: {'; '.join(problems)}."
        return text

    # -- resuming ----------------------------------------------------------------------------
    def _never_paused(self, record: WindowRecord, row: PlannedTask, report: TickReport) -> None:
        note = (
            f"the window ended before the pause succeeded: {row.last_error}"
            if row.last_error
            else "the window ended before the task could be paused"
        )
        if self.store.transition_task(
            row.id, _S.PLANNED, _S.PAUSE_FAILED, next_attempt_at=None, note=note
        ):
            self._audit(
                row, "pause", "failed", {"kind": row.kind.value, "gave_up": True}, error=note
            )
            report.pause_failed.append((record.id, row.ref.key))

    async def _resume_row(self, record: WindowRecord, row: PlannedTask, now: datetime) -> None:
        report = self._done
        ref = row.ref
        came_from = row.state
        others = [h for h in self.store.holders(ref, (_S.PAUSED,)) if h.window_id != record.id]
        if others and came_from in (_S.PAUSED, _S.PAUSING):
            heir = others[0].window_id
            # Settled directly, with the same claim checks as a claim: a live clock's
            # pause in flight is never handed over under it.
            if self.store.claim_task(
                row,
                _S.HANDED_OVER,
                owner=None,
                now=now,
                lease_until=None,
                exclusive=False,
                next_attempt_at=None,
                note=f"still paused for window {heir}, which ends later",
            ):
                self._audit(row, "hand_over", "ok", {"kind": ref.kind.value, "to": heir})
                report.handed_over.append((record.id, ref.key))
            return
        # ``attempts`` counts the current phase: pause attempts until the end, then
        # resume attempts (the audit trail keeps both).
        if came_from in (_S.PAUSED, _S.PAUSING):
            attempt = 1
            fields: dict[str, Any] = {"attempts": 1}
        else:
            attempt = row.attempts + 1
            fields = {"count_attempt": True}
        if not self._claim(row, _S.RESUMING, now, next_attempt_at=None, **fields):
            if any(h.window_id != record.id for h in self.store.holders(ref, _MID)):
                report.deferred.append((record.id, ref.key))
            return
        detail: dict[str, Any] = {"kind": ref.kind.value, "attempt": attempt}
        if came_from in (_S.PAUSING, _S.RESUMING):
            detail["recovering"] = True
        self._audit(row, "resume", "attempt", detail)
        changed = False
        step = "read"
        try:
            connector = self._connector(row.system)
            if not self._renew(row, "resume", detail):
                return
            task = await self._call(row.system, connector.read_state(ref))
            verdict = _end_verdict(record, row, task)
            if verdict == "resume":
                if not self._renew(row, "resume", detail):
                    return
                step = "write"
                changed = await self._call(row.system, connector.resume(ref, _prior(row)))
                step = "read back"
                after = await self._read_quietly(connector, ref)
                if after is not None and _end_verdict(record, row, after) == "resume":
                    # Still paused exactly as the bot left it: never report it resumed.
                    raise ConnectorError(
                        row.system,
                        "the scheduler accepted the resume but still reports the task paused",
                        retryable=True,
                    )
        except (Exception, asyncio.CancelledError) as exc:
            _reraise_own_cancellation(exc)
            if step == "write" and isinstance(exc, _Abandoned):
                self._unknown(record, row, "resume", _S.RESUMING, attempt, exc, now)
            else:
                self._resume_attempt_failed(record, row, attempt, exc, now)
            return
        if verdict == "resume":
            if self._settle_row(
                row,
                _S.RESUMING,
                _S.RESUMED,
                "resume",
                detail,
                resumed_at=now,
                last_error=None,
                next_attempt_at=None,
            ):
                self._audit(row, "resume", "ok", {**detail, "changed": changed})
                report.resumed.append((record.id, ref.key))
        elif verdict == "running" and came_from in (_S.RESUMING, _S.RESUME_FAILED):
            if self._settle_row(
                row,
                _S.RESUMING,
                _S.RESUMED,
                "resume",
                detail,
                resumed_at=now,
                last_error=None,
                next_attempt_at=None,
                note="found running again (by an earlier attempt or by hand)",
            ):
                self._audit(row, "resume", "no_change", {**detail, "found": "running"})
                report.resumed.append((record.id, ref.key))
        elif verdict == "running" and came_from is _S.PAUSING:
            if self._settle_row(
                row,
                _S.RESUMING,
                _S.PAUSE_FAILED,
                "resume",
                detail,
                next_attempt_at=None,
                note="the pause did not complete before the window ended; the task kept running",
            ):
                self._audit(row, "resume", "no_change", {**detail, "found": "never paused"})
                report.pause_failed.append((record.id, ref.key))
        else:
            note = (
                "resumed by someone else during the window"
                if verdict == "running"
                else _paused_by_note(task, "during the window", again=True)
            )
            if self._settle_row(
                row,
                _S.RESUMING,
                _S.LEFT_ALONE,
                "resume",
                detail,
                next_attempt_at=None,
                note=note,
            ):
                self._audit(row, "resume", "no_change", {**detail, "left_alone": note})
                report.left_alone.append((record.id, ref.key))

    def _resume_attempt_failed(
        self,
        record: WindowRecord,
        row: PlannedTask,
        attempt: int,
        exc: BaseException,
        now: datetime,
    ) -> None:
        error = _error_text(exc)
        retry_at = now + self._backoff(attempt)
        detail: dict[str, Any] = {
            "kind": row.kind.value,
            "attempt": attempt,
            "retry_at": retry_at.isoformat(),
        }
        if not self._settle_row(
            row,
            _S.RESUMING,
            _S.RESUME_FAILED,
            "resume",
            detail,
            last_error=error,
            next_attempt_at=retry_at,
        ):
            return
        self._audit(row, "resume", "failed", detail, error=error)
        self._done.resume_failed.append((record.id, row.ref.key))
        self._alert(
            record,
            f"resume_failed:{row.id}:{attempt}",
            "resume_failed",
            f"Could not resume {_task_label(row)} after maintenance window {_label(record)} "
            f"(attempt {attempt}): {error}. It is STILL PAUSED. maintbot retries at "
            f"{instant(retry_at, record.tz)}; retry now, or take it over to resume it "
            "by hand.",
            actions=("retry_resume", "take_over"),
        )

    async def _end_text(
        self, record: WindowRecord, rows: Sequence[PlannedTask], now: datetime
    ) -> str:
        late = ""
        if now - record.end > self.late_after:
            late = f" {length(now - record.end)} late (maintbot was not running on time)"
        lines = [f"Maintenance window {_label(record)} has ended{late}."]
        lines += _listing(rows, _END_GROUPS)
        lines.append(await self._skipped_text(record, rows))
        return "\n".join(lines)

    async def _skipped_text(self, record: WindowRecord, rows: Sequence[PlannedTask]) -> str:
        held = [
            (r, r.paused_at)
            for r in rows
            if r.paused_at is not None and self.connectors.get(r.system) is not None
        ]

        async def one(row: PlannedTask, since: datetime) -> list[SkippedRun]:
            connector = self.connectors[row.system]
            return await self._call(row.system, connector.skipped_runs(row.ref, since, record.end))

        answers = await asyncio.gather(*(one(r, t) for r, t in held), return_exceptions=True)
        found: list[str] = []
        problems: list[str] = []
        for (row, _), skipped in zip(held, answers, strict=True):
            if isinstance(skipped, BaseException):
                _reraise_own_cancellation(skipped)
                problems.append(f"{_task_label(row)}: {_error_text(skipped)}")
            elif skipped:
                first = min(s.at for s in skipped)
                found.append(
                    f"{_task_label(row)} ×{len(skipped)} (first {instant(first, record.tz)})"
                )
        text = (
            f"Runs skipped while paused: {_cut(found)}."
            if found
            else "No runs were reported skipped while paused."
        )
        if problems:
            text += f" Could not read skipped runs for {_cut(problems, 3)}."
        return text

    # -- shared helpers -------------------------------------------------------------------------
    def _connector(self, system: str) -> Connector:
        connector = self.connectors.get(system)
        if connector is None:
            raise ConnectorError(
                system,
                "no scheduler of that name is configured (or its credentials are missing); "
                "fix maintbot.toml and restart the worker",
                retryable=False,
            )
        return connector

    def _backoff(self, attempt: int) -> timedelta:
        exponent = max(0, min(attempt - 1, 16))
        return min(self.retry_backoff * (1 << exponent), self.max_backoff)

    def _audit(
        self,
        row: PlannedTask,
        action: str,
        outcome: str,
        detail: dict[str, Any],
        *,
        reason: str | None = None,
        error: str | None = None,
    ) -> None:
        self.store.audit(
            ACTOR,
            action,
            outcome,
            system=row.system,
            task_id=row.task_id,
            window_id=row.window_id,
            reason=reason,
            error=error,
            detail=detail,
        )

    def _alert(
        self,
        record: WindowRecord,
        key: str,
        kind: str,
        text: str | Callable[[], Awaitable[str]],
        *,
        actions: Sequence[str] = (),
    ) -> bool:
        """Send one notification exactly once: claimed in the store before it is sent, and
        released again if it could not be delivered, so a later tick retries it. Sending
        runs beside the tick (a text that asks a slow vendor what is running must not hold
        up other windows), after the window's earlier alerts, so they arrive in order."""
        if not self.store.claim_alert(record.id, key):
            return False
        previous = self._alerts.get(record.id)
        task = asyncio.create_task(
            self._send(record, key, kind, text, tuple(actions), previous),
            name=f"maintbot-alert-{record.id}-{kind}",
        )
        self._alerts[record.id] = task

        def finished(done: asyncio.Task[None]) -> None:
            if self._alerts.get(record.id) is task:
                del self._alerts[record.id]
            if done.cancelled():
                # Cancelled before or while sending (a stop, a killed tick): released here,
                # once, since a task cancelled before it started never runs its own code.
                self.store.release_alert(record.id, key)

        task.add_done_callback(finished)
        return True

    async def _send(
        self,
        record: WindowRecord,
        key: str,
        kind: str,
        text: str | Callable[[], Awaitable[str]],
        actions: tuple[str, ...],
        previous: asyncio.Task[None] | None,
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait({previous})
            body = text if isinstance(text, str) else await text()
            async with asyncio.timeout(_NOTIFY_DEADLINE):
                await self.notifier.notify(
                    self.store.get_window(record.id), kind, body, actions=actions
                )
        except Exception:
            log.exception(
                "could not deliver the %s alert of window %s; will retry", kind, record.id
            )
            self.store.release_alert(record.id, key)
            return
        self._done.notifications.append((record.id, kind))


_END_GROUPS: list[tuple[PlannedTaskState, str]] = [
    (_S.RESUMED, "Resumed"),
    (_S.HANDED_OVER, "Still paused for a later window, or taken over by a person"),
    (_S.LEFT_ALONE, "Left alone (changed by someone during the window)"),
    (_S.ALREADY_PAUSED, "Left alone (paused by someone else before the window, or inactive)"),
    (_S.PAUSE_FAILED, "Could not pause (ran during the window)"),
    (_S.RESUME_FAILED, "Could not resume, STILL PAUSED (retrying)"),
    (_S.RESUMING, "Resume not confirmed yet (the scheduler was slow; reading back)"),
]


def _end_verdict(record: WindowRecord, row: PlannedTask, task: Task) -> str:
    """``resume`` when the task is paused as the bot left it; ``running`` when it is not
    paused; ``changed`` when someone else's pause is on it now."""
    if not task.paused:
        return "running"
    if row.pause_marker is not None:
        return "resume" if _matches(task, row.pause_marker) else "changed"
    owner = window_id_in(task.pause_reason)
    if owner == record.id or (task.pause_reason is None and row.prior_paused is False):
        return "resume"
    return "changed"


def _reraise_own_cancellation(exc: BaseException) -> None:
    """Re-raise a cancellation of the clock's own task (a stop, or a killed tick). A
    CancelledError that leaks out of a connector's internal shared future while nobody
    cancelled us is that call failing, and is handled like any other failure."""
    task = asyncio.current_task()
    if isinstance(exc, asyncio.CancelledError) and (task is None or task.cancelling() > 0):
        raise exc


def _paused_by_note(task: Task | None, when: str, *, again: bool = False) -> str:
    verb = "re-paused" if again else "paused"
    if task is None:
        return f"{verb} by someone else {when}"
    who = task.paused_by or "someone else"
    since = f" (since {instant(task.paused_at, 'UTC')})" if task.paused_at else ""
    why = f": {task.pause_reason[:120]}" if task.pause_reason else ""
    silent = "" if task.paused_by or task.pause_reason else " (the scheduler does not say who)"
    return f"{verb} by {who} {when}{since}{why}{silent}"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ConnectorError):
        return str(exc)
    if isinstance(exc, asyncio.CancelledError):
        return "the connector's request was cancelled inside it (a connector bug); will retry"
    log.error("unexpected error in the window clock", exc_info=exc)
    return f"unexpected {type(exc).__name__} in maintbot (see its log)"


def _reminder_key(lead: timedelta) -> str:
    return f"reminder:{int(lead.total_seconds())}"


def _label(record: WindowRecord) -> str:
    return f"“{record.text}” ({record.id})" if record.text else record.id


def _task_label(row: PlannedTask) -> str:
    return f"{row.task_name} ({row.system})"


def _names(rows: Iterable[PlannedTask]) -> str:
    return _cut([_task_label(r) for r in rows])


def _cut(items: Sequence[str], limit: int = 10) -> str:
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def _listing(
    rows: Sequence[PlannedTask], groups: Sequence[tuple[PlannedTaskState, str]]
) -> list[str]:
    lines = []
    for state, title in groups:
        members = [r for r in rows if r.state is state]
        if not members:
            continue
        labels = []
        for r in members:
            extra = r.note or r.last_error
            labels.append(
                f"{_task_label(r)}: {extra}"
                if extra and state is not _S.RESUMED
                else _task_label(r)
            )
        lines.append(f"{title} ({len(members)}): {_cut(labels)}.")
    return lines


# -- wiring for the worker and serve ----------------------------------------------------------
def clock_deadlines(config: Config) -> dict[str, float]:
    """Per-call deadlines for the window clock: a scheduler table's own ``deadline_seconds``
    (and so its leases, twice that); schedulers without one get ``vendor_deadline``."""
    return {
        name: cfg.deadline_seconds
        for name, cfg in config.schedulers.items()
        if cfg.deadline_seconds is not None
    }


async def run_clock(
    config: Config,
    store: Store,
    notifier: Notifier,
    stop: asyncio.Event,
    *,
    clock: Clock,
    interval: float = 5.0,
    **options: Any,
) -> None:
    """Open the configured schedulers and run the window clock until ``stop`` (used by
    ``maintbot worker``; ``serve`` can run the same coroutine on its loop).

    Each scheduler's calls are bounded as :func:`clock_deadlines` says."""
    from bot.check import open_schedulers

    schedulers = open_schedulers(config, clock)
    try:
        connectors: dict[str, Connector] = {}
        for scheduler in schedulers:
            if scheduler.connector is None:
                log.error("window clock: %s is unusable: %s", scheduler.name, scheduler.error)
            else:
                connectors[scheduler.name] = scheduler.connector
        options.setdefault("deadlines", clock_deadlines(config))
        window_clock = WindowClock(store, connectors, clock, notifier, **options)
        await window_clock.run(stop, interval)
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))
