"""Changing a window before it starts (issue 10, item 2) and seeing that it overlaps
another (item 7).

:func:`overlapping` finds the planned, approved or active windows a window would share
time with; :func:`overlap_refusal` is the :class:`~bot.errors.OverlapError` that names them
and says how to go ahead anyway. :func:`edit_window` moves a window, changes its length,
adds or removes tasks: everything is read and checked first (who may, the window's state,
the new text, the tasks, the overlaps, the conflicts of the new window), then written in
one transaction that holds only if the window is still at the version that was read.

A change that asks more than was approved (starts earlier, ends later, or pauses more
tasks) needs an approver again: an approved window goes back to planned, and its request
(or a pending one) is superseded by a new one. A change that only narrows keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.approvals import Policy
from bot.errors import ApprovalError, LifecycleError, MaintbotError, OverlapError
from bot.format import instant, length, window_name
from bot.lifecycle import request_approval, window_refusal
from bot.model import (
    OPEN_WINDOW_STATES,
    ApprovalRecord,
    ApprovalState,
    Conflict,
    ConflictReport,
    PlannedTask,
    TaskRef,
    Window,
    WindowRecord,
    WindowState,
)
from bot.service.tasks import TaskChoice, named, parse_task_items
from bot.store import Store

if TYPE_CHECKING:
    from bot.service.maintbot import Maintbot

__all__ = [
    "ConflictChange",
    "EditResult",
    "edit_window",
    "editable",
    "overlap_lines",
    "overlap_refusal",
    "overlapping",
]

_W = WindowState
_EDITABLE = (_W.PLANNED, _W.APPROVED)


# -- overlaps ----------------------------------------------------------------------------------
def overlapping(store: Store, window: Window, *, ignore: str | None = None) -> list[WindowRecord]:
    """The planned, approved and active windows that share time with ``window`` (its
    start inclusive, its end exclusive), soonest first; ``ignore`` is a window's own id."""
    return [
        other
        for other in store.list_windows(OPEN_WINDOW_STATES, limit=1_000_000)
        if other.id != ignore and other.start < window.end and window.start < other.end
    ]


def describe(record: WindowRecord) -> str:
    """``w_… “Maintenance Sat 5 Dec 02:00–04:00 CET” (approved, requested by bob)``."""
    name = window_name(record.start, record.end, record.tz, record.title)
    return f"{record.id} “{name}” ({record.state.label}, requested by {record.requested_by})"


def overlap_lines(overlaps: Sequence[WindowRecord]) -> list[str]:
    return [describe(o) for o in overlaps]


def overlap_refusal(
    window: Window,
    overlaps: Sequence[WindowRecord],
    *,
    requested_by: str,
    window_id: str | None = None,
    how: str,
) -> OverlapError:
    """The refusal of a window that overlaps others: both named, and how to go ahead."""
    name = window_name(window.start, window.end, window.tz)
    this = f"{window_id} “{name}”" if window_id else f"“{name}”"
    others = "; ".join(overlap_lines(overlaps))
    count = "another window" if len(overlaps) == 1 else f"{len(overlaps)} other windows"
    return OverlapError(
        f"The window {this} (requested by {requested_by}) overlaps {count}: {others}. "
        f"Nothing was saved. If both should run, {how}; otherwise pick another time.",
        window=window,
        overlaps=overlaps,
    )


# -- editing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConflictChange:
    """Conflicts of the edited window that the old one did not have (``appeared``) and
    those it no longer has (``disappeared``); ``uncovered``: conflicts of the edited
    window whose task is active and not among its tasks (they would run during it)."""

    appeared: tuple[Conflict, ...] = ()
    disappeared: tuple[Conflict, ...] = ()
    uncovered: tuple[Conflict, ...] = ()


@dataclass(frozen=True)
class EditResult:
    """What an edit changed. ``before`` is the window as it was, ``record`` and ``tasks``
    as it is now; ``reapproval``: it needs an approver again, and ``approval`` is the new
    pending request (``None`` when there was no request to renew)."""

    before: WindowRecord
    record: WindowRecord
    tasks: tuple[PlannedTask, ...]
    added: tuple[PlannedTask, ...]
    removed: tuple[PlannedTask, ...]
    conflicts: ConflictChange
    reapproval: bool
    approval: ApprovalRecord | None = None
    superseded: tuple[str, ...] = ()
    overlaps: tuple[WindowRecord, ...] = ()
    parsed: Window | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def moved(self) -> bool:
        return (self.before.start, self.before.end) != (self.record.start, self.record.end)

    def summary(self) -> str:
        """One plain sentence of what changed, for the CLI: instants in the window's zone."""
        tz = self.record.tz
        return "".join(instant(p, tz) if isinstance(p, datetime) else p for p in self.said())

    def said(self) -> tuple[str | datetime, ...]:
        """What changed as words and instants, so each face writes the instants for its
        readers (Slack: each in their own zone)."""
        parts: list[tuple[str | datetime, ...]] = []
        if self.moved:
            parts.append(
                (
                    "it now runs ",
                    self.record.start,
                    " to ",
                    self.record.end,
                    f" ({length(self.record.end - self.record.start)}; was ",
                    self.before.start,
                    " to ",
                    self.before.end,
                    ")",
                )
            )
        if self.added:
            parts.append((f"{len(self.added)} task(s) added ({_names(self.added)})",))
        if self.removed:
            parts.append((f"{len(self.removed)} task(s) removed ({_names(self.removed)})",))
        said: list[str | datetime] = []
        for number, part in enumerate(parts):
            said += ["; ", *part] if number else list(part)
        if not said:
            said.append("nothing changed")
        if self.reapproval:
            said.append("; it asks for more than was approved, so it needs an approver again")
        elif self.before.approved_by:
            said.append("; its approval stands")
        return tuple(said)


def _names(rows: Sequence[PlannedTask], limit: int = 5) -> str:
    shown = [f"{r.task_name} ({r.system})" for r in rows[:limit]]
    more = len(rows) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _key(conflict: Conflict) -> tuple[str, str, str | None]:
    return (conflict.ref.key, conflict.kind.value, conflict.at.isoformat() if conflict.at else None)


def conflict_change(old: ConflictReport, new: ConflictReport, keys: set[str]) -> ConflictChange:
    before = {_key(c): c for c in old.conflicts}
    after = {_key(c): c for c in new.conflicts}
    return ConflictChange(
        appeared=tuple(c for k, c in after.items() if k not in before),
        disappeared=tuple(c for k, c in before.items() if k not in after),
        uncovered=tuple(c for c in new.active if c.ref.key not in keys),
    )


def _ref_of(row: PlannedTask) -> TaskRef:
    return TaskRef(system=row.system, kind=row.kind, id=row.task_id)


def _removed_rows(
    record: WindowRecord, rows: Sequence[PlannedTask], items: Sequence[str]
) -> list[PlannedTask]:
    """The window's rows that ``items`` (``SYSTEM:ID`` / ``SYSTEM:KIND:ID``) name."""
    systems = sorted({r.system for r in rows})
    chosen: dict[int, PlannedTask] = {}
    for system, kind, task_id, item in parse_task_items(
        ",".join(items), systems, option="--remove"
    ):
        matches = [
            r
            for r in rows
            if r.system == system and r.task_id == task_id and (kind is None or r.kind is kind)
        ]
        if not matches:
            raise LifecycleError(
                f"--remove item {item!r}: window {record.id} does not pause that task; "
                f"`maintbot windows --json` lists its tasks."
            )
        if len(matches) > 1:
            kinds = ", ".join(f"{system}:{r.kind.value}:{task_id}" for r in matches)
            raise LifecycleError(f"--remove item {item!r} is ambiguous; write one of {kinds}")
        chosen[matches[0].id] = matches[0]
    return list(chosen.values())


def editable(record: WindowRecord, by: str, policy: Policy, now: datetime) -> str | None:
    """Why ``by`` cannot edit ``record`` now (``None``: they can), before any edit is
    asked for: the edit dialog opens only when this is ``None``."""
    if by != record.requested_by and not policy.is_approver(by):
        return (
            f"{by} may not edit this window: only the requester ({record.requested_by}) "
            "or an approver may."
        )
    refusal = _state_refusal(record, now)
    return str(refusal) if refusal is not None else None


def _state_refusal(record: WindowRecord, now: datetime) -> LifecycleError | None:
    due = record.start - timedelta(seconds=record.drain_lead_seconds)
    if record.state is _W.ACTIVE:
        return LifecycleError(
            f"Window {record.id} has started (it is active), so it can no longer be edited; "
            f"extend it (maintbot extend {record.id} --minutes N) or end it "
            f"(maintbot end {record.id}) instead."
        )
    if record.state not in _EDITABLE:
        return LifecycleError(
            f"Window {record.id} is {record.state.label}, so there is nothing to edit; plan a "
            "new window instead."
        )
    if due <= now:
        return LifecycleError(
            f"Window {record.id} is due to start (its tasks are paused from "
            f"{instant(due, record.tz)}), so it can no longer be edited; cancel it or, once "
            "it has started, extend or end it."
        )
    return None


async def edit_window(
    bot: Maintbot,
    window_id: object,
    *,
    by: str,
    text: str | None = None,
    tz: str | None = None,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    overlap_ok: bool = False,
) -> EditResult:
    """See :meth:`Maintbot.edit`."""
    store = bot.store
    by = by.strip()
    shown_id = window_id if isinstance(window_id, str) else repr(window_id)
    record: WindowRecord | None = None

    def refuse(exc: MaintbotError, **detail: Any) -> MaintbotError:
        store.audit(
            by or "-",
            "edit",
            "refused",
            window_id=record.id if record is not None else None,
            error=str(exc),
            detail={"window": shown_id, "text": text, "add": list(add), "remove": list(remove)}
            | detail,
        )
        return exc

    if not by:
        raise refuse(LifecycleError("--by needs a name, e.g. --by alice"))
    try:
        record = bot._window(window_id)
    except LifecycleError as exc:
        raise refuse(exc) from None
    policy = await bot.policy()
    if by != record.requested_by and not policy.is_approver(by):
        raise refuse(
            ApprovalError(
                f"{by} may not edit this window: only the requester ({record.requested_by}) "
                f"or an approver may."
            )
        )
    now = bot.clock()
    refused = _state_refusal(record, now)
    if refused is not None:
        raise refuse(refused)
    if text is None and tz is not None:
        raise refuse(
            LifecycleError("--tz says how to read a new window; give it with --window TEXT.")
        )
    if text is None and not add and not remove:
        raise refuse(
            LifecycleError(
                "Say what to change: a new window (--window TEXT, or `/maintenance edit ID "
                "TEXT`), tasks to --add or to --remove."
            )
        )

    # -- read and check everything -------------------------------------------------------
    parsed: Window | None = None
    new_window = record.window
    if text is not None:
        try:
            parsed = bot.parse(text, tz or record.tz)
        except MaintbotError as exc:
            raise refuse(exc) from None
        refused = window_refusal(parsed, now, verb="give", which="new window")
        if refused is not None:
            raise refuse(refused)
        new_window = parsed
    rows = store.window_tasks(record.id)
    try:
        removed = _removed_rows(record, rows, remove) if remove else []
        found = await named(",".join(add), bot.schedulers, option="--add") if add else []
    except MaintbotError as exc:
        raise refuse(exc) from None
    current = {_ref_of(r).key for r in rows}
    removed_keys = {_ref_of(r).key for r in removed}
    adding: dict[str, TaskChoice] = {}
    for task in found:
        if task.ref.key not in current or task.ref.key in removed_keys:
            adding.setdefault(task.ref.key, (task.ref, task.name))
    # A task removed and added back in one edit stays as it was.
    both = removed_keys & set(adding)
    removed = [r for r in removed if _ref_of(r).key not in both]
    adding = {k: v for k, v in adding.items() if k not in both}
    after_keys = (current - {_ref_of(r).key for r in removed}) | set(adding)
    if not after_keys:
        raise refuse(
            LifecycleError(
                f"That would leave window {record.id} with no task to pause; cancel it instead "
                f"(maintbot cancel {record.id} --by NAME, or `/maintenance cancel {record.id}`)."
            )
        )
    moved = (new_window.start, new_window.end) != (record.start, record.end)
    if not moved and not adding and not removed:
        raise refuse(
            LifecycleError(
                f"That changes nothing: window {record.id} already runs "
                f"{instant(record.start, record.tz)} to {instant(record.end, record.tz)} with "
                "those tasks."
            )
        )
    overlaps = overlapping(store, new_window, ignore=record.id)
    if moved and overlaps and not overlap_ok:
        error = overlap_refusal(
            new_window,
            overlaps,
            requested_by=record.requested_by,
            window_id=record.id,
            how=(
                "edit it again with --overlap-ok (`/maintenance edit "
                f"{record.id} --overlap-ok TEXT` in Slack)"
            ),
        )
        raise refuse(error, overlaps=[o.id for o in overlaps])
    widened = new_window.start < record.start or new_window.end > record.end or bool(adding)
    approvals = store.approvals_for(record.id)
    pending = [a for a in approvals if a.state is ApprovalState.PENDING]
    reapproval = widened and (record.state is _W.APPROVED or bool(pending))
    # The conflicts of the new window, and of the old one when it moved.
    new_report = await bot._joined_check(new_window)
    old_report = await bot._joined_check(record.window) if moved else new_report
    conflicts = conflict_change(old_report, new_report, after_keys)
    warnings = tuple(
        f"{s.system} could not be checked ({s.error}); its conflicts are not in this difference"
        for s in new_report.systems
        if not s.ok
    )

    # -- write it all, or nothing --------------------------------------------------------
    fields: dict[str, Any] = {}
    if moved:
        fields |= {"start_at": new_window.start, "end_at": new_window.end}
    if parsed is not None:
        fields |= {"text": parsed.text, "tz": parsed.tz, "notes": parsed.notes}
    if reapproval and record.state is _W.APPROVED:
        fields |= {"state": _W.PLANNED.value, "approved_by": None, "approved_end": None}
    if not fields:
        fields = {"start_at": record.start}  # tasks only: the version still moves
    channel = next((a.channel for a in reversed(approvals) if a.channel), record.channel)
    approval: ApprovalRecord | None = None
    superseded: list[str] = []
    try:
        with store.transaction():
            if not store.edit_window(
                record.id,
                record.version,
                fields=fields,
                add=list(adding.values()),
                remove=[r.id for r in removed],
            ):
                raise _Changed
            if reapproval:
                superseded = store.supersede_approvals(record.id, now)
                approval = request_approval(
                    store, record.id, requested_by=record.requested_by, now=now, channel=channel
                )
            store.audit(
                by,
                "edit",
                "ok",
                window_id=record.id,
                detail={
                    "old_start": record.start.isoformat(),
                    "new_start": new_window.start.isoformat(),
                    "old_end": record.end.isoformat(),
                    "new_end": new_window.end.isoformat(),
                    "old_text": record.text,
                    "new_text": new_window.text,
                    "added": sorted(adding),
                    "removed": sorted(_ref_of(r).key for r in removed),
                    "reapproval": reapproval,
                    "approval": approval.id if approval is not None else None,
                    "superseded": superseded,
                    "overlaps": [o.id for o in overlaps],
                },
            )
    except _Changed:
        raise refuse(
            LifecycleError(
                f"Window {record.id} changed while it was being edited (it may have started); "
                "look at it again (maintbot windows) and edit it again if it still needs it."
            )
        ) from None
    after = store.get_window(record.id)
    tasks = tuple(store.window_tasks(record.id))
    return EditResult(
        before=record,
        record=after,
        tasks=tasks,
        added=tuple(t for t in tasks if _ref_of(t).key in adding),
        removed=tuple(removed),
        conflicts=conflicts,
        reapproval=reapproval,
        approval=approval,
        superseded=tuple(superseded),
        overlaps=tuple(overlaps),
        parsed=parsed,
        warnings=warnings,
    )


class _Changed(Exception):
    """Rolls an edit back when the window moved on since it was read."""
