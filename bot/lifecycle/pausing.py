"""Pausing a planned task at its window's start: claim, read the task first, pause, read
back; a task already paused by someone else is left alone, one paused by another window
is shared; failures retry with backoff until the window has passed its grace.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from bot.errors import ConnectorError
from bot.lifecycle.alerts import pause_failed_alert
from bot.lifecycle.base import (
    MID_CALL,
    ClockCore,
    _Abandoned,
    error_text,
    paused_by_note,
    reraise_own_cancellation,
)
from bot.lifecycle.ownership import marker_of, matches_marker, pause_reason, window_id_in
from bot.model import (
    PlannedTask,
    PlannedTaskState,
    Task,
    WindowRecord,
)

_S = PlannedTaskState


class Pausing(ClockCore):
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
            if any(h.window_id != record.id for h in self.store.holders(ref, MID_CALL)):
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
            reraise_own_cancellation(exc)
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
                note = paused_by_note(after, "just before the window")
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
        marker = (
            marker_of(after) if after is not None and after.paused else {"pause_reason": reason}
        )
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
                pause_marker=marker_of(task),
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
                pause_marker=marker_of(task),
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
            note=paused_by_note(task, "before the window"),
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
            and matches_marker(task, h.pause_marker)
        ]
        candidates.sort(key=lambda h: h.state is not _S.PAUSED)
        return candidates[0] if candidates else None

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
        error = error_text(exc)
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
            self._alert(
                record,
                f"pause_failed:{row.id}:{attempt}",
                "pause_failed",
                pause_failed_alert(
                    record, row, error, refused=permanent, retried=now - record.start
                ),
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
