"""What every part of the window clock shares: its state (store, connectors, lanes, owner
identity, deadlines and leases), claims by compare-and-set with leases, vendor calls
under a hard deadline, the audit trail and alert delivery. :class:`ClockCore` is the
base that :mod:`~bot.lifecycle.pausing`, :mod:`~bot.lifecycle.resuming` and
:mod:`~bot.lifecycle.alerts` build on; :class:`~bot.lifecycle.loop.WindowClock` joins them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from bot.clock import Clock
from bot.connectors.base import Connector, deadline
from bot.errors import ConnectorError, LifecycleError
from bot.format import instant
from bot.lifecycle.notify import Alert, Notifier
from bot.model import (
    ApprovalState,
    PlannedTask,
    PlannedTaskState,
    RunningNow,
    Task,
    TaskRef,
    WindowRecord,
    WindowState,
)
from bot.store import Store

if TYPE_CHECKING:
    from bot.lifecycle.history import HistoryRead
    from bot.metrics import Metrics

log = logging.getLogger(__name__)


ACTOR = "maintbot"


ACTIONS = frozenset({"extend", "end_now", "retry_pause", "retry_resume", "take_over"})


_S = PlannedTaskState


_W = WindowState


# A row in one of these states no longer needs anything from the clock.
SETTLED = frozenset({_S.ALREADY_PAUSED, _S.PAUSE_FAILED, _S.RESUMED, _S.LEFT_ALONE, _S.HANDED_OVER})


def outcome(rows: Sequence[PlannedTask]) -> WindowState | None:
    """How an ended window ended, once every row is settled (``None`` before): ``failed``
    when a person had to take a task over; ``completed_with_exceptions`` when everything
    the bot paused was restored but some task could not be paused or was changed by
    someone during the window (left alone); otherwise ``completed``. A task found paused
    by someone else (or inactive) before the window was held all the same: no exception."""
    if not all(r.state in SETTLED for r in rows):
        return None
    if any(r.taken_over_by for r in rows):
        return _W.FAILED
    if any(r.state in (_S.PAUSE_FAILED, _S.LEFT_ALONE) for r in rows):
        return _W.COMPLETED_WITH_EXCEPTIONS
    return _W.COMPLETED


# Rows with a vendor call in flight (or cut off before its outcome was written down).
MID_CALL = (_S.PAUSING, _S.RESUMING)


# A notifier (Slack) that has not answered in this long is tried again on a later tick.
_NOTIFY_DEADLINE = 60.0


_T = TypeVar("_T")


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


def reraise_own_cancellation(exc: BaseException) -> None:
    """Re-raise a cancellation of the clock's own task (a stop, or a killed tick). A
    CancelledError that leaks out of a connector's internal shared future while nobody
    cancelled us is that call failing, and is handled like any other failure."""
    task = asyncio.current_task()
    if isinstance(exc, asyncio.CancelledError) and (task is None or task.cancelling() > 0):
        raise exc


def error_text(exc: BaseException) -> str:
    if isinstance(exc, ConnectorError):
        return str(exc)
    if isinstance(exc, asyncio.CancelledError):
        return "the connector's request was cancelled inside it (a connector bug); will retry"
    log.error("unexpected error in the window clock", exc_info=exc)
    return f"unexpected {type(exc).__name__} in maintbot (see its log)"


def paused_by_note(task: Task | None, when: str, *, again: bool = False) -> str:
    verb = "re-paused" if again else "paused"
    if task is None:
        return f"{verb} by someone else {when}"
    who = task.paused_by or "someone else"
    since = f" (since {instant(task.paused_at, 'UTC')})" if task.paused_at else ""
    why = f": {task.pause_reason[:120]}" if task.pause_reason else ""
    silent = "" if task.paused_by or task.pause_reason else " (the scheduler does not say who)"
    return f"{verb} by {who} {when}{since}{why}{silent}"


class ClockCore:
    """The window clock's state and the plumbing its parts share; see :class:`WindowClock`
    (:mod:`bot.lifecycle.loop`) for the whole."""

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
        # Whether this clock holds the window-clock lease (only its run() loop takes it).
        self.leading = False
        self._standby_said = False
        self._lock = asyncio.Lock()
        # What each system has running, asked once per tick however many windows start in
        # it (for some vendors that is one request per task); dropped at the next tick.
        self._running: dict[str, list[RunningNow] | str] = {}
        self._wake: asyncio.Event | None = None
        self._heartbeat = float("-inf")
        # Where each tick's outcome is counted (bot.metrics.Metrics; the application sets it).
        self.metrics: Metrics | None = None
        # Run by the leader before each tick of the loop (the application plans the series'
        # next occurrences here; they need a conflict check, which the clock cannot do).
        self.planner: Callable[[], Awaitable[object]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Jobs in flight, by planned-task id (so no tick starts a second one), one semaphore
        # per system, alerts being sent (chained per window, so they arrive in order), and
        # what finished jobs did, until a tick reports it.
        self._jobs: dict[int, asyncio.Task[None]] = {}
        self._lanes: dict[str, asyncio.Semaphore] = {}
        self._alerts: dict[str, asyncio.Task[None]] = {}
        self._done = TickReport(now=clock())
        self._ends_seen: set[str] = set()
        # Run starts read beside the ticks (bot.lifecycle.history): the reads in flight,
        # when each system was last tried, and each system's latest outcome.
        self._history_jobs: dict[str, asyncio.Task[None]] = {}
        self._history_tried: dict[str, datetime] = {}
        self.history_reads: dict[str, HistoryRead] = {}

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
            reraise_own_cancellation(exc)
            log.info("%s: could not read %s back after changing it: %s", ref.system, ref.key, exc)
            return None

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
            # Which replica did it: among several, the trail names the clock that acted.
            detail={"owner": self.owner, **detail},
        )

    def _alert(
        self,
        record: WindowRecord,
        key: str,
        kind: str,
        text: str | Alert | Callable[[], Awaitable[Alert]],
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
        text: str | Alert | Callable[[], Awaitable[Alert]],
        actions: tuple[str, ...],
        previous: asyncio.Task[None] | None,
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait({previous})
            body = text if isinstance(text, str | Alert) else await text()
            async with asyncio.timeout(_NOTIFY_DEADLINE):
                await self.notifier.notify(
                    self.store.get_window(record.id), kind, body, actions=actions
                )
        except Exception:
            log.exception(
                "could not deliver the %s alert of window %s; will retry",
                kind,
                record.id,
                extra={"window_id": record.id},
            )
            self.store.release_alert(record.id, key)
            return
        self._done.notifications.append((record.id, kind))

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
