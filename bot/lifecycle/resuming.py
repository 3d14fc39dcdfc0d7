"""Resuming at a window's end exactly what that window paused: a task someone changed
during the window is left alone and reported, one another window still holds is handed
over, and a failing resume keeps retrying (and alerting) until a person takes it over.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from bot.errors import ConnectorError
from bot.lifecycle.alerts import resume_failed_alert
from bot.lifecycle.base import (
    MID_CALL,
    ClockCore,
    TickReport,
    _Abandoned,
    error_text,
    paused_by_note,
    reraise_own_cancellation,
)
from bot.lifecycle.ownership import matches_marker, prior_task, window_id_in
from bot.model import (
    PlannedTask,
    PlannedTaskState,
    Task,
    WindowRecord,
)

_S = PlannedTaskState


def _end_verdict(record: WindowRecord, row: PlannedTask, task: Task) -> str:
    """``resume`` when the task is paused as the bot left it; ``running`` when it is not
    paused; ``changed`` when someone else's pause is on it now."""
    if not task.paused:
        return "running"
    if row.pause_marker is not None:
        return "resume" if matches_marker(task, row.pause_marker) else "changed"
    owner = window_id_in(task.pause_reason)
    if owner == record.id or (task.pause_reason is None and row.prior_paused is False):
        return "resume"
    return "changed"


class Resuming(ClockCore):
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
            if any(h.window_id != record.id for h in self.store.holders(ref, MID_CALL)):
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
                changed = await self._call(row.system, connector.resume(ref, prior_task(row)))
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
            reraise_own_cancellation(exc)
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
                else paused_by_note(task, "during the window", again=True)
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
        error = error_text(exc)
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
            resume_failed_alert(record, row, error, attempt, retry_at),
            actions=("retry_resume", "take_over"),
        )

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
