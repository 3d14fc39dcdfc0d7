"""The domain vocabulary: windows, tasks, runs, conflicts and reports (pydantic, immutable).

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
    "Conflict",
    "ConflictKind",
    "ConflictReport",
    "Instant",
    "Run",
    "RunningNow",
    "SystemResult",
    "Task",
    "TaskKind",
    "TaskRef",
    "Window",
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
    ``+05:30``); ``notes`` carry DST warnings and similar remarks for the echo.
    """

    start: Instant
    end: Instant
    tz: str
    text: str = ""
    notes: tuple[str, ...] = ()

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

    @property
    def ref(self) -> TaskRef:
        return TaskRef(system=self.system, kind=self.kind, id=self.id)


class Run(_Frozen):
    """A run a scheduler will start: at ``at``, or at a time the vendor does not expose.

    ``at is None`` means "time unknown": the task is active and may fire, and ``note``
    says why there is no time (e.g. "Pyramid's API exposes no next-run time").
    """

    task: TaskRef
    at: Instant | None
    expected_duration: timedelta | None = None
    note: str | None = None


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
            },
            "systems": [
                {
                    "system": s.system,
                    "name": s.label,
                    "vendor": s.vendor,
                    "ok": s.ok,
                    "error": s.error,
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
                    "paused": c.paused,
                    "detail": c.detail,
                    "paused_by": c.paused_by,
                    "paused_at": c.paused_at.isoformat() if c.paused_at else None,
                    "pause_reason": c.pause_reason,
                }
                for c in self.conflicts
            ],
        }
