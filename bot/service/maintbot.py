"""The application: every use case of maintbot as one call on one object.

:class:`Maintbot` owns the schedulers, the store, the approval policy, the injected clock
and the window clock. Each method checks its policy, audits its outcome *and its
refusals*, and returns data; it prints nothing and knows neither Slack nor argparse. The
Slack listeners and the CLI verbs are thin faces over it (ack or parse, one call, render),
so a rule cannot hold in one face and not the other (``tests/test_parity.py``).

:func:`open_maintbot` is the one place the running bot is wired: which schedulers (see
:mod:`bot.service.wiring`), the store, and the window clock with its deadlines.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.approvals import ManageAction, Policy
from bot.calendar import SeriesEvent
from bot.check import Scheduler, check_window, open_schedulers
from bot.clock import Clock, system_clock
from bot.config import Config, Settings
from bot.connectors.base import Connector
from bot.errors import (
    ApprovalError,
    ConnectorError,
    LifecycleError,
    MaintbotError,
    OverlapError,
    ScopeError,
    WindowError,
)
from bot.format import length
from bot.lifecycle import (
    ACTOR,
    HEARTBEAT_KEY,
    Decision,
    Heartbeat,
    LogNotifier,
    Notifier,
    TickReport,
    WindowClock,
    approve_now,
    cancel_window,
    clock_deadlines,
    decide,
    end_window_now,
    extend_window,
    plan_window,
    request_approval,
    window_refusal,
)
from bot.lifecycle.loop import LEAD
from bot.lifecycle.notify import Alert, KeepsThreads
from bot.metrics import Metrics
from bot.model import (
    OPEN_WINDOW_STATES,
    ApprovalRecord,
    ApprovalState,
    ConflictReport,
    PlannedTask,
    PlannedTaskState,
    PredictedStart,
    ResumeRequestRecord,
    ResumeRequestState,
    SeriesRecord,
    Task,
    TaskRef,
    Window,
    WindowRecord,
    WindowState,
)
from bot.render import PauseNote, plain_pause
from bot.run_history import predicted_starts
from bot.series import Series, parse_series
from bot.service.audit import AuditFilters, AuditTrail, parse_moment, read_trail
from bot.service.calendar import feed as calendar_feed
from bot.service.calendar import (
    feed_path,
    feed_token,
    public_base,
    rotate_token,
    token_matches,
)
from bot.service.drafts import (
    Draft,
    DraftError,
    DraftTask,
    draft_tasks,
    load_draft,
    new_draft_id,
    refs_of,
    save_draft,
)
from bot.service.editing import EditResult, edit_window, editable, overlap_refusal, overlapping
from bot.service.pauses import (
    ActionResult,
    HeldPaused,
    ResumeDecision,
    abandon_resume_request,
    changed_since,
    decide_resume,
    held_paused,
    note_of_task,
    pause_detail,
    pause_now_reason,
    pause_task,
    request_resume,
    resume_task,
)
from bot.service.reports import StoredCheck, load_check, save_check
from bot.service.scope import Candidates, Scope, gather, list_system
from bot.service.series import (
    PLAN_AHEAD,
    Rescoped,
    SeriesDesk,
    SeriesPlan,
    SeriesView,
    calendar_events,
)
from bot.service.suggest import (
    Suggestion,
    read_request,
    store_candidates,
    unanswered,
    warnings_of,
)
from bot.service.tasks import TaskChoice, colliding, every_active, named
from bot.service.threads import StoreThreads
from bot.service.wiring import Need, scheduler_config
from bot.store import SCHEMA_VERSION, Store
from bot.suggest import DEFAULT_TOP, rank

log = logging.getLogger(__name__)

__all__ = [
    "ApproverSource",
    "InProgress",
    "Maintbot",
    "PlanResult",
    "ReportRow",
    "ResumeAsked",
    "Resumed",
    "TakeOver",
    "WindowView",
    "open_maintbot",
]

ApproverSource = Callable[[], Awaitable[frozenset[str]]]

# Tasks a person can take over: their resume keeps failing (the clock's rule).
_STUCK = (PlannedTaskState.RESUME_FAILED, PlannedTaskState.RESUMING)
_PLAN_PENDING = "pending"


class InProgress(MaintbotError):
    """A change to the same task is already running in this process (a double click)."""


@dataclass(frozen=True)
class ReportRow:
    """One row of a stored report, as its buttons name it: acting on it needs to be the
    report's owner, and acts on exactly the task the report showed."""

    check_id: object
    index: object


@dataclass(frozen=True)
class ResumeAsked:
    """Resuming someone else's pause needs an approver: a resume request was recorded
    (``new``) or one was already waiting. Nothing was resumed."""

    request: ResumeRequestRecord
    new: bool
    note: PauseNote


@dataclass(frozen=True)
class Resumed:
    """A resume that was tried; ``was`` is whose pause it lifted, when someone else's."""

    result: ActionResult
    was: PauseNote | None


@dataclass(frozen=True)
class WindowView:
    record: WindowRecord
    tasks: tuple[PlannedTask, ...]


@dataclass(frozen=True)
class PlanResult:
    window: WindowView
    approval: ApprovalRecord | None = None
    # The window as read from the person's text (with its notes), when planned from one.
    parsed: Window | None = None
    # Systems that could not be checked, so none of their tasks is in the plan.
    warnings: tuple[str, ...] = ()
    # ``plan`` from a report that already has its window: nothing new was recorded.
    already: bool = False
    # Open windows it overlaps, planned anyway (``overlap_ok``).
    overlaps: tuple[WindowRecord, ...] = ()


@dataclass(frozen=True)
class TakeOver:
    window: WindowRecord
    taken: tuple[PlannedTask, ...]


@dataclass
class Maintbot:
    """The bot, wired: build it with :func:`open_maintbot` (or :meth:`from_config`)."""

    settings: Settings
    store: Store
    schedulers: Sequence[Scheduler]
    clock: Clock
    notifier: Notifier = field(default_factory=LogNotifier)
    # Who may approve, resolved at each decision (Slack expands user groups); ``None``:
    # the names in MAINTBOT_APPROVERS, taken literally.
    approvers: ApproverSource | None = None
    # The command line: with no approvers configured, any second name approves (see Policy).
    command_line: bool = False
    deadlines: dict[str, float] = field(default_factory=dict)
    # GET /metrics: this bot's own registry (several bots in one process keep theirs apart).
    metrics: Metrics = field(default_factory=Metrics)
    window_clock: WindowClock = field(init=False)
    series: SeriesDesk = field(init=False)
    clock_task: asyncio.Task[Any] | None = field(default=None, init=False)
    clock_interval: float = field(default=5.0, init=False)
    # Task keys with a pause/resume in flight in this process: a double click acts once.
    _inflight: set[str] = field(default_factory=set, init=False)
    _checks: dict[tuple[datetime, datetime, bool], asyncio.Future[ConflictReport]] = field(
        default_factory=dict, init=False
    )

    def __post_init__(self) -> None:
        if isinstance(self.notifier, KeepsThreads):
            # One thread per window in the alert channel, kept in this store.
            self.notifier.bind_threads(StoreThreads(self.store))
        connectors = {s.name: s.connector for s in self.schedulers if s.connector is not None}
        self.window_clock = WindowClock(
            self.store, connectors, self.clock, self.notifier, deadlines=self.deadlines
        )
        self.window_clock.metrics = self.metrics
        self.series = SeriesDesk(self)
        # The clock's leader plans each series' next occurrences before every tick.
        self.window_clock.planner = self.series.plan_due
        for connector in connectors.values():
            connector.observe(self.metrics)
        self.metrics.bind(self)

    @classmethod
    def from_config(
        cls, settings: Settings, store: Store, config: Config | None, clock: Clock, **kw: Any
    ) -> Maintbot:
        """Open ``config``'s schedulers (none without one), each bounded by its deadline."""
        if config is None:
            return cls(settings, store, [], clock, **kw)
        return cls(
            settings,
            store,
            open_schedulers(config, clock),
            clock,
            deadlines=clock_deadlines(config),
            **kw,
        )

    async def aclose(self) -> None:
        await asyncio.gather(*(s.aclose() for s in self.schedulers))

    # -- policy -------------------------------------------------------------------------
    async def policy(self) -> Policy:
        policy = Policy.from_settings(self.settings, command_line=self.command_line)
        if self.approvers is None:
            return policy
        return dataclasses.replace(policy, approvers=await self.approvers())

    def connector(self, system: str) -> Connector:
        for scheduler in self.schedulers:
            if scheduler.name == system:
                if scheduler.connector is None:
                    raise MaintbotError(
                        f"{system} cannot be reached from this bot: {scheduler.error}"
                    )
                return scheduler.connector
        raise MaintbotError(
            f"{system} is not configured in this bot any more; run the check again."
        )

    # -- check and report ---------------------------------------------------------------
    def parse(self, text: str, tz: str | None = None, languages: Sequence[str] = ()) -> Window:
        """``text`` as one window in ``tz``; ``languages`` (a Slack locale such as ``fr-FR``)
        are tried first when the text is not English."""
        from bot.windows import parse_window

        return parse_window(
            text, tz=tz or self.settings.maintbot_tz, now=self.clock(), languages=languages
        )

    def parse_series(
        self, text: str, tz: str | None = None, languages: Sequence[str] = ()
    ) -> Series | None:
        """``text`` as a recurring window, or ``None`` when it is not recurring."""
        return parse_series(
            text, tz=tz or self.settings.maintbot_tz, now=self.clock(), languages=languages
        )

    async def check(
        self,
        window: Window | str,
        *,
        by: str,
        tz: str | None = None,
        channel: str | None = None,
        request_id: str | None = None,
        languages: Sequence[str] = (),
    ) -> StoredCheck:
        """Check a window (or a text read in ``tz``, in ``languages`` first), store the
        report and audit it."""
        if isinstance(window, str):
            window = self.parse(window, tz, languages)
        report = await self._joined_check(window)
        stored = save_check(self.store, report, user=by, channel=channel)
        failed = [s.system for s in report.systems if not s.ok]
        self.store.audit(
            by,
            "check",
            "partial" if failed else "ok",
            request_id=request_id,
            error=f"no answer from {', '.join(failed)}" if failed else None,
            detail={
                "check": stored.id,
                "text": window.text,
                "tz": window.tz,
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "conflicts": len(report.conflicts),
            },
        )
        return stored

    async def _joined_check(self, window: Window, *, each_run: bool = False) -> ConflictReport:
        """Checks of the same instants already running are joined rather than repeated:
        when a team all types the same command after an announcement, the schedulers are
        asked once, not once per person (which would also run into their per-minute rate
        limits). Nothing is cached after it completes. ``each_run``: the range check of
        ``suggest`` (see :func:`bot.check.check_window`)."""
        key = (window.start, window.end, each_run)
        running = self._checks.get(key)
        if running is None:
            running = asyncio.ensure_future(
                check_window(
                    window,
                    self.schedulers,
                    self.clock,
                    metrics=self.metrics,
                    each_run=each_run,
                    history=self.store,
                    lengths=self.store,
                )
            )
            self._checks[key] = running

            def finished(done: asyncio.Future[ConflictReport]) -> None:
                self._checks.pop(key, None)
                if not done.cancelled():
                    done.exception()  # every joiner re-raises it; this one only marks it seen

            running.add_done_callback(finished)
        report = await asyncio.shield(running)
        self._count(report)
        # Same instants, but each person's own text, zone and notes in their echo.
        return report.model_copy(update={"window": window})

    def _count(self, report: ConflictReport) -> None:
        """One check asked for (a command, a dialog, an edit, a plan), by its outcome; a
        joined check counts for each who asked, as each got an answer."""
        failed = [s.system for s in report.systems if not s.ok]
        everything = bool(report.systems) and len(failed) == len(report.systems)
        self.metrics.check_done("failed" if everything else "partial" if failed else "ok")

    async def suggest(
        self,
        slot: str | timedelta,
        *,
        within: str | None,
        by: str,
        tz: str | None = None,
        channel: str | None = None,
        top: int = DEFAULT_TOP,
    ) -> Suggestion:
        """The ``top`` least disturbing slots of length ``slot`` in the range ``within``
        (a window text; default the next seven days), outside every open window, from one
        check over the whole range. Each candidate's report is stored (for "Plan this");
        the suggestion is audited."""
        slot_length, span = read_request(
            slot, within, tz=tz or self.settings.maintbot_tz, now=self.clock()
        )
        report = await self._joined_check(span, each_run=True)
        unanswered(report)
        planned = [(w.start, w.end) for w in self.store.open_windows()]
        ranking = rank(report, slot_length, now=self.clock(), planned=planned, top=top)
        checks = store_candidates(self.store, ranking, report, by=by, channel=channel)
        warnings = warnings_of(ranking)
        self.store.audit(
            by,
            "suggest",
            "partial" if warnings else "ok",
            error="; ".join(warnings) or None,
            detail={
                "length": length(slot_length),
                "start": span.start.isoformat(),
                "end": span.end.isoformat(),
                "tz": span.tz,
                "candidates": [
                    {"start": c.start.isoformat(), "check": check.id}
                    for c, check in zip(ranking.candidates, checks, strict=True)
                ],
            },
        )
        return Suggestion(ranking, checks, warnings)

    def report(self, check_id: object) -> StoredCheck:
        """A stored check by id (its pages are the face's to draw)."""
        return load_check(self.store, check_id)

    # -- pause and resume now -----------------------------------------------------------
    async def _target(self, task: ReportRow | str, by: str) -> tuple[TaskRef, str, str | None]:
        """(ref, name, report id) of a report row or a ``SYSTEM:ID`` item."""
        if isinstance(task, ReportRow):
            check = self.report(task.check_id)
            if check.user and check.user != by:
                raise MaintbotError(
                    "That report belongs to someone else; run `/maintenance check` yourself "
                    "to act on its tasks."
                )
            conflict = check.conflict(task.index)
            self.connector(conflict.system)  # still configured?
            return conflict.ref, conflict.task_name, check.id
        found = await named(task, self.schedulers, option="task")
        if len(found) != 1:
            raise LifecycleError(f"name one task, e.g. talend:5f1c…; got {task!r}")
        return found[0].ref, found[0].name, None

    def _claim(self, ref: TaskRef, name: str) -> None:
        if ref.key in self._inflight:
            raise InProgress(f"A change to {name} is already in progress; its result follows.")
        self._inflight.add(ref.key)

    async def pause_now(
        self, task: ReportRow | str, *, by: str, request_id: str | None = None
    ) -> ActionResult:
        ref, name, check_id = await self._target(task, by)
        self._claim(ref, name)
        try:
            return await pause_task(
                self.store,
                self.connector(ref.system),
                ref,
                by=by,
                reason=pause_now_reason("Paused", by, check_id),
                request_id=request_id,
                now=self.clock(),
                name=name,
            )
        finally:
            self._inflight.discard(ref.key)

    async def resume_now(
        self,
        task: ReportRow | str,
        *,
        by: str,
        request_id: str | None = None,
        ask_in: str | None = None,
    ) -> Resumed | ResumeAsked:
        """Resume a task now; someone else's pause (by policy) becomes a resume request
        for an approver instead. ``ask_in`` is where the face will post that request:
        ``""`` says it has nowhere to (refused), ``None`` that none is needed (the CLI:
        approvers decide with ``maintbot approve``)."""
        ref, name, check_id = await self._target(task, by)
        connector = self.connector(ref.system)
        self._claim(ref, name)
        try:
            # Whose pause this is, read now rather than trusted from the report.
            was = await self._whose(connector, ref)
            policy = await self.policy()
            needs_approval = policy.resume_others_needs_approval
            if was is not None and was.others and needs_approval:
                return self._ask_to_resume(ref, name, was, by, policy, request_id, check_id, ask_in)
            label = f"{name} ({ref.system})"
            result = await resume_task(
                self.store,
                connector,
                ref,
                by=by,
                reason=pause_now_reason("Resumed", by, check_id),
                request_id=request_id,
                now=self.clock(),
                name=name,
                guard=self._resume_guard(was, label, needs_approval=needs_approval),
                detail=pause_detail(was) if was is not None and was.others else None,
            )
            return Resumed(result, was)
        finally:
            self._inflight.discard(ref.key)

    async def _whose(self, connector: Connector, ref: TaskRef) -> PauseNote | None:
        """Whose pause ``ref`` carries now; ``None`` when it is not paused or cannot be read
        (then the resume itself reads it again and reports the failure)."""
        try:
            task = await connector.read_state(ref)
        except ConnectorError:
            return None
        return note_of_task(self.store, task) if task.paused else None

    def _resume_guard(
        self, was: PauseNote | None, label: str, *, needs_approval: bool
    ) -> Callable[[Task], str | None]:
        """Judge the pause again on the read the resume acts on: one that became someone
        else's since (or that could not be read before) is not lifted without its due."""

        def guard(task: Task) -> str | None:
            now = note_of_task(self.store, task)
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

    def _ask_to_resume(
        self,
        ref: TaskRef,
        name: str,
        was: PauseNote,
        by: str,
        policy: Policy,
        request_id: str | None,
        check_id: str | None,
        ask_in: str | None,
    ) -> ResumeAsked:
        if ask_in == "":
            raise MaintbotError(
                "Resuming someone else's pause needs an approver, and I don't know where to "
                "ask; set MAINTBOT_APPROVAL_CHANNEL."
            )
        if not policy.approvers and not policy.any_second_person:
            # A request nobody may approve would only block the task until it expires.
            raise MaintbotError(
                "Resuming someone else's pause needs an approver, and none is configured: set "
                "MAINTBOT_APPROVERS, or ask the person who paused it to resume it."
            )
        request, new = request_resume(
            self.store,
            ref,
            name=name,
            note=was,
            by=by,
            now=self.clock(),
            request_id=request_id,
            check_id=check_id,
        )
        return ResumeAsked(request, new, was)

    def resume_request_posted(self, request_id: str, channel: str, ts: str) -> None:
        """Where the face showed a resume request (its decision updates that message)."""
        self.store.transition_resume_request(
            request_id,
            ResumeRequestState.PENDING,
            ResumeRequestState.PENDING,
            channel=channel,
            message_ts=ts,
        )

    def withdraw_resume_request(self, request_id: str, *, error: str) -> None:
        """Nobody could see or decide it: withdraw it rather than leave it blocking."""
        abandon_resume_request(self.store, request_id, now=self.clock(), error=error)

    # -- plan ---------------------------------------------------------------------------
    async def resolve_tasks(
        self, spec: str | None, window: Window
    ) -> tuple[list[TaskChoice], list[str]]:
        """``all``, ``SYSTEM:ID,...``, or (``None``) the tasks colliding with ``window``;
        with warnings for systems that could not be checked."""
        chosen, warnings, _ = await self._resolve(spec, window)
        return chosen, warnings

    async def _resolve(
        self, spec: str | None, window: Window
    ) -> tuple[list[TaskChoice], list[str], dict[str, list[PredictedStart]]]:
        """:meth:`resolve_tasks`, with the run times its check predicted (none when the
        tasks are named: no check is run for them)."""
        if spec is None:
            report = await self._joined_check(window)
            return (*colliding(report), predicted_starts(report.conflicts))
        chosen, warnings = await self._named_tasks(spec)
        return chosen, warnings, {}

    async def _named_tasks(self, spec: str) -> tuple[list[TaskChoice], list[str]]:
        if spec.strip().lower() == "all":
            return await every_active(self.schedulers), []
        return [(t.ref, t.name) for t in await named(spec, self.schedulers)], []

    async def candidates(
        self, window: Window, scope: Scope, *, conflicts_only: bool = False
    ) -> Candidates:
        """The tasks ``scope`` matches on the systems in it, each saying whether it
        conflicts with ``window`` (see :mod:`bot.service.scope`). Reads only: a spec that
        names nothing there is, or a scope matching no task, is a :class:`ScopeError`."""
        found, _ = await self._candidates(window, scope, conflicts_only=conflicts_only)
        return found

    async def _candidates(
        self, window: Window, scope: Scope, *, conflicts_only: bool = False
    ) -> tuple[Candidates, ConflictReport]:
        refusal = window_refusal(window, self.clock())
        if refusal is not None:
            raise refusal
        found, report = await gather(
            window,
            scope,
            self.schedulers,
            self.clock,
            conflicts_only=conflicts_only,
            metrics=self.metrics,
            history=self.store,
            lengths=self.store,
        )
        self._count(report)
        return found, report

    async def _scoped(
        self, window: Window, scope: Scope, tasks: str | None
    ) -> tuple[list[TaskChoice], list[str], dict[str, list[PredictedStart]]]:
        """The tasks a plan with ``scope`` pauses: its matching conflicting tasks and the
        included ones, or (``tasks="all"``) every matching active task; once each."""
        every = tasks is not None and tasks.strip().lower() == "all"
        if tasks is not None and not every:
            raise ScopeError(
                "--tasks SYSTEM:ID names the tasks itself and cannot be combined with a "
                "scope; add them to the scope with --include SYSTEM:ID instead"
            )
        found, report = await self._candidates(window, scope, conflicts_only=not every)
        planned = found.planned(every_active=every)
        if not planned:
            what = "active task" if every else "active task with a run in this window"
            raise ScopeError(
                f"the scope matches {len(found.tasks)} task(s) but no {what}, so there is "
                "nothing to pause" + ("" if every else "; plan them anyway with --tasks all")
            )
        chosen = [(c.ref, c.name) for c in planned]
        return chosen, list(found.warnings), predicted_starts(report.conflicts)

    async def plan(
        self,
        text: str,
        *,
        by: str,
        tz: str | None = None,
        tasks: str | None = None,
        approved_by: str | None = None,
        drain_lead: timedelta = timedelta(0),
        scope: Scope | None = None,
        title: str | None = None,
        reason: str | None = None,
        overlap_ok: bool = False,
    ) -> PlanResult:
        """Record a window and the tasks to pause in it; approved at once by a second name.
        Everything is checked before anything is written: a refused approval, an unknown
        task, a past window or (without ``overlap_ok``) an overlap with another open window
        (:class:`OverlapError`, audited) leaves the store as it was. With a ``scope`` the
        tasks are the scope's (:meth:`_scoped`), and a scope, window or task list that is
        refused is audited as a refused ``plan``."""
        by = by.strip()
        if not by:
            raise LifecycleError("--requested-by needs a name, e.g. --requested-by alice")
        try:
            window = self.parse(text, tz)
            policy = await self.policy()
            if approved_by is not None:
                # Checked before anything is looked up or written: a refused approval
                # records nothing (no window was ever planned to refuse).
                policy.check(approved_by.strip(), by)
            if scope is None:
                chosen, warnings, predicted = await self._resolve(tasks, window)
            else:
                chosen, warnings, predicted = await self._scoped(window, scope, tasks)
        except (ScopeError, LifecycleError, WindowError) as exc:
            if scope is not None:
                self.store.audit(
                    by,
                    "plan",
                    "refused",
                    error=str(exc),
                    detail={"text": text, "scope": scope.to_json(), "title": title},
                )
            raise
        now = self.clock()
        # One transaction: a window is never left planned when its approval was refused,
        # and no other window is planned between the overlap check and this one.
        record: WindowRecord | None = None
        with self.store.transaction():
            overlaps = self.overlaps(window)
            if overlap_ok or not overlaps:
                record = plan_window(
                    self.store,
                    window,
                    chosen,
                    requested_by=by,
                    now=now,
                    drain_lead=drain_lead,
                    title=title,
                    reason=reason,
                    predicted=predicted,
                )
                if approved_by is not None:
                    record = approve_now(
                        self.store,
                        record.id,
                        requested_by=by,
                        approved_by=approved_by.strip(),
                        policy=policy,
                        now=now,
                    )
        if record is None:
            raise self._overlap_refusal(window, overlaps, by, "plan it again with --overlap-ok")
        return PlanResult(
            self._view(record),
            parsed=window,
            warnings=tuple(warnings),
            overlaps=tuple(overlaps),
        )

    def overlaps(self, window: Window, *, ignore: str | None = None) -> list[WindowRecord]:
        """The planned, approved and active windows that share time with ``window``,
        soonest first; ``ignore`` leaves out one window (the one being edited)."""
        return overlapping(self.store, window, ignore=ignore)

    def _overlap_refusal(
        self, window: Window, overlaps: Sequence[WindowRecord], by: str, how: str
    ) -> OverlapError:
        """The refusal of a plan that overlaps other windows, audited (outside the
        transaction that found the overlap, which wrote nothing)."""
        refusal = overlap_refusal(window, overlaps, requested_by=by, how=how)
        self.store.audit(
            by,
            "plan",
            "refused",
            error=str(refusal),
            detail={
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "tz": window.tz,
                "overlaps": [o.id for o in refusal.overlaps],
            },
        )
        return refusal

    def plan_from_report(
        self, check_id: object, *, by: str, channel: str, overlap_ok: bool = False
    ) -> PlanResult:
        """The report's active tasks as a planned window with an approval request; once
        per report, however many times (or however fast) it is asked. A window that
        overlaps another open one is refused (:class:`OverlapError`, audited) unless
        ``overlap_ok``; then nothing is recorded and the report can be planned again."""
        check = self.report(check_id)
        if check.user and check.user != by:
            raise MaintbotError(
                "That report belongs to someone else; run `/maintenance check` yourself to act "
                "on its tasks."
            )
        claim = f"plan:{check.id}"
        if not self.store.claim_kv(claim, _PLAN_PENDING):
            existing = self.store.get_kv(claim)
            found = (
                self.store.find_window(existing)
                if existing is not None and existing != _PLAN_PENDING
                else None
            )
            if found is None:
                raise MaintbotError("Approval for this report was already requested.")
            return PlanResult(self._view(found), already=True)
        try:
            record, approval, overlaps = self._plan_report(check, by, channel, overlap_ok)
        except BaseException:
            self.store.release_kv(claim, _PLAN_PENDING)  # nothing recorded: ask again
            raise
        self.store.set_kv(claim, record.id)
        return PlanResult(self._view(record), approval, overlaps=tuple(overlaps))

    def _plan_report(
        self, check: StoredCheck, by: str, channel: str, overlap_ok: bool
    ) -> tuple[WindowRecord, ApprovalRecord, list[WindowRecord]]:
        tasks: dict[str, TaskChoice] = {}
        for conflict in check.active:
            tasks.setdefault(conflict.ref.key, (conflict.ref, conflict.task_name))
        if not tasks:
            raise MaintbotError("Nothing in this report is active, so there is nothing to plan.")
        return self._plan_and_ask(
            check.window,
            list(tasks.values()),
            by,
            channel,
            overlap_ok=overlap_ok,
            how="click Plan anyway (or plan it with --overlap-ok)",
            predicted=predicted_starts(check.active),
        )

    def _plan_and_ask(
        self,
        window: Window,
        tasks: Sequence[TaskChoice],
        by: str,
        channel: str,
        *,
        title: str | None = None,
        reason: str | None = None,
        overlap_ok: bool = False,
        how: str,
        predicted: Mapping[str, Sequence[PredictedStart]] | None = None,
    ) -> tuple[WindowRecord, ApprovalRecord, list[WindowRecord]]:
        """Record the window and its approval request; nothing stays planned if the
        request cannot be recorded, nor when it overlaps another open window and
        ``overlap_ok`` is not given (refused and audited; ``how`` says how to go ahead)."""
        if not channel:
            raise MaintbotError(
                "I don't know where to post the approval request; set MAINTBOT_APPROVAL_CHANNEL."
            )
        planned: WindowRecord | None = None
        with self.store.transaction():
            overlaps = self.overlaps(window)
            if overlap_ok or not overlaps:
                planned = plan_window(
                    self.store,
                    window,
                    tasks,
                    requested_by=by,
                    now=self.clock(),
                    channel=channel,
                    title=title,
                    reason=reason,
                    predicted=predicted,
                )
        if planned is None:
            raise self._overlap_refusal(window, overlaps, by, how)
        record = planned
        try:
            approval = request_approval(
                self.store, record.id, requested_by=by, now=self.clock(), channel=channel
            )
        except BaseException:
            cancel_window(self.store, record.id, by=ACTOR, now=self.clock())
            raise
        return record, approval, overlaps

    # -- the plan dialog ----------------------------------------------------------------
    async def draft(
        self,
        text: str,
        *,
        by: str,
        tz: str | None = None,
        channel: str = "",
        check_id: str | None = None,
    ) -> Draft:
        """Start planning in a dialog: every task of every scheduler, each marked with its
        collision with the window (a report's, when opened from one). Nothing is planned;
        the draft is stored for the dialog's next request."""
        check = self.report(check_id) if check_id is not None else None
        if check is not None:
            text, tz = check.window.text, check.window.tz
        draft = Draft(
            id=new_draft_id(),
            by=by,
            tz=tz or self.settings.maintbot_tz,
            text=text,
            channel=channel,
            check_id=check.id if check is not None else None,
            systems=tuple(s.name for s in self.schedulers),
        )
        draft = await self._fill_draft(draft, check.report if check is not None else None)
        save_draft(self.store, draft)
        return draft

    async def may_edit(self, window_id: object, *, by: str) -> WindowRecord:
        """The window, if ``by`` may edit it now; else the reason, audited and raised."""
        record = self._window(window_id)
        refusal = editable(record, by, await self.policy(), self.clock())
        if refusal is not None:
            self.store.audit(by, "edit", "refused", window_id=record.id, error=refusal)
            raise LifecycleError(refusal)
        return record

    async def draft_edit(self, window_id: object, *, by: str, channel: str = "") -> Draft:
        """Start editing a window in the dialog: its text and zone, every task, its own
        tasks ticked. Who may edit, and whether it still can be, is checked here (refused
        and audited) and again when the edit is submitted."""
        record = await self.may_edit(window_id, by=by)
        tasks = self.store.window_tasks(record.id)
        draft = Draft(
            id=new_draft_id(),
            by=by,
            tz=record.tz,
            text=record.text,
            channel=channel or record.channel or "",
            systems=tuple(s.name for s in self.schedulers),
            editing=record.id,
            planned=tuple(TaskRef(system=t.system, kind=t.kind, id=t.task_id).key for t in tasks),
        )
        draft = await self._fill_draft(draft, None)
        # A task the window pauses that its scheduler did not list is still shown.
        listed = {t.key for t in draft.tasks}
        missing = tuple(
            DraftTask(system=t.system, kind=t.kind.value, id=t.task_id, name=t.task_name)
            for t in tasks
            if TaskRef(system=t.system, kind=t.kind, id=t.task_id).key not in listed
        )
        draft = dataclasses.replace(draft, tasks=draft.tasks + missing)
        save_draft(self.store, draft)
        return draft

    async def edit_draft(
        self,
        draft_id: object,
        *,
        by: str,
        ticked: Sequence[str],
        shown: Sequence[str],
        overlap_ok: bool = False,
    ) -> EditResult:
        """Apply what the edit dialog submitted: the window as the draft reads it, the
        ticked tasks added, the window's own tasks that were shown and unticked removed
        (tasks the filter hid stay as they are)."""
        draft = load_draft(self.store, draft_id, by=by)
        if draft.editing is None:
            raise DraftError("This dialog plans a new window; it edits none.")
        if draft.window() is None:
            raise WindowError(draft.error or "The window could not be read.")
        record = self._window(draft.editing)
        planned, visible = set(draft.planned), set(shown)
        for key in ticked:
            if draft.task(key) is None:
                raise DraftError("A ticked task is not one this dialog offered; open it again.")
        add = sorted(set(ticked) - planned)
        remove = sorted((planned & visible) - set(ticked))
        same_time = (draft.start, draft.end) == (record.start.isoformat(), record.end.isoformat())
        return await self.edit(
            record.id,
            by=by,
            text=None if same_time else draft.text,
            tz=None if same_time else draft.tz,
            add=add,
            remove=remove,
            overlap_ok=overlap_ok,
        )

    async def redraft(self, draft_id: object, *, by: str, text: str) -> Draft:
        """The dialog's window text changed: read it again and mark the collisions anew."""
        draft = load_draft(self.store, draft_id, by=by)
        draft = dataclasses.replace(
            draft,
            text=text,
            start=None,
            end=None,
            error=None,
            revision=draft.revision + 1,
            when=draft.when + 1,
        )
        draft = await self._fill_draft(draft, None)
        save_draft(self.store, draft)
        return draft

    def load_draft(self, draft_id: object, *, by: str) -> Draft:
        return load_draft(self.store, draft_id, by=by)

    def touch_draft(self, draft: Draft) -> Draft:
        """A new revision of the same draft (the dialog redrawn for a changed filter)."""
        touched = dataclasses.replace(draft, revision=draft.revision + 1)
        save_draft(self.store, touched)
        return touched

    async def _fill_draft(self, draft: Draft, report: ConflictReport | None) -> Draft:
        window: Window | None = None
        error: str | None = None
        if report is not None:
            window = report.window
        elif draft.text.strip():
            try:
                window = self.parse(draft.text, draft.tz)
            except WindowError as exc:
                error = str(exc)
        else:
            error = "Type the window, e.g. Saturday 2-4am."
        listing = asyncio.ensure_future(self._list_all())
        if report is None and window is not None:
            report = await self._joined_check(window)
        listed, unanswered = await listing
        if report is not None:
            unanswered.update(
                {s.system: s.error or "no answer" for s in report.systems if not s.ok}
            )
        return dataclasses.replace(
            draft,
            start=window.start.isoformat() if window is not None else None,
            end=window.end.isoformat() if window is not None else None,
            error=error,
            unanswered=tuple(sorted(unanswered.items())),
            tasks=draft_tasks(listed, report),
        )

    async def _list_all(self) -> tuple[list[Task], dict[str, str]]:
        """Every scheduler's tasks, each within its deadline; a failure is that system's."""
        answers = await asyncio.gather(*(list_system(s) for s in self.schedulers))
        listed = [task for answer in answers for task in answer.tasks]
        unanswered = {
            s.name: answer.error
            for s, answer in zip(self.schedulers, answers, strict=True)
            if answer.error is not None
        }
        return listed, unanswered

    def plan_draft(
        self,
        draft_id: object,
        *,
        by: str,
        keys: Sequence[str],
        title: str | None = None,
        reason: str | None = None,
        overlap_ok: bool = False,
    ) -> PlanResult:
        """Plan what the dialog submitted: the draft's window and exactly the ticked tasks,
        with an approval request. Once per draft, however often it is submitted; a refusal
        saves nothing and is audited."""
        draft = load_draft(self.store, draft_id, by=by)
        claim = f"plan:{draft.id}"
        if not self.store.claim_kv(claim, _PLAN_PENDING):
            existing = self.store.get_kv(claim)
            found = self.store.find_window(existing) if existing else None
            if found is None:
                raise MaintbotError("This dialog is already being planned.")
            return PlanResult(self._view(found), already=True)
        try:
            window = draft.window()
            if window is None:
                raise WindowError(draft.error or "The window could not be read.")
            if not keys:
                raise LifecycleError(
                    "Tick at least one task to pause, or widen the filter to see more."
                )
            chosen = refs_of(draft, keys)
            record, approval, overlaps = self._plan_and_ask(
                window,
                chosen,
                by,
                draft.channel,
                title=title,
                reason=reason,
                overlap_ok=overlap_ok,
                how="tick “Plan it even though it overlaps” and submit again",
                predicted=self._draft_predictions(draft, window, chosen),
            )
        except MaintbotError as exc:
            self.store.release_kv(claim, _PLAN_PENDING)
            if not isinstance(exc, OverlapError):  # that refusal is audited where it is found
                self.store.audit(by, "plan", "refused", error=str(exc), detail={"draft": draft.id})
            raise
        except BaseException:
            self.store.release_kv(claim, _PLAN_PENDING)
            raise
        self.store.set_kv(claim, record.id)
        return PlanResult(self._view(record), approval, overlaps=tuple(overlaps))

    def _draft_predictions(
        self, draft: Draft, window: Window, chosen: Sequence[TaskChoice]
    ) -> dict[str, list[PredictedStart]]:
        """The run times the draft's stored check predicted for the ticked tasks, when the
        window planned is the one that check was for. A window edited in the dialog was
        re-checked without storing the report, and a prediction made for other instants
        says nothing about these: then none is kept, as when the report is gone."""
        if draft.check_id is None:
            return {}
        try:
            check = load_check(self.store, draft.check_id)
        except MaintbotError:
            return {}
        checked = check.report.window
        if (checked.start, checked.end) != (window.start, window.end):
            return {}
        ticked = {ref.key for ref, _ in chosen}
        return {
            key: starts
            for key, starts in predicted_starts(check.report.conflicts).items()
            if key in ticked
        }

    def approval_posted(self, approval_id: str, window_id: str, channel: str, ts: str) -> None:
        """Where the approval request was posted; the window clock's alerts go in its thread."""
        self.store.set_approval_message(approval_id, channel, ts)
        current = self.store.get_window(window_id)
        fields = {"channel": channel, "thread_ts": ts}
        if channel == self.settings.maintbot_alert_channel and not current.alert_ts:
            # Posted in the alert channel itself: the request is the window's thread there.
            fields |= {"alert_channel": channel, "alert_ts": ts}
        self.store.update_window_fields(window_id, current.version, **fields)

    def withdraw_window(self, window_id: str) -> None:
        """Nobody could ever see or decide its approval request: drop the window."""
        cancel_window(self.store, window_id, by=ACTOR, now=self.clock())

    # -- decisions ----------------------------------------------------------------------
    async def decide(
        self,
        request: str,
        *,
        by: str,
        approve: bool,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> Decision | ResumeDecision:
        """Approve or reject, once: an approval request (``a_…``, or its window ``w_…``) or
        a request to resume someone else's pause (``r_…``). A refusal is audited and raised."""
        policy = await self.policy()
        if request.startswith("r_"):
            return await decide_resume(
                self.store,
                self.connector,
                request,
                user=by,
                approve=approve,
                policy=policy,
                now=self.clock(),
                slack_request=request_id,
                reason=reason,
            )
        approval_id = self._approval_of(request, by=by, approve=approve, policy=policy)
        decision = decide(
            self.store,
            approval_id,
            user=by,
            approve=approve,
            policy=policy,
            now=self.clock(),
            request_id=request_id,
            reason=reason,
        )
        if decision.acted:
            window = decision.window
            asker = window.requested_by
            text: str | Alert
            if approve:
                count = len(self.store.window_tasks(window.id))
                text = Alert(
                    (
                        f"{by} approved {asker}'s window: {count} task(s) are paused from ",
                        window.start,
                        " to ",
                        window.end,
                        ".",
                    )
                )
            elif by == asker:
                text = f"{by} withdrew their request for this window; nothing will be paused."
            else:
                why = f": {reason}" if reason else " (no reason given)"
                text = f"{by} rejected {asker}'s window{why}. Nothing will be paused."
            kind = "approved" if approve else "rejected"
            await self._tell(window, kind, text, people=[by, asker])
        return decision

    def _approval_of(self, request: str, *, by: str, approve: bool, policy: Policy) -> str:
        """The approval request to decide: the one named, or the window's pending one. A
        window planned without one (``maintbot plan`` with no ``--approved-by``) gets one
        now, once the decider is known to be allowed (a refusal leaves nothing waiting). A
        series (``s_…``) is decided through its first occurrence's window."""
        if request.startswith("s_"):
            request = self.series.first_window(request).id
        if not request.startswith("w_"):
            return request
        window = self._window(request)
        pending = [
            a for a in self.store.approvals_for(window.id) if a.state is ApprovalState.PENDING
        ]
        if pending:
            return pending[-1].id
        if window.state is not WindowState.PLANNED:
            raise LifecycleError(
                f"Window {window.id} is {window.state.value}; only a planned window can be "
                "approved or rejected."
            )
        if approve or by != window.requested_by:
            try:
                policy.check(by, window.requested_by)
            except ApprovalError as exc:
                self.store.audit(
                    by,
                    "approve" if approve else "reject",
                    "refused",
                    window_id=window.id,
                    reason=str(exc),
                )
                raise
        return request_approval(
            self.store, window.id, requested_by=window.requested_by, now=self.clock()
        ).id

    # -- managing a window --------------------------------------------------------------
    def _window(self, window_id: object) -> WindowRecord:
        found = self.store.find_window(window_id) if isinstance(window_id, str) else None
        if found is None:
            raise LifecycleError(
                f"There is no maintenance window with id {window_id!r}; `maintbot windows` "
                "(or `/maintenance list`) lists them."
            )
        return found

    async def _allowed(
        self, record: WindowRecord, by: str, action: str, check: Callable[[Policy], object]
    ) -> None:
        """Run a policy check; a refusal is audited (as ``action``) and raised."""
        try:
            check(await self.policy())
        except ApprovalError as exc:
            self.store.audit(by, action, "refused", window_id=record.id, error=str(exc))
            raise

    async def _manage(self, window_id: object, by: str, action: ManageAction) -> WindowRecord:
        record = self._window(window_id)
        await self._allowed(
            record, by, action, lambda p: p.check_manage(by, record.requested_by, action)
        )
        return record

    def _refused(self, record: WindowRecord, by: str, action: str, exc: LifecycleError) -> None:
        """Audit a change the window's state or limits refused (the policy's own refusals
        are audited by :meth:`_allowed`)."""
        self.store.audit(by, action, "refused", window_id=record.id, error=str(exc))

    async def cancel(self, window_id: object, *, by: str) -> WindowView:
        record = await self._manage(window_id, by, "cancel")
        try:
            cancelled = cancel_window(self.store, record.id, by=by, now=self.clock())
        except LifecycleError as exc:
            self._refused(record, by, "cancel", exc)
            raise
        await self._tell(cancelled, "cancelled", f"{by} cancelled the window.", people=[by])
        return self._view(cancelled)

    async def end(self, window_id: object, *, by: str) -> WindowView:
        record = await self._manage(window_id, by, "end")
        try:
            ended = end_window_now(self.store, record.id, by=by, now=self.clock())
        except LifecycleError as exc:
            self._refused(record, by, "end", exc)
            raise
        await self._tell(
            ended,
            "ended_early",
            f"{by} ended the window early, {length(record.end - self.clock())} before its "
            "planned end; its tasks are resumed now.",
            people=[by],
        )
        return self._view(ended)

    async def extend(
        self, window_id: object, *, by: str, by_time: timedelta = timedelta(minutes=30)
    ) -> WindowView:
        """Move the end ``by_time`` later. The requester may, up to the policy's limit past
        the end an approver agreed to; beyond it, or for anyone else, an approver has to.
        An approver's extension becomes the new agreed end."""
        record = self._window(window_id)
        agreed = record.approved_end or record.end
        past = record.end + by_time - agreed
        as_approver = False

        def check(policy: Policy) -> None:
            nonlocal as_approver
            as_approver = policy.check_manage(
                by, record.requested_by, "extend", past_approved_end=past
            )

        await self._allowed(record, by, "extend", check)
        try:
            extended = extend_window(
                self.store,
                record.id,
                by=by,
                delta=by_time,
                now=self.clock(),
                approved=as_approver,
            )
        except LifecycleError as exc:
            self._refused(record, by, "extend", exc)
            raise
        await self._tell(
            extended,
            "extended",
            Alert(
                (
                    f"{by} extended the window by {length(by_time)}; it now ends ",
                    extended.end,
                    ".",
                )
            ),
            people=[by],
        )
        return self._view(extended)

    async def edit(
        self,
        window_id: object,
        *,
        by: str,
        text: str | None = None,
        tz: str | None = None,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        overlap_ok: bool = False,
    ) -> EditResult:
        """Change a window that has not started: a new window ``text`` (read in ``tz``,
        by default the window's own zone), tasks to ``add`` and to ``remove`` (``SYSTEM:ID``
        items). The requester or an approver may. A change that asks for more than was
        approved (earlier, later, more tasks) needs an approver again; one that only
        narrows keeps the approval. Checked whole before anything is written; refusals are
        audited and raised (see :mod:`bot.service.editing`)."""
        result = await edit_window(
            self,
            window_id,
            by=by,
            text=text,
            tz=tz,
            add=add,
            remove=remove,
            overlap_ok=overlap_ok,
        )
        await self._tell(
            result.record,
            "edited",
            Alert((f"{by.strip()} edited the window: ", *result.said(), ".")),
            people=[by.strip()],
        )
        return result

    async def _tell(
        self, record: WindowRecord, kind: str, text: str | Alert, *, people: Sequence[str] = ()
    ) -> None:
        """Tell the window's people about a change someone made. The change is done and
        audited already, so a delivery failure is logged, never raised: the person who
        acted still gets their answer."""
        try:
            await self.notifier.notify(record, kind, text, people=people)
        except Exception:  # a notifier's own failure must not undo or hide the change
            log.exception(
                "could not tell window %s's people about %s",
                record.id,
                kind,
                extra={"window_id": record.id},
            )

    async def _requester_or_approver(self, record: WindowRecord, by: str, action: str) -> None:
        what = action.replace("_", " ")

        def check(policy: Policy) -> None:
            if by != record.requested_by and by not in policy.approvers:
                raise ApprovalError(
                    f"{by} may not {what} for this window: only the requester "
                    f"({record.requested_by}) or an approver may."
                )

        await self._allowed(record, by, action, check)

    async def retry(self, window_id: object, *, by: str) -> WindowView:
        """Retry now what failed in a window. Any window clock on this database acts on it
        at its next tick; this process's clock is woken at once."""
        record = self._window(window_id)
        await self._requester_or_approver(record, by, "retry")
        self.window_clock.retry(record.id, by=by)
        return self._view(self.store.get_window(record.id))

    async def take_over(self, window_id: object, *, by: str) -> TakeOver:
        """A person takes over every task of the window whose resume keeps failing."""
        record = self._window(window_id)
        await self._requester_or_approver(record, by, "take_over")
        stuck = tuple(t for t in self.store.window_tasks(record.id) if t.state in _STUCK)
        for task in stuck:
            self.window_clock.take_over(task.id, by=by)
        return TakeOver(self.store.get_window(record.id), stuck)

    # -- reading ------------------------------------------------------------------------
    def _view(self, record: WindowRecord) -> WindowView:
        return WindowView(record, tuple(self.store.window_tasks(record.id)))

    def windows(self, *, recent: int = 0) -> list[WindowView]:
        """Planned, approved and active windows, soonest first, then ``recent`` closed ones."""
        shown = self.store.list_windows(OPEN_WINDOW_STATES)
        if recent:
            closed = [
                w
                for w in self.store.list_windows(None, limit=recent + len(shown))
                if w.state not in OPEN_WINDOW_STATES
            ]
            shown += closed[:recent]
        return [self._view(w) for w in shown]

    def status(self) -> HeldPaused:
        """What the bot holds paused: for windows, and by "pause now"."""
        return held_paused(self.store)

    def audit(
        self,
        limit: int = 50,
        *,
        window: str | None = None,
        by: str | None = None,
        system: str | None = None,
        since: str | None = None,
        until: str | None = None,
        tz: str = "UTC",
    ) -> AuditTrail:
        """The audit trail, newest first, filtered (see :mod:`bot.service.audit`): its
        rows as stored, and folded one line per call with task names. ``since`` and
        ``until`` are texts read in ``tz`` against this bot's clock ("2h" is two hours
        before now). A filter naming nothing there is raises :class:`FilterError`."""
        now = self.clock()
        filters = AuditFilters(
            window,
            by,
            system,
            parse_moment(since, tz, now, option="since") if since else None,
            parse_moment(until, tz, now, option="until") if until else None,
        )
        return read_trail(self.store, [s.name for s in self.schedulers], limit, filters)

    # -- series (bot.service.series does the work; these are the faces' one call each) ------
    async def plan_series(
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
        return await self.series.plan(
            series,
            by=by,
            tasks=tasks,
            scope=scope,
            approved_by=approved_by,
            plan_ahead=plan_ahead,
            channel=channel,
            title=title,
            ask=ask,
        )

    def series_list(self, *, recent: int = 0) -> list[SeriesView]:
        return self.series.list(recent=recent)

    def series_view(self, series_id: object) -> SeriesView:
        return self.series.view(str(series_id))

    async def _series_allowed(self, series_id: object, by: str, action: ManageAction) -> None:
        """The series' requester or an approver, as for its windows; a refusal is audited."""
        record = self.series.view(str(series_id)).record
        try:
            (await self.policy()).check_manage(by, record.requested_by, action)
        except ApprovalError as exc:
            self.store.audit(
                by, f"{action}_series", "refused", error=str(exc), detail={"series": record.id}
            )
            raise

    async def skip_occurrence(self, series_id: object, day: date, *, by: str) -> SeriesRecord:
        await self._series_allowed(series_id, by, "cancel")
        return self.series.skip(str(series_id), day, by=by)

    async def move_occurrence(
        self, series_id: object, day: date, text: str, *, by: str, tz: str | None = None
    ) -> WindowRecord:
        await self._series_allowed(series_id, by, "cancel")
        record = self.series.view(str(series_id)).record
        window = self.parse(text, tz or record.tz)
        return await self.series.move(str(series_id), day, window, by=by)

    async def rescope_series(
        self,
        series_id: object,
        *,
        by: str,
        tasks: str | None = None,
        scope: Scope | None = None,
    ) -> Rescoped:
        await self._series_allowed(series_id, by, "cancel")
        return await self.series.rescope(str(series_id), by=by, tasks=tasks, scope=scope)

    async def end_series(self, series_id: object, *, by: str) -> SeriesRecord:
        await self._series_allowed(series_id, by, "end")
        return self.series.end(str(series_id), by=by)

    async def cancel_series(self, series_id: object, *, by: str) -> SeriesRecord:
        await self._series_allowed(series_id, by, "cancel")
        return self.series.cancel(str(series_id), by=by)

    # -- the calendar feed ----------------------------------------------------------------
    def calendar(self) -> bytes:
        """The calendar feed (RFC 5545) of the windows and series as they are now."""
        return calendar_feed(self.store, self.clock(), self.calendar_series())

    def calendar_series(self) -> list[SeriesEvent]:
        """The series the feed shows, as :class:`bot.calendar.SeriesEvent` (see
        :func:`bot.service.series.calendar_events`)."""
        return calendar_events(self.store, self.clock())

    def served_calendar(self, token: str) -> bytes | None:
        """The feed for a request to its address, or ``None`` when ``token`` is not the
        installation's (nothing is written either way)."""
        return self.calendar() if token_matches(self.store, token) else None

    def calendar_url(self) -> str:
        """The feed's address (``MAINTBOT_PUBLIC_URL`` + its secret path); the secret is
        made on first need. ConfigError when MAINTBOT_PUBLIC_URL is not set."""
        base = public_base(self.settings.maintbot_public_url)
        return base + feed_path(feed_token(self.store))

    def rotate_calendar_url(self, *, by: str) -> str | None:
        """Replace the feed's secret, so every old subscription stops working; the new
        address, or ``None`` when MAINTBOT_PUBLIC_URL is not set to make one. Audited
        without the secret."""
        token = rotate_token(self.store)
        self.store.audit(by, "calendar_rotate", "ok")
        base = self.settings.maintbot_public_url
        return public_base(base) + feed_path(token) if base else None

    # -- the window clock ---------------------------------------------------------------
    async def tick(self) -> TickReport:
        """One turn of the clock by hand (tests, ``worker --once``): plan the occurrences
        that are due, then tick."""
        await self.series.plan_due()
        return await self.window_clock.tick()

    async def run_clock(self, stop: asyncio.Event, interval: float = 5.0) -> None:
        lease = timedelta(seconds=self.settings.maintbot_clock_lease_seconds)
        await self.window_clock.run(stop, interval, lead_ttl=lease)

    def start_clock(self, stop: asyncio.Event, interval: float = 5.0) -> asyncio.Task[Any]:
        """Run the window clock on this loop until ``stop``; health reports on it."""
        self.clock_interval = interval
        self.clock_task = asyncio.create_task(
            self.run_clock(stop, interval), name="maintbot-window-clock"
        )
        return self.clock_task

    def health(self) -> tuple[bool, dict[str, str]]:
        """The store answers, and the window clock (if any) has not died."""
        detail: dict[str, str] = {}
        ok = True
        try:
            self.store.schema_version()
            detail["store"] = "ok"
        except Exception as exc:  # any failure means unhealthy; say which kind
            ok = False
            detail["store"] = f"failed: {type(exc).__name__}"
        task = self.clock_task
        if task is None:
            detail["clock"] = "not running in this process"
        elif task.done():
            ok = False
            error = None if task.cancelled() else task.exception()
            detail["clock"] = f"stopped: {type(error).__name__}" if error else "stopped"
        else:
            detail["clock"] = "running"
        return ok, detail

    # -- operations: what /metrics reads at scrape time and /readyz checks ------------------
    def window_counts(self) -> dict[str, int]:
        return self.store.window_counts()

    def clock_leader(self) -> bool:
        """This process's window clock runs and holds the lead among the replicas."""
        running = self.clock_task is not None and not self.clock_task.done()
        return running and self.window_clock.leading

    def heartbeat(self) -> Heartbeat | None:
        """When a window clock on this store last recorded a tick, and whose (``None``:
        never)."""
        return Heartbeat.decode(self.store.get_kv(HEARTBEAT_KEY))

    def heartbeat_age(self) -> float | None:
        beat = self.heartbeat()
        return None if beat is None else (self.clock() - beat.at).total_seconds()

    def heartbeat_limit(self) -> timedelta:
        """How old the heartbeat may be on the process running the clock: it is written
        at most every 30 s of ticking, and ticks come every ``clock_interval``."""
        return max(timedelta(seconds=90), timedelta(seconds=3 * self.clock_interval + 30))

    def readiness(self) -> dict[str, str]:
        """Each readiness check's verdict: ``"ok"`` or what is wrong (for ``/readyz``)."""
        checks: dict[str, str] = {}
        try:
            version = self.store.schema_version()
        except Exception as exc:  # any failure means not ready; say which kind
            checks["store"] = f"unreachable: {type(exc).__name__}"
            checks["migrations"] = "unknown: the store did not answer"
        else:
            checks["store"] = "ok"
            checks["migrations"] = (
                "ok"
                if version == SCHEMA_VERSION
                else f"schema version {version}, this maintbot runs {SCHEMA_VERSION}"
                + ("; upgrade maintbot" if version > SCHEMA_VERSION else "; restart to migrate")
            )
        checks["clock"] = self._clock_readiness(store_ok=checks["store"] == "ok")
        return checks

    def _leader_text(self, *, store_ok: bool) -> str:
        """Which replica's clock leads, and when a clock last ticked, for a standby."""
        if not store_ok:
            return "another replica's clock leads"
        try:
            holder, beat = self.store.leader(LEAD), self.heartbeat()
        except Exception:  # readiness reports; it never fails on a detail
            return "another replica's clock leads"
        text = f"{holder[0]} leads" if holder is not None else "no clock leads right now"
        if beat is not None:
            ago = round((self.clock() - beat.at).total_seconds())
            text += f"; last tick {ago} s ago by {beat.owner or 'an older maintbot'}"
        return text

    def _clock_readiness(self, *, store_ok: bool) -> str:
        task = self.clock_task
        if task is None:
            return "ok (not run by this process)"
        if task.done():
            return "stopped"
        if not self.window_clock.leading:
            return "ok (standby: " + self._leader_text(store_ok=store_ok) + ")"
        if not store_ok:
            return "unknown: the store did not answer"
        try:
            beat = self.heartbeat()
        except Exception as exc:
            return f"unknown: {type(exc).__name__}"
        if beat is None:
            return "no heartbeat yet"
        age = self.clock() - beat.at
        limit = self.heartbeat_limit()
        if age > limit:
            seconds, most = round(age.total_seconds()), round(limit.total_seconds())
            return f"heartbeat stale: last tick {seconds} s ago (limit {most} s)"
        return "ok"


@asynccontextmanager
async def open_maintbot(
    settings: Settings,
    *,
    need: Need,
    config_file: str | None = None,
    sandbox: bool = False,
    doing: str = "using",
    announce: Callable[[str], None] | None = None,
    clock: Clock = system_clock,
    notifier: Notifier | None = None,
    approvers: ApproverSource | None = None,
    command_line: bool = False,
) -> AsyncIterator[Maintbot]:
    """The bot, opened once from settings and config: schedulers as ``need`` says (see
    :mod:`bot.service.wiring`), the store, the policy and the window clock. The schedulers
    are chosen before the store is opened, so a configuration error writes nothing."""
    with scheduler_config(
        settings,
        need=need,
        config_file=config_file,
        sandbox=sandbox,
        doing=doing,
        announce=announce,
    ) as config:
        store = Store(settings.maintbot_db, busy_timeout=settings.maintbot_db_busy_timeout)
        try:
            bot = Maintbot.from_config(
                settings,
                store,
                config,
                clock,
                notifier=notifier or LogNotifier(),
                approvers=approvers,
                command_line=command_line,
            )
            try:
                yield bot
            finally:
                await bot.aclose()
        finally:
            store.close()
