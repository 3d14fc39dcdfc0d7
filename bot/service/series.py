"""Recurring maintenance: a series is planned and approved once; each occurrence becomes an
ordinary window ahead of time, and the window clock runs it like any other.

- **Planning** (:meth:`SeriesDesk.plan`) checks the first occurrence as a one-off plan
  would (its tasks from the plan's spec: the conflicting ones, ``all``, named tasks or a
  scope), then records the series and that occurrence's window in one transaction. The
  approval of that first window is the series' approval (``bot.lifecycle.people.decide``
  moves the series with it), so the Slack and CLI approval flows serve series unchanged.
- **Each later occurrence** is planned by :meth:`SeriesDesk.plan_due`, which the window
  clock's leader runs every turn: once an occurrence is within the series' ``plan_ahead``
  (a day by default) it gets a fresh conflict check with the same spec, an approved window,
  and a note in its thread saying what changed since the previous occurrence. A system
  that cannot be checked keeps the previous occurrence's tasks of that system (fail safe:
  an unreadable vendor never means "nothing to pause"). Two clocks planning the same
  occurrence record it once (a unique index on the series and the occurrence's start).
- An occurrence can be **skipped** (its window, if planned and not started, is cancelled)
  or **moved** (planned at once at another time); the series can be **ended** (no further
  occurrence; one under way finishes) or **cancelled** (every open occurrence with it).

An occurrence is keyed by its nominal start: the instant the rule gives, whatever time its
window was moved to. Occurrences whose start falls in a DST gap are reported, never shifted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.calendar import SeriesEvent
from bot.errors import ApprovalError, LifecycleError, MaintbotError, ScopeError, WindowError
from bot.lifecycle import approve_now, cancel_window, plan_window, request_approval
from bot.lifecycle.people import require_text
from bot.model import (
    OPEN_SERIES_STATES,
    OPEN_WINDOW_STATES,
    ApprovalRecord,
    PlannedTask,
    PredictedStart,
    SeriesRecord,
    SeriesState,
    TaskRef,
    Window,
    WindowRecord,
    WindowState,
)
from bot.run_history import predicted_starts
from bot.series import Occurrence, Series, occurrences
from bot.service.editing import EditResult
from bot.service.scope import Scope
from bot.service.tasks import colliding
from bot.store import Store

if TYPE_CHECKING:
    from bot.service.maintbot import Maintbot

__all__ = [
    "PLAN_AHEAD",
    "Rescoped",
    "SeriesDesk",
    "SeriesPlan",
    "SeriesView",
    "calendar_events",
    "series_of",
]

log = logging.getLogger("bot.series")

PLAN_AHEAD = timedelta(days=1)
"""How long before its start an occurrence gets its window (and its conflict check)."""

_SCAN = 60  # occurrences looked at per series and turn: far more than fit in plan_ahead
_RETRY = timedelta(minutes=5)  # after a failed planning, before the clock tries again
_SHOWN = 3  # upcoming occurrences in a view


def series_of(record: SeriesRecord) -> Series:
    """The domain series a stored one describes (what :func:`bot.series.occurrences`
    expands)."""
    return Series(
        rrule=record.rrule,
        dtstart=record.dtstart,
        tz=record.tz,
        until=record.until,
        count=record.count,
        duration=record.duration,
        occurrence_text=record.occurrence_text,
        title=record.title,
        text=record.text,
    )


@dataclass(frozen=True)
class SeriesView:
    """A series, its occurrences planned so far, and the next ones still to come."""

    record: SeriesRecord
    windows: tuple[WindowRecord, ...]
    upcoming: tuple[Occurrence, ...]

    @property
    def next_window(self) -> WindowRecord | None:
        open_ = [w for w in self.windows if w.state in OPEN_WINDOW_STATES]
        return min(open_, key=lambda w: w.start) if open_ else None


@dataclass(frozen=True)
class Rescoped:
    """A series' new task spec: what the next occurrence gains and loses, and its window
    (which asks for approval again when it gained anything)."""

    series: SeriesRecord
    window: WindowRecord | None
    added: tuple[str, ...]
    removed: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    # How the next occurrence's window changed (it was planned already), or the approval
    # request it carries (it was planned for this): what a face shows approvers.
    edit: EditResult | None = None
    approval: ApprovalRecord | None = None

    @property
    def reapproval(self) -> bool:
        return bool(self.added)


@dataclass(frozen=True)
class SeriesPlan:
    series: SeriesRecord
    first: WindowRecord
    tasks: tuple[PlannedTask, ...]
    parsed: Series
    approval: ApprovalRecord | None = None
    warnings: tuple[str, ...] = ()


@dataclass
class SeriesDesk:
    """Series for one bot: planning, the clock's planning ahead, skip, move, end, cancel."""

    bot: Maintbot
    # Occurrences whose planning failed, and when to try again (this process only: a new
    # leader simply tries at once).
    _retry_at: dict[tuple[str, datetime], datetime] = field(default_factory=dict)
    # Per series: (its version, the first start beyond plan_ahead) after a turn that left
    # nothing to plan; until that start comes within reach the series is not expanded.
    _quiet_until: dict[str, tuple[int, datetime]] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.bot.store

    # -- planning ------------------------------------------------------------------------
    async def plan(
        self,
        series: Series,
        *,
        by: str,
        tasks: str | None = None,
        scope: Scope | None = None,
        approved_by: str | None = None,
        plan_ahead: timedelta = PLAN_AHEAD,
        channel: str | None = None,
        title: str | None = None,
        ask: bool = False,
    ) -> SeriesPlan:
        """Record ``series`` and its first occurrence's window (see the module's docstring).
        Everything is checked before anything is written; a refusal is audited. With
        ``ask`` (Slack), the first window's approval request is opened in ``channel``; if
        it cannot be, nothing stays planned."""
        by = require_text(by, "requested_by")
        spec = _spec(tasks, scope)
        now = self.bot.clock()
        try:
            if plan_ahead <= timedelta(0) or plan_ahead > timedelta(days=31):
                raise LifecycleError(
                    "Plan occurrences between a minute and 31 days ahead, e.g. --plan-ahead 1d."
                )
            policy = await self.bot.policy()
            if approved_by is not None:
                policy.check(approved_by.strip(), by)
            first = _first_possible(series, now)
            assert first.window is not None
            chosen, warnings, predicted = await self._checked_tasks(spec, first.window)
        except (ApprovalError, ScopeError, LifecycleError, WindowError) as exc:
            self.store.audit(
                by,
                "plan_series",
                "refused",
                error=str(exc),
                detail={"text": series.text, "rrule": series.rrule, "tasks": spec},
            )
            raise
        name = (title or "").strip() or series.title
        with self.store.transaction():
            record = self.store.create_series(
                text=series.text,
                title=name,
                tz=series.tz,
                rrule=series.rrule,
                dtstart=series.dtstart,
                until=series.until,
                count=series.count,
                duration=series.duration,
                occurrence_text=series.occurrence_text,
                requested_by=by,
                tasks=spec,
                plan_ahead=plan_ahead,
                channel=channel,
            )
            window = plan_window(
                self.store,
                first.window,
                chosen,
                requested_by=by,
                now=now,
                channel=channel,
                title=name,
                series=record,
                occurrence=first.window.start,
                predicted=predicted,
            )
            self.store.audit(
                by,
                "plan_series",
                "ok",
                window_id=window.id,
                detail={
                    "series": record.id,
                    "rrule": record.rrule,
                    "tz": record.tz,
                    "dtstart": record.dtstart.isoformat(),
                    "until": record.until.isoformat() if record.until else None,
                    "count": record.count,
                    "tasks": spec,
                },
            )
            if approved_by is not None:
                window = approve_now(
                    self.store,
                    window.id,
                    requested_by=by,
                    approved_by=approved_by.strip(),
                    policy=policy,
                    now=now,
                )
            approval = (
                request_approval(self.store, window.id, requested_by=by, now=now, channel=channel)
                if ask and approved_by is None
                else None
            )
        return SeriesPlan(
            series=self.store.get_series(record.id),
            first=window,
            tasks=tuple(self.store.window_tasks(window.id)),
            parsed=series,
            approval=approval,
            warnings=tuple(warnings),
        )

    async def _tasks_for(
        self, spec: dict[str, Any], window: Window
    ) -> tuple[list[tuple[TaskRef, str]], list[str]]:
        chosen, warnings, _ = await self._checked_tasks(spec, window)
        return chosen, warnings

    async def _checked_tasks(
        self, spec: dict[str, Any], window: Window
    ) -> tuple[list[tuple[TaskRef, str]], list[str], dict[str, list[PredictedStart]]]:
        """:meth:`_tasks_for`, with the run times its check predicted, by task key (none
        when the spec names its tasks: no check is run for them)."""
        scope = spec.get("scope")
        tasks = spec.get("tasks")
        if scope is not None:
            return await self.bot._scoped(window, _scope(scope), tasks)
        if tasks is None:
            # The conflicting tasks: none is a plan too (nothing runs into this occurrence),
            # but only when some scheduler answered; no answer at all is no plan.
            report = await self.bot._joined_check(window)
            if report.systems and not any(s.ok for s in report.systems):
                raise MaintbotError(
                    "No scheduler answered the check, so this occurrence's tasks are unknown: "
                    + "; ".join(f"{s.system}: {s.error or 'no answer'}" for s in report.systems)
                )
            chosen, warnings = colliding(report, allow_empty=True)
            return chosen, warnings, predicted_starts(report.conflicts)
        return await self.bot._resolve(tasks, window)

    # -- the clock: plan each occurrence ahead of time ----------------------------------
    async def plan_due(self) -> list[WindowRecord]:
        """Plan every occurrence of an approved series that is now within its
        ``plan_ahead`` and has no window yet; end series that have run out. What was
        planned, soonest first."""
        now = self.bot.clock()
        made: list[WindowRecord] = []
        for record in self.store.open_series():
            if record.state is SeriesState.PLANNED:
                self._unapproved(record)
                continue
            try:
                made += await self._plan_series(record, now)
            except MaintbotError as exc:
                log.warning("series %s: could not plan ahead: %s", record.id, exc)
        return sorted(made, key=lambda w: w.start)

    async def _plan_series(self, record: SeriesRecord, now: datetime) -> list[WindowRecord]:
        horizon = now + record.plan_ahead
        quiet = self._quiet_until.get(record.id)
        if quiet is not None and quiet[0] == record.version and horizon < quiet[1]:
            return []  # nothing new comes within reach before that start: no expansion
        series = series_of(record)
        # From one length back: an occurrence under way but never planned (no clock ran at
        # its planning time) is planned late rather than lost.
        ahead = occurrences(series, after=now - record.duration, count=_SCAN)
        if not ahead and not self._open_occurrences(record):
            if self.store.transition_series(record.id, SeriesState.APPROVED, SeriesState.ENDED):
                self.store.audit("clock", "end_series", "ok", detail={"series": record.id})
            return []
        existing = {w.occurrence for w in self.store.series_windows(record.id)}
        skipped = set(record.skipped)
        made: list[WindowRecord] = []
        pending = False
        self._quiet_until.pop(record.id, None)
        for occurrence in ahead:
            if occurrence.window is None:
                self._report_gap(record, occurrence)
                continue
            key = occurrence.window.start
            if key > horizon:
                if not pending:
                    # Everything within reach is planned: the next turn to look is when
                    # this start comes within plan_ahead (or the series changes).
                    self._quiet_until[record.id] = (record.version, key)
                break
            if key in existing or key in skipped or occurrence.window.end <= now:
                continue
            retry = self._retry_at.get((record.id, key))
            if retry is not None and now < retry:
                pending = True
                continue
            planned = await self._plan_occurrence(record, key, occurrence.window, now)
            if planned is None:
                pending = True
                self._retry_at[(record.id, key)] = now + _RETRY
            else:
                self._retry_at.pop((record.id, key), None)
                made.append(planned)
        return made

    def _unapproved(self, record: SeriesRecord) -> None:
        """A series whose first occurrence was never approved (its window was cancelled,
        its approval ran out) cannot be approved any more: it is cancelled, and said so."""
        if self._open_occurrences(record):
            return
        if self.store.transition_series(record.id, SeriesState.PLANNED, SeriesState.CANCELLED):
            log.warning("series %s: its first occurrence was not approved; cancelled", record.id)
            self.store.audit(
                "clock",
                "cancel_series",
                "not_approved",
                detail={"series": record.id},
            )

    def _open_occurrences(self, record: SeriesRecord) -> list[WindowRecord]:
        return [w for w in self.store.series_windows(record.id) if w.state in OPEN_WINDOW_STATES]

    async def _plan_occurrence(
        self,
        record: SeriesRecord,
        key: datetime,
        window: Window,
        now: datetime,
        *,
        by: str = "clock",
    ) -> WindowRecord | None:
        """One occurrence's window, approved by the series' approver, with a fresh check;
        ``None`` when it could not be planned now (the next turn tries again)."""
        previous = self._previous(record, key)
        before = self.store.window_tasks(previous.id) if previous is not None else []
        # Only the fresh check's predictions are kept: a task carried over from the previous
        # occurrence (its system unread) has none, as nothing was predicted for this window.
        predicted: dict[str, list[PredictedStart]] = {}
        try:
            chosen, warnings, predicted = await self._checked_tasks(record.tasks, window)
            unchecked = {w.split(" ", 1)[0] for w in warnings if " could not be checked" in w}
        except ScopeError as exc:  # the scope matches nothing this time: said, not an error
            chosen, warnings, unchecked = [], [str(exc)], set()
        except MaintbotError as exc:
            # No fresh check at all (a vendor that cannot be read, a task gone missing):
            # fail safe, with what the previous occurrence paused.
            if not before:
                log.warning("series %s: occurrence %s not planned yet: %s", record.id, key, exc)
                return None
            chosen, unchecked = [], {p.ref.system for p in before}
            warnings = [f"the check could not be made ({exc})"]
        kept = [(p.ref, p.task_name) for p in before if p.ref.system in unchecked]
        tasks = _unique([*chosen, *kept])
        # One transaction: the clock never runs an occurrence whose predictions are missing
        # only because a crash came between the two writes.
        with self.store.transaction():
            made = self.store.create_occurrence(
                record,
                key,
                window,
                tasks=tasks,
                state=WindowState.APPROVED,
                approved_by=record.approved_by,
            )
            if made is not None and predicted:
                self.store.record_predictions(made.id, predicted)
        if made is None:  # another clock planned it meanwhile
            return None
        made = self._join_thread(made, previous)
        added, removed = _difference(before, tasks)
        self.store.audit(
            by,
            "plan_occurrence",
            "ok",
            window_id=made.id,
            detail={
                "series": record.id,
                "occurrence": key.isoformat(),
                "tasks": len(tasks),
                "added": sorted(r.key for r, _ in added),
                "removed": sorted(r.key for r, _ in removed),
                "kept_unchecked": sorted(unchecked),
                "warnings": warnings,
            },
        )
        await self._announce(made, previous, added, removed, warnings, kept)
        return made

    def _join_thread(self, made: WindowRecord, previous: WindowRecord | None) -> WindowRecord:
        """The occurrence's alerts go where the series' approval was asked (the first
        occurrence's approval thread), not to a thread of their own; the alert channel's
        thread is joined when the first alert is sent (bot.service.threads)."""
        first = next(iter(self.store.series_windows(made.series_id or "")), None)
        if first is None or first.id == made.id:
            return made
        fields = {
            name: value
            for name, value in (("channel", first.channel), ("thread_ts", first.thread_ts))
            if value
        }
        if fields and self.store.update_window_fields(made.id, made.version, **fields):
            return self.store.get_window(made.id)
        return made

    def _previous(self, record: SeriesRecord, key: datetime) -> WindowRecord | None:
        before = [
            w
            for w in self.store.series_windows(record.id)
            if w.occurrence is not None
            and w.occurrence < key
            and w.state is not WindowState.CANCELLED
        ]
        return before[-1] if before else None

    def _find(self, record: SeriesRecord, key: datetime) -> WindowRecord | None:
        return next((w for w in self.store.series_windows(record.id) if w.occurrence == key), None)

    async def _announce(
        self,
        made: WindowRecord,
        previous: WindowRecord | None,
        added: Sequence[tuple[TaskRef, str]],
        removed: Sequence[tuple[TaskRef, str]],
        warnings: Sequence[str],
        kept: Sequence[tuple[TaskRef, str]],
    ) -> None:
        """Say in the occurrence's thread what it will pause, against the previous one."""
        if not self.store.claim_alert(made.id, "series_planned"):
            return
        count = len(self.store.window_tasks(made.id))
        lines = [f"Occurrence planned: {count} task(s) to pause."]
        if previous is None:
            lines.append("This is the first occurrence planned ahead.")
        elif not added and not removed:
            lines.append("Same tasks as the previous occurrence.")
        else:
            if added:
                lines.append("New since the previous occurrence: " + _names(added) + ".")
            if removed:
                lines.append("No longer in it: " + _names(removed) + ".")
        if kept:
            lines.append(
                "Kept from the previous occurrence because their system could not be "
                "checked: " + _names(kept) + "."
            )
        lines += [f"Warning: {w}" for w in warnings]
        try:
            await self.bot.notifier.notify(made, "series_planned", " ".join(lines))
        except Exception:
            self.store.release_alert(made.id, "series_planned")
            log.exception("series: could not announce occurrence %s", made.id)

    def _report_gap(self, record: SeriesRecord, occurrence: Occurrence) -> None:
        """An occurrence that cannot happen on its date (a DST gap): said once, audited."""
        key = f"series-gap:{record.id}:{occurrence.day.isoformat()}"
        if self.store.claim_kv(key, occurrence.problem or "gap"):
            log.warning(
                "series %s: no occurrence on %s: %s", record.id, occurrence.day, occurrence.problem
            )
            self.store.audit(
                "clock",
                "skip_occurrence",
                "gap",
                error=occurrence.problem,
                detail={"series": record.id, "day": occurrence.day.isoformat()},
            )

    # -- a person's changes --------------------------------------------------------------
    def _occurrence_on(self, record: SeriesRecord, day: date) -> Occurrence:
        """The occurrence of ``record`` on ``day`` (a date in the series' zone), still to
        come or under way."""
        now = self.bot.clock()
        for occurrence in occurrences(series_of(record), after=now - record.duration, count=400):
            if occurrence.day == day:
                return occurrence
            if occurrence.day > day:
                break
        raise LifecycleError(
            f"Series {record.id} has no occurrence on {day.isoformat()} still to come; "
            f"`maintbot series show {record.id}` lists the next ones."
        )

    def skip(self, series_id: str, day: date, *, by: str) -> SeriesRecord:
        """Take the occurrence on ``day`` out of the series; its window, if planned, is
        cancelled. One that has started is refused: end its window instead."""
        by = require_text(by, "by")
        record = self._open(series_id)
        occurrence = self._occurrence_on(record, day)
        if occurrence.window is None:
            raise LifecycleError(
                f"The {day.isoformat()} occurrence cannot happen anyway ({occurrence.problem})."
            )
        key = occurrence.window.start
        if key in record.skipped:
            raise LifecycleError(f"The {day.isoformat()} occurrence is skipped already.")
        planned = self._find(record, key)
        if planned is not None and planned.state not in (WindowState.PLANNED, WindowState.APPROVED):
            raise LifecycleError(
                f"The {day.isoformat()} occurrence has started (window {planned.id} is "
                f"{planned.state.label}); end it with `maintbot end {planned.id}` instead."
            )
        if not self.store.skip_occurrence(record.id, record.version, key):
            raise LifecycleError(f"Series {record.id} changed meanwhile; try again.")
        if planned is not None:
            cancel_window(self.store, planned.id, by=by, now=self.bot.clock())
        self.store.audit(
            by,
            "skip_occurrence",
            "ok",
            window_id=planned.id if planned else None,
            detail={"series": record.id, "occurrence": key.isoformat()},
        )
        return self.store.get_series(record.id)

    async def move(self, series_id: str, day: date, window: Window, *, by: str) -> WindowRecord:
        """Plan the occurrence on ``day`` now, at ``window`` instead of its usual time (the
        series' approval covers it when the move stays within a day of the usual start)."""
        by = require_text(by, "by")
        record = self._open(series_id)
        if record.state is not SeriesState.APPROVED:
            raise LifecycleError(f"Series {record.id} is not approved yet; approve it first.")
        occurrence = self._occurrence_on(record, day)
        if occurrence.window is None:
            raise LifecycleError(
                f"The {day.isoformat()} occurrence cannot happen ({occurrence.problem})."
            )
        key = occurrence.window.start
        now = self.bot.clock()
        planned = self._find(record, key)
        if planned is not None:
            raise LifecycleError(
                f"The {day.isoformat()} occurrence is planned already as window {planned.id}; "
                f"move it with `maintbot edit {planned.id}`."
            )
        if key in record.skipped:
            raise LifecycleError(f"The {day.isoformat()} occurrence is skipped.")
        if window.start <= now:
            raise LifecycleError("Move it to a time still ahead.")
        if abs(window.start - key) > timedelta(days=1) or window.duration > 2 * record.duration:
            raise LifecycleError(
                "A moved occurrence stays within a day of its usual start and at most twice "
                "its length (the series' approval covers that much); plan a one-off window "
                "for anything else."
            )
        made = await self._plan_occurrence(record, key, window, now, by=by)
        if made is None:
            raise LifecycleError(
                "No scheduler answered, so the occurrence was not planned; try again."
            )
        return made

    async def rescope(
        self, series_id: str, *, by: str, tasks: str | None = None, scope: Scope | None = None
    ) -> Rescoped:
        """Change what each occurrence pauses. Narrowing keeps the approval; anything that
        would pause a task the last approval did not cover needs an approver again: the
        series goes back to planned (no occurrence after the next is planned until it is
        approved) and the next occurrence's window asks for the wider tasks, approved
        through it as a series' first occurrence is. Compared on the next occurrence, with
        both specs checked against the vendors there."""
        by = require_text(by, "by")
        record = self._open(series_id)
        spec = _spec(tasks, scope)
        if spec == record.tasks:
            raise LifecycleError(f"Series {record.id} pauses exactly that already.")
        now = self.bot.clock()
        planned = [
            w
            for w in self.store.series_windows(record.id)
            if w.state in (WindowState.PLANNED, WindowState.APPROVED)
        ]
        upcoming = min(planned, key=lambda w: w.start) if planned else None
        if upcoming is not None:
            window = upcoming.window
            before = {p.ref.key for p in self.store.window_tasks(upcoming.id)}
        else:
            occurrence = self._next_unplanned(record, now)
            assert occurrence.window is not None
            window = occurrence.window
            old, _ = await self._tasks_for(record.tasks, window)
            before = {ref.key for ref, _ in old}
        chosen, warnings = await self._tasks_for(spec, window)
        after = {ref.key: (ref, name) for ref, name in chosen}
        wider = sorted(after.keys() - before)
        narrower = sorted(before - after.keys())
        if not self.store.set_series_tasks(record.id, record.version, spec, reapprove=bool(wider)):
            raise LifecycleError(f"Series {record.id} changed meanwhile; try again.")
        self.store.audit(
            by,
            "rescope_series",
            "ok",
            detail={"series": record.id, "tasks": spec, "added": wider, "removed": narrower},
        )
        edited: WindowRecord | None = None
        edit: EditResult | None = None
        approval: ApprovalRecord | None = None
        if upcoming is not None and (wider or narrower):
            edit = await self.bot.edit(upcoming.id, by=by, add=wider, remove=narrower)
            edited = edit.record
            # Later occurrences planned already lose what the series no longer pauses (the
            # wider ones are planned from the new spec once it is approved).
            for later in planned:
                if later.id == upcoming.id:
                    continue
                held = {p.ref.key for p in self.store.window_tasks(later.id)}
                gone = sorted(held - after.keys())
                if gone:
                    await self.bot.edit(later.id, by=by, remove=gone)
        elif upcoming is None and wider:
            # Nothing planned yet: the next occurrence is planned now, to carry the request.
            edited = self.store.create_occurrence(
                self.store.get_series(record.id),
                window.start,
                window,
                tasks=list(after.values()),
                state=WindowState.PLANNED,
                approved_by=None,
            )
            if edited is not None:
                edited = self._join_thread(edited, None)
                approval = request_approval(
                    self.store, edited.id, requested_by=by, now=now, channel=edited.channel
                )
        return Rescoped(
            series=self.store.get_series(record.id),
            window=edited,
            added=tuple(wider),
            removed=tuple(narrower),
            warnings=tuple(warnings),
            edit=edit,
            approval=approval,
        )

    def _next_unplanned(self, record: SeriesRecord, now: datetime) -> Occurrence:
        skipped = set(record.skipped)
        for occurrence in occurrences(series_of(record), after=now, count=_SCAN):
            if occurrence.window is not None and occurrence.window.start not in skipped:
                return occurrence
        raise LifecycleError(f"Series {record.id} has no occurrence ahead to change.")

    def end(self, series_id: str, *, by: str) -> SeriesRecord:
        """No occurrence after now; planned ones that have not started are cancelled, one
        under way finishes as planned."""
        return self._close(series_id, by=by, new=SeriesState.ENDED)

    def cancel(self, series_id: str, *, by: str) -> SeriesRecord:
        """The series and every open occurrence: one under way ends now (its tasks are
        resumed at the clock's next turn)."""
        return self._close(series_id, by=by, new=SeriesState.CANCELLED)

    def _close(self, series_id: str, *, by: str, new: SeriesState) -> SeriesRecord:
        by = require_text(by, "by")
        record = self._open(series_id)
        now = self.bot.clock()
        if not self.store.transition_series(record.id, record.state, new, until_at=now):
            raise LifecycleError(f"Series {record.id} changed meanwhile; try again.")
        closed = []
        for window in self._open_occurrences(record):
            if window.state is WindowState.ACTIVE and new is SeriesState.ENDED:
                continue
            cancel_window(self.store, window.id, by=by, now=now)
            closed.append(window.id)
        action = "end_series" if new is SeriesState.ENDED else "cancel_series"
        self.store.audit(by, action, "ok", detail={"series": record.id, "windows": closed})
        return self.store.get_series(record.id)

    def _open(self, series_id: str) -> SeriesRecord:
        found = self.store.find_series(str(series_id).strip())
        if found is None:
            raise LifecycleError(f"No series with id {series_id!r}; `maintbot windows` lists them.")
        if found.state not in OPEN_SERIES_STATES:
            raise LifecycleError(f"Series {found.id} is {found.state.label} already.")
        return found

    def first_window(self, series_id: str) -> WindowRecord:
        """The window whose approval decides a planned series."""
        record = self._open(series_id)
        if record.state is not SeriesState.PLANNED:
            raise LifecycleError(
                f"Series {record.id} is {record.state.label}; only a planned series can be "
                "approved or rejected."
            )
        windows = [
            w for w in self.store.series_windows(record.id) if w.state is WindowState.PLANNED
        ]
        if not windows:
            raise LifecycleError(f"Series {record.id} has no occurrence waiting for approval.")
        return windows[0]

    # -- reading -------------------------------------------------------------------------
    def view(self, series_id: str) -> SeriesView:
        record = self.store.find_series(str(series_id).strip())
        if record is None:
            raise LifecycleError(f"No series with id {series_id!r}; `maintbot windows` lists them.")
        return self._view(record)

    def _view(self, record: SeriesRecord) -> SeriesView:
        windows = tuple(self.store.series_windows(record.id))
        upcoming: tuple[Occurrence, ...] = ()
        if record.state in OPEN_SERIES_STATES:
            planned = {w.occurrence for w in windows} | set(record.skipped)
            upcoming = tuple(
                o
                for o in occurrences(
                    series_of(record), after=self.bot.clock(), count=_SHOWN + len(planned)
                )
                if o.window is None or o.window.start not in planned
            )[:_SHOWN]
        return SeriesView(record, windows, upcoming)

    def list(self, *, recent: int = 0) -> list[SeriesView]:
        """Open series, first start first, then ``recent`` closed ones."""
        shown = self.store.list_series(OPEN_SERIES_STATES)
        if recent:
            closed = [s for s in self.store.list_series(None) if s.state not in OPEN_SERIES_STATES]
            shown += closed[-recent:]
        return [self._view(s) for s in shown]


def calendar_events(store: Store, now: datetime) -> list[SeriesEvent]:
    """Every series as the calendar feed shows it: its rule (with an UNTIL once a person
    ended it), its skipped and cancelled occurrences and the usual dates of moved ones as
    EXDATEs, and the tasks its latest occurrence pauses."""
    events: list[SeriesEvent] = []
    for record in store.list_series(None, limit=1_000_000):
        windows = store.series_windows(record.id)
        gone = {
            w.occurrence
            for w in windows
            if w.occurrence is not None
            and (w.state is WindowState.CANCELLED or w.start != w.occurrence)
        }
        latest = windows[-1] if windows else None
        tasks = store.window_tasks(latest.id) if latest is not None else []
        events.append(
            SeriesEvent(
                id=record.id,
                title=record.title,
                text=record.text,
                tz=record.tz,
                dtstart=record.dtstart,
                duration=record.duration,
                rrule=_feed_rule(record),
                exdates=tuple(sorted(gone | set(record.skipped))),
                state=record.state.value,
                tasks=tuple((t.system, t.task_id, t.task_name) for t in tasks),
                version=record.version,
                updated_at=record.updated_at,
            )
        )
    return events


def _feed_rule(record: SeriesRecord) -> str:
    """The stored rule, with the series' current end: a person's end (``until``) replaces
    whatever end the rule was written with."""
    if record.until is None:
        return record.rrule
    parts = [
        p for p in record.rrule.split(";") if p.split("=", 1)[0].upper() not in ("UNTIL", "COUNT")
    ]
    parts.append("UNTIL=" + record.until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
    return ";".join(parts)


def _first_possible(series: Series, now: datetime) -> Occurrence:
    """The first occurrence still ahead that can happen (one in a DST gap is passed over,
    with the rest of the series)."""
    found = occurrences(series, after=now, count=_SCAN)
    for occurrence in found:
        if occurrence.window is not None:
            return occurrence
    if found:
        raise WindowError(
            f"None of the next {len(found)} occurrences can happen: {found[0].problem} "
            'Try another clock time, e.g. "every Sunday 3-5am".'
        )
    raise WindowError(
        'That series has no occurrence still ahead; give a later end, e.g. "every Saturday '
        '2-4am until Mar 31".'
    )


def _spec(tasks: str | None, scope: Scope | None) -> dict[str, Any]:
    """What each occurrence pauses, as stored: re-resolved for every occurrence."""
    return {"tasks": tasks, "scope": scope.to_json() if scope is not None else None}


def _scope(data: dict[str, Any]) -> Scope:
    return Scope(
        systems=tuple(data.get("systems") or ()),
        groups=tuple(data.get("groups") or ()),
        name=str(data.get("name") or ""),
        exclude=tuple(data.get("exclude") or ()),
        include=tuple(data.get("include") or ()),
    )


def _unique(tasks: Sequence[tuple[TaskRef, str]]) -> list[tuple[TaskRef, str]]:
    seen: dict[str, tuple[TaskRef, str]] = {}
    for ref, name in tasks:
        seen.setdefault(ref.key, (ref, name or ref.id))
    return list(seen.values())


def _difference(
    before: Sequence[PlannedTask], now: Sequence[tuple[TaskRef, str]]
) -> tuple[list[tuple[TaskRef, str]], list[tuple[TaskRef, str]]]:
    old = {p.ref.key: (p.ref, p.task_name) for p in before}
    new = {ref.key: (ref, name) for ref, name in now}
    added = [new[k] for k in sorted(new.keys() - old.keys())]
    removed = [old[k] for k in sorted(old.keys() - new.keys())]
    return added, removed


def _names(tasks: Sequence[tuple[TaskRef, str]]) -> str:
    shown = [f"{name} ({ref.system})" for ref, name in tasks[:10]]
    if len(tasks) > 10:
        shown.append(f"and {len(tasks) - 10} more")
    return ", ".join(shown)
