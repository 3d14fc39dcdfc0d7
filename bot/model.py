"""The domain vocabulary: windows, tasks, runs, conflicts and reports, and the records the
store keeps of planned windows, their tasks, approvals, resume requests and the audit trail,
with their state enums (pydantic, immutable).

Every datetime here is aware; validators refuse naive ones so a wall-clock bug cannot slip
through a constructor. Instants are compared as instants (Python compares aware datetimes
with different ``tzinfo`` by UTC, but *same*-tzinfo ones by wall clock, so the model stores
UTC and converts only for display).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field

__all__ = [
    "OPEN_WINDOW_STATES",
    "ApprovalRecord",
    "ApprovalState",
    "AuditRow",
    "Conflict",
    "ConflictKind",
    "ConflictReport",
    "Instant",
    "PlannedTask",
    "PlannedTaskState",
    "PredictedStart",
    "ResumeRequestRecord",
    "ResumeRequestState",
    "Run",
    "RunningNow",
    "SystemResult",
    "Task",
    "TaskKind",
    "TaskRef",
    "Window",
    "WindowRecord",
    "WindowState",
]


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_as_utc)]
"""An aware datetime normalised to UTC."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Window(_Frozen):
    """A maintenance window: ``start`` inclusive, ``end`` exclusive, both UTC instants.

    ``tz`` is the zone the text was read in (IANA name, ``UTC`` or a fixed offset such as
    ``+05:30``); ``notes`` carry DST warnings and similar remarks for the echo; ``title`` is
    what the words around the window expression called it ("db failover"), if anything.
    """

    start: Instant
    end: Instant
    tz: str
    text: str = ""
    notes: tuple[str, ...] = ()
    title: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


class TaskKind(StrEnum):
    """What a vendor calls the thing that fires; decides which API pauses it."""

    TASK = "task"  # Talend task
    PLAN = "plan"  # Talend plan
    SCHEDULE = "schedule"  # Pyramid schedule
    ETL = "etl"  # BMC Helix CO ETL
    APP_TASK = "app_task"  # Huawei Workspace Application Streaming schedule-task (v1)
    DESKTOP_TASK = "desktop_task"  # Huawei Workspace desktop scheduled-task (v2)


class TaskRef(_Frozen):
    """Identifies one pausable thing on one configured scheduler instance."""

    system: str
    kind: TaskKind
    id: str

    @property
    def key(self) -> str:
        return f"{self.system}:{self.kind.value}:{self.id}"


class Task(_Frozen):
    """A schedulable unit and its current pause state as the vendor reports it.

    ``vendor_state`` keeps the vendor's own state word (e.g. BMC ``SERVICE_ON``) so a resume
    can restore exactly what was there before the pause.
    """

    system: str
    kind: TaskKind
    id: str
    name: str
    paused: bool
    paused_by: str | None = None
    pause_reason: str | None = None
    paused_at: Instant | None = None
    vendor_state: str | None = None
    # The vendor's own groupings of the task, as (kind, value) pairs in the vendor's words:
    # Talend ("workspace", "Finance") and ("environment", "prod"), Pyramid ("schedule type",
    # …), Huawei ("task type", …) and ("project", …). Empty where the API has none.
    groups: tuple[tuple[str, str], ...] = ()

    @property
    def ref(self) -> TaskRef:
        return TaskRef(system=self.system, kind=self.kind, id=self.id)


class Run(_Frozen):
    """A run a scheduler will start: at ``at``, or at a time the vendor does not expose.

    ``at is None`` means "time unknown": the task is active and may fire, and ``note``
    says why there is no time (e.g. "Pyramid's API exposes no next-run time").

    ``predicted``: ``at`` was inferred from run history (:mod:`bot.predict`), not given by
    the vendor; ``note`` then says from what. ``history``: past start instants the vendor
    reported for the task (trigger times too, where it reports skipped ones), for a
    prediction where the vendor gives no time.
    """

    task: TaskRef
    at: Instant | None
    expected_duration: timedelta | None = None
    note: str | None = None
    predicted: bool = False
    history: tuple[Instant, ...] = ()
    # The wall clock the vendor says the task's schedule follows (an IANA name), where it
    # says one (Pyramid's ``timeZoneId``); predictions from ``history`` use it instead of
    # the scheduler's configured ``timezone``.
    zone: str | None = None
    # For a predicted run, what the prediction rests on ("daily, from 14 runs").
    basis: str = ""


class RunningNow(_Frozen):
    """A run in progress at the time of the check."""

    task: TaskRef
    started_at: Instant | None = None
    expected_duration: timedelta | None = None
    execution_id: str | None = None


class ConflictKind(StrEnum):
    STARTS_IN_WINDOW = "starts_in_window"
    RUNNING_AT_START = "running_at_start"
    MAY_OVERLAP = "may_overlap"
    MAY_FIRE = "may_fire"


class Conflict(_Frozen):
    """One reason a task collides with the window."""

    system: str
    task_id: str
    task_kind: TaskKind
    task_name: str
    kind: ConflictKind
    at: Instant | None
    paused: bool
    detail: str = ""
    # Who paused the task, when and why, as the vendor reports it (when it does).
    paused_by: str | None = None
    pause_reason: str | None = None
    paused_at: Instant | None = None
    # The task's vendor groupings (see ``Task.groups``), for choosing a window's scope.
    groups: tuple[tuple[str, str], ...] = ()
    # How long the run usually takes (p90 of its history), where the vendor's history says:
    # what ``suggest`` needs to know how far a run reaches into a later window.
    expected_duration: timedelta | None = None
    # ``at`` was inferred from run history, not given by the vendor (design.md); the
    # detail says from what ("likely 02:30 (daily, from 14 runs)").
    predicted: bool = False
    # For a predicted conflict, what the prediction rests on ("daily, from 14 runs").
    basis: str = ""
    # How many of the task's runs start in the window (a starts-in-window conflict stands at
    # the first of them; the detail says "3 runs in the window" for people).
    runs_in_window: int = 1

    @property
    def ref(self) -> TaskRef:
        return TaskRef(system=self.system, kind=self.task_kind, id=self.task_id)


class SystemResult(_Frozen):
    """How one configured scheduler answered: ok, or an error message safe to show."""

    system: str
    vendor: str
    label: str
    ok: bool
    error: str | None = None
    task_count: int = 0
    # How far before the window runs were looked for (see bot/lookback.py); the note says
    # why when it is shorter than the configured look-back.
    lookback: timedelta | None = None
    lookback_note: str | None = None


class ConflictReport(_Frozen):
    """The answer to "what collides with this window", across every configured scheduler."""

    window: Window
    checked_at: Instant
    systems: tuple[SystemResult, ...]
    conflicts: tuple[Conflict, ...] = Field(default=())

    @property
    def active(self) -> tuple[Conflict, ...]:
        """Conflicts whose task is not paused: what the operator must act on."""
        return tuple(c for c in self.conflicts if not c.paused)

    @property
    def already_paused(self) -> tuple[Conflict, ...]:
        return tuple(c for c in self.conflicts if c.paused)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape of ``maintbot check --json`` (design.md)."""
        return {
            "window": {
                "start": self.window.start.isoformat(),
                "end": self.window.end.isoformat(),
                "tz": self.window.tz,
                "notes": list(self.window.notes),
                **({"title": self.window.title} if self.window.title else {}),
            },
            "systems": [
                {
                    "system": s.system,
                    "name": s.label,
                    "vendor": s.vendor,
                    "ok": s.ok,
                    "error": s.error,
                    "lookback_hours": (
                        round(s.lookback.total_seconds() / 3600, 2)
                        if s.lookback is not None
                        else None
                    ),
                    "lookback_note": s.lookback_note,
                }
                for s in self.systems
            ],
            "conflicts": [
                {
                    "system": c.system,
                    "task_id": c.task_id,
                    "task_kind": c.task_kind.value,
                    "task_name": c.task_name,
                    "kind": c.kind.value,
                    "at": c.at.isoformat() if c.at else None,
                    "predicted": c.predicted,
                    "paused": c.paused,
                    "detail": c.detail,
                    "paused_by": c.paused_by,
                    "paused_at": c.paused_at.isoformat() if c.paused_at else None,
                    "pause_reason": c.pause_reason,
                }
                for c in self.conflicts
            ],
        }


# -- what the store keeps: windows planned, their tasks, approvals, audit rows ---------------
class WindowState(StrEnum):
    PLANNED = "planned"  # recorded, waiting for approval
    APPROVED = "approved"  # will be paused at its start
    ACTIVE = "active"  # started: tasks paused
    COMPLETED = "completed"  # ended: everything the bot paused was resumed
    # Ended: everything the bot paused was resumed, but some task could not be paused, or
    # someone changed one during the window so it was left alone (the end alert says which).
    COMPLETED_WITH_EXCEPTIONS = "completed_with_exceptions"
    FAILED = "failed"  # ended with something a person must handle (a take-over, a missed window)
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The state in words, for people: ``completed with exceptions``."""
        return self.value.replace("_", " ")


OPEN_WINDOW_STATES = (WindowState.PLANNED, WindowState.APPROVED, WindowState.ACTIVE)


class SeriesState(StrEnum):
    """A recurring maintenance (a series of windows, one per occurrence of its rule)."""

    PLANNED = "planned"  # recorded; its first occurrence's approval decides the series
    APPROVED = "approved"  # occurrences are planned ahead of time, approved already
    ENDED = "ended"  # no further occurrence (its end came, or someone ended it)
    CANCELLED = "cancelled"  # refused, or cancelled before it ran out

    @property
    def label(self) -> str:
        return self.value


OPEN_SERIES_STATES = (SeriesState.PLANNED, SeriesState.APPROVED)


class PlannedTaskState(StrEnum):
    PLANNED = "planned"  # nothing done yet
    PAUSING = "pausing"  # claimed: a pause call is (or was, before a crash) in flight
    PAUSED = "paused"  # the bot paused it (the vendor confirmed)
    ALREADY_PAUSED = "already_paused"  # found paused by someone else: left alone
    PAUSE_FAILED = "pause_failed"  # gave up after the grace period; alerted
    RESUMING = "resuming"  # claimed: a resume call is (or was) in flight
    RESUMED = "resumed"  # the bot resumed it
    LEFT_ALONE = "left_alone"  # changed by someone else while paused: not touched at the end
    HANDED_OVER = "handed_over"  # another window still needs it paused, or a person took over
    RESUME_FAILED = "resume_failed"  # still retrying; alerted each time


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    # The window was edited into one that needs approval again: a new request replaced it.
    SUPERSEDED = "superseded"


class _Record(BaseModel):
    """A row of the store as the rest of the bot reads it (bot/store.py writes and reads
    them; the states and what they mean belong here, with the rest of the vocabulary)."""

    model_config = ConfigDict(frozen=True)


class SeriesRecord(_Record):
    """A stored series: its rule as RFC 5545 knows it (``rrule``, ``dtstart`` the first
    occurrence's start, ``tz`` the zone every occurrence is read in), and what each
    occurrence pauses (``tasks``: the plan's spec, re-resolved for every occurrence)."""

    id: str
    text: str
    title: str | None = None
    tz: str
    rrule: str
    dtstart: Instant
    until: Instant | None = None
    count: int | None = None
    duration: timedelta
    occurrence_text: str
    state: SeriesState
    requested_by: str
    approved_by: str | None = None
    tasks: dict[str, Any]
    plan_ahead: timedelta
    skipped: tuple[Instant, ...] = ()  # occurrence starts taken out of the series
    channel: str | None = None
    created_at: Instant
    updated_at: Instant
    version: int


class WindowRecord(_Record):
    id: str
    text: str
    tz: str
    start: Instant
    end: Instant
    state: WindowState
    requested_by: str
    approved_by: str | None
    created_at: Instant
    updated_at: Instant
    drain_lead_seconds: int
    channel: str | None
    thread_ts: str | None
    notes: tuple[str, ...] = ()
    version: int
    # Migration 3 (window lifecycle): when the clock actually started and finished it.
    started_at: Instant | None = None
    finished_at: Instant | None = None
    # Migration 6: the end an approver last agreed to, and the window's thread in the alert
    # channel (``alert_ts`` is its first message there).
    approved_end: Instant | None = None
    alert_channel: str | None = None
    alert_ts: str | None = None
    # Migration 7: what the requester called it and why (a reason or change number).
    title: str | None = None
    reason: str | None = None
    # Migration 9: the series this window is an occurrence of, and which (its nominal start,
    # which stays the occurrence's key when the window itself is moved).
    series_id: str | None = None
    occurrence: Instant | None = None

    @property
    def window(self) -> Window:
        return Window(
            start=self.start,
            end=self.end,
            tz=self.tz,
            text=self.text,
            notes=self.notes,
            title=self.title,
        )


class PredictedStart(_Record):
    """A run time predicted for a planned task when its window was planned: ``at``, and
    ``basis``, what it was predicted from (``daily, from 14 runs``)."""

    at: Instant
    basis: str = ""
    # How many runs the check predicted in the window from this one on (a conflict names
    # its first run and counts the others: "3 predicted runs in the window").
    runs: int = 1


class PlannedTask(_Record):
    id: int
    window_id: str
    system: str
    kind: TaskKind
    task_id: str
    task_name: str
    state: PlannedTaskState
    prior_paused: bool | None
    prior_vendor_state: str | None
    attempts: int
    last_error: str | None
    claimed_at: Instant | None
    paused_at: Instant | None
    resumed_at: Instant | None
    # Migration 3 (window lifecycle). ``pause_marker``: the pause as the vendor reported it
    # right after the bot paused (who, reason), compared at the end to tell whether someone
    # re-paused it; ``prior_task``: the task read before pausing, handed back to resume.
    next_attempt_at: Instant | None = None
    give_up_at: Instant | None = None
    pause_marker: dict[str, Any] | None = None
    prior_task: dict[str, Any] | None = None
    taken_over_by: str | None = None
    note: str | None = None
    # Migration 4: who holds a PAUSING/RESUMING claim, and until when; another clock takes
    # the claim over only once ``lease_until`` has passed.
    claimed_by: str | None = None
    lease_until: Instant | None = None
    # Migration 11: the run times the plan's check predicted for the task in the window
    # (from run history, not the vendor), and what the end of the window found of them.
    predicted: tuple[PredictedStart, ...] = ()
    prediction_outcome: str | None = None

    @property
    def ref(self) -> TaskRef:
        return TaskRef(system=self.system, kind=self.kind, id=self.task_id)


class ApprovalRecord(_Record):
    id: str
    window_id: str
    requested_by: str
    state: ApprovalState
    decided_by: str | None
    decided_at: Instant | None
    expires_at: Instant
    channel: str | None
    message_ts: str | None
    created_at: Instant
    reason: str | None = None


class ResumeRequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ResumeRequestRecord(_Record):
    """A request to resume a task someone else paused, and the pause it was made against.
    ``outcome`` (after approval): ``ok``, ``no_change``, ``refused`` or ``failed``."""

    id: str
    system: str
    kind: TaskKind
    task_id: str
    task_name: str
    requested_by: str
    paused_by: str | None
    pause_reason: str | None
    paused_at: Instant | None
    state: ResumeRequestState
    decided_by: str | None
    decided_at: Instant | None
    outcome: str | None
    outcome_text: str | None
    expires_at: Instant
    channel: str | None
    message_ts: str | None
    check_id: str | None
    created_at: Instant

    @property
    def ref(self) -> TaskRef:
        return TaskRef(system=self.system, kind=self.kind, id=self.task_id)


class AuditRow(_Record):
    id: int
    at: Instant
    actor: str
    action: str
    system: str | None
    task_id: str | None
    window_id: str | None
    reason: str | None
    outcome: str
    error: str | None
    request_id: str | None
    detail: dict[str, Any] | None
