"""Immediate pause and resume of one task, with an audit row before and after the vendor call.

This is the domain behind Slack's "Pause now" / "Resume" buttons (and anything else that
acts on one task at once, outside a planned window). It knows nothing of Slack: it returns an
:class:`ActionResult` whose ``message`` is safe to show a user.

The "attempt" row is written before the vendor is called, so a crash mid-call still leaves a
trace of what was tried; the outcome row (``ok``, ``no_change``, ``failed`` or ``refused``)
follows. The task's state is read first: that avoids a needless vendor write when it is
already in the wanted state, and keeps the vendor's own state word so a later resume can
restore exactly what was there (BMC resumes ``SERVICE_ON`` and ``WAITING`` differently).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.connectors.base import Connector
from bot.errors import ConnectorError
from bot.model import Task, TaskRef
from bot.store import AuditRow, PlannedTask, PlannedTaskState, Store, WindowRecord

__all__ = [
    "PAUSE_ACTION",
    "RESUME_ACTION",
    "ActionResult",
    "HeldPaused",
    "Outcome",
    "held_paused",
    "pause_task",
    "resume_task",
]

log = logging.getLogger(__name__)

PAUSE_ACTION = "pause_now"
RESUME_ACTION = "resume_now"

Outcome = Literal["ok", "no_change", "failed", "refused"]

# A planned window holds the task paused in these states; resuming it by hand would undo
# a maintenance window in progress.
_HELD = (PlannedTaskState.PAUSING, PlannedTaskState.PAUSED)


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
) -> ActionResult:
    """Resume ``ref`` now, unless a maintenance window holds it paused (then ``refused``).

    The state the task had before the bot's last "pause now" (kept in that audit row) is
    handed to the connector, so vendors with several running states get the right one back.
    """
    label = _label(ref, name)
    common = {"system": ref.system, "task_id": ref.id, "reason": reason, "request_id": request_id}
    detail: dict[str, object] = {"kind": ref.kind.value, "name": name}
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
