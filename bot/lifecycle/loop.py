"""The window clock: :class:`WindowClock` reads what is due from the store on every tick
(approvals expiring, reminders, starts, ends, retries) and runs each system's pauses and
resumes on that system's lane; :func:`clock_deadlines` gives each scheduler its bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config import Config
from bot.errors import LifecycleError, StoreError
from bot.lifecycle.alerts import (
    AlertTexts,
    before_end_alert,
    missed_alert,
    not_approved_alert,
    reminder_alert,
    reminder_key,
    resolved_alert,
)
from bot.lifecycle.base import (
    ACTOR,
    Lateness,
    TickReport,
    log,
    outcome,
    reraise_own_cancellation,
)
from bot.lifecycle.history import RunStarts
from bot.lifecycle.pausing import Pausing
from bot.lifecycle.people import require_text, window_or_error
from bot.lifecycle.resuming import Resuming
from bot.logs import WINDOW_ID
from bot.model import (
    ApprovalState,
    PlannedTask,
    PlannedTaskState,
    WindowRecord,
    WindowState,
)

_S = PlannedTaskState
_W = WindowState

# Where the clock records its latest tick (read by /readyz and /metrics).
HEARTBEAT_KEY = "clock.last_tick"
# The lease that says which running clock ticks (one among the replicas on a database).
LEAD = "window-clock"
LEAD_TTL = timedelta(seconds=30)


@dataclass(frozen=True)
class Heartbeat:
    """The clock's latest recorded tick, and which replica's clock made it."""

    at: datetime
    owner: str | None  # None: written by a maintbot from before owners were recorded

    def encode(self) -> str:
        return json.dumps({"at": self.at.isoformat(), "owner": self.owner})

    @classmethod
    def decode(cls, value: str | None) -> Heartbeat | None:
        """``None`` for no heartbeat or one that cannot be read (never a guess)."""
        if value is None:
            return None
        owner: object = None
        try:
            if not value.startswith("{"):
                at = datetime.fromisoformat(value)  # written before owners were recorded
            else:
                data = json.loads(value)
                at = datetime.fromisoformat(str(data["at"]))
                owner = data.get("owner")
        except (ValueError, KeyError, TypeError):
            return None
        if at.tzinfo is None:
            return None
        return cls(at, owner if isinstance(owner, str) else None)


def clock_deadlines(config: Config) -> dict[str, float]:
    """Per-call deadlines for the window clock: a scheduler table's own ``deadline_seconds``
    (and so its leases, twice that); schedulers without one get ``vendor_deadline``."""
    return {
        name: cfg.deadline_seconds
        for name, cfg in config.schedulers.items()
        if cfg.deadline_seconds is not None
    }


class WindowClock(Pausing, Resuming, AlertTexts, RunStarts):
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

    # -- the loop ----------------------------------------------------------------------------
    async def run(
        self,
        stop: asyncio.Event,
        interval: float = 5.0,
        drain: float = 5.0,
        lead_ttl: timedelta = LEAD_TTL,
    ) -> None:
        """Tick every ``interval`` seconds (sooner after a person's retry, or when a lane
        finishes its work) until ``stop``; then let calls in flight finish for up to
        ``drain`` seconds before abandoning them (their leases let another clock take over).

        **One clock among replicas.** Each turn first takes or renews the ``window-clock``
        lease in the store for ``lead_ttl``; a clock that does not hold it waits as a
        standby and tries again next turn. A leader that dies stops renewing, so a standby
        takes over within ``lead_ttl`` plus one ``interval``; a clean stop gives the lease
        up at once. Claims on each task (above) still decide who may touch a task, so a
        leader cut off from the store acts on nothing it no longer holds."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if not self._lead(lead_ttl):
                    await self._wait(stopper, interval)
                    continue
                try:
                    if self.planner is not None:
                        await self.planner()
                    report = await self.tick(wait=False)
                except Exception:
                    # One bad tick (a locked database, a bug on one row) must not end the
                    # loop: the next tick re-derives everything from the store.
                    log.exception("window clock: tick failed; trying again in %ss", interval)
                    if self.metrics is not None:
                        self.metrics.tick(None)
                else:
                    if report.summary() != "nothing due":
                        log.info("window clock: %s", report.summary())
                await self._wait(stopper, interval)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(drain):
                    await self.settle()
        finally:
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
            await self.aclose()
            if self.leading:
                self.leading = False
                with contextlib.suppress(Exception):  # a store that is gone: the lease lapses
                    self.store.release_lead(LEAD, self.owner)

    async def _wait(self, stopper: asyncio.Future[Any], interval: float) -> None:
        """Until ``interval`` has passed, someone wakes the clock, or it is stopped."""
        assert self._wake is not None  # set by run()
        waker = asyncio.ensure_future(self._wake.wait())
        await asyncio.wait({stopper, waker}, timeout=interval, return_when="FIRST_COMPLETED")
        waker.cancel()
        try:
            await waker
        except asyncio.CancelledError as exc:
            # The waker's own cancellation is expected; this task's is not to be swallowed
            # (it was: a clock cancelled at this very await kept running, and the test
            # awaiting it hung; seen under load in tests/test_leadership.py).
            reraise_own_cancellation(exc)
        self._wake.clear()

    def _lead(self, ttl: timedelta) -> bool:
        """Take or renew the lead; say so when it changes hands. A store that does not
        answer makes this clock a standby (it could not renew, so it may not tick)."""
        try:
            leading = self.store.try_lead(LEAD, self.owner, now=self.clock(), ttl=ttl)
            holder = None if leading else self.store.leader(LEAD)
        except Exception:
            log.exception("window clock: could not reach the store to lead; standing by")
            leading, holder = False, None
        if leading and not self.leading:
            log.info("window clock: leading now (owner %s)", self.owner)
        elif not leading and self.leading:
            log.warning("window clock: lost the lead; standing by (owner %s)", self.owner)
        elif not leading and holder is not None and not self._standby_said:
            log.info(
                "window clock: standing by; %s leads until %s", holder[0], holder[2].isoformat()
            )
        self._standby_said = not leading
        self.leading = leading
        return leading

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
        await self._cancel_history_reads()

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
                # Only what can be due: a window further ahead than the first reminder has
                # nothing for this tick (bot.store.Store.due_windows).
                ahead = self.reminders[0] if self.reminders else timedelta(0)
                for record in self.store.due_windows(now, ahead):
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
                # Beside the tick, never part of its outcome (bot.lifecycle.history).
                reads = self._start_history_reads(now)
                if wait and reads:
                    await asyncio.gather(*reads)
            except asyncio.CancelledError:
                # A killed tick takes its jobs with it, as a killed process would.
                await self.aclose()
                raise
            if time.monotonic() - self._heartbeat >= 30:
                # A heartbeat for people and health checks; not what any decision reads,
                # so it need not cost a disk sync on every tick.
                self._heartbeat = time.monotonic()
                self.store.set_kv(HEARTBEAT_KEY, Heartbeat(now, self.owner).encode())
            if self.metrics is not None:
                self.metrics.tick(report)
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
        open_now = self.store.active_windows()  # only active windows have calls to make
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
        # The job's log lines name its window (bot.logs), whatever they say themselves.
        context = contextvars.copy_context()
        context.run(WINDOW_ID.set, row.window_id)
        task = asyncio.create_task(
            self._in_lane(row.system, job), name=f"maintbot-{row.id}", context=context
        )
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

    # -- people's requests to the clock -----------------------------------------------------
    def retry(self, window_id: str, *, by: str) -> None:
        """Retry now what failed in a window: pauses that gave up (with a fresh grace period,
        while the window is on) and resumes waiting for their next attempt."""
        by = require_text(by, "by")
        record = window_or_error(self.store, window_id)
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
        by = require_text(by, "by")
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
        self._alert(record, "not_approved", "not_approved", not_approved_alert(record))

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

    async def _reminders(self, record: WindowRecord, now: datetime, report: TickReport) -> None:
        due = [r for r in self.reminders if record.start - r <= now]
        if not due:
            return
        # After downtime several thresholds may have passed: say it once, with the real
        # time left, and retire the older thresholds without a message.
        sent = self.store.alerts_sent(record.id)
        nearest = due[-1]
        for r in due[:-1]:
            self.store.claim_alert(record.id, reminder_key(r))
        if reminder_key(nearest) in sent:
            return
        rows = self.store.window_tasks(record.id)
        self._alert(record, reminder_key(nearest), "reminder", reminder_alert(record, rows, now))

    async def _missed(
        self, record: WindowRecord, now: datetime, due: datetime, report: TickReport
    ) -> None:
        """The whole window passed while maintbot was not running: pausing now would only
        stop jobs after the maintenance is over, so nothing is touched; it is reported, and
        the window is failed (nothing was held: not a window that worked with exceptions)."""
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
        self._alert(record, "late", "late", missed_alert(record, rows, now - due))

    # -- after the calls: alerts and window ends ---------------------------------------------
    async def _follow_up(self, now: datetime, report: TickReport) -> None:
        """What depends on the rows' outcomes, not on a vendor: the start alert once every
        task has had its first attempt, the before-end question, the end alert once every
        task has had its first resume attempt, and finishing a window."""
        for record in self.store.active_windows():
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
            self._alert(
                record,
                "start",
                "start",
                lambda: self._start_text(record, rows),
                actions=("extend", "end_now"),
            )
        if record.end - self.before_end <= now and record.end - record.start > self.before_end:
            self._alert(
                record,
                f"before_end:{record.end.isoformat()}",
                "before_end",
                before_end_alert(record, rows, now),
                actions=("extend", "end_now"),
            )

    def _after_end(self, record: WindowRecord, now: datetime, report: TickReport) -> None:
        sent_before = self.store.alerts_sent(record.id)
        rows = self.store.window_tasks(record.id)
        first_pass_done = not any(
            self._in_flight(r, now) or r.state in (_S.PLANNED, _S.PAUSED, _S.PAUSING) for r in rows
        )
        if "end" not in sent_before and first_pass_done:
            self._alert(record, "end", "end", lambda: self._end_text(record, rows, now))
        final = outcome(rows)
        if final is None:
            return
        if not self.store.transition_window(record.id, _W.ACTIVE, final, finished_at=now):
            return
        self.store.audit(
            ACTOR, "finish", final.value, window_id=record.id, detail={"owner": self.owner}
        )
        report.finished.append((record.id, final))
        self._ends_seen.discard(record.id)
        if "end" in sent_before:
            self._alert(record, "resolved", "resolved", resolved_alert(record, rows))
