"""The texts of the clock's alerts: reminders, the start (what was paused, what is still
running), the end (what was resumed, what was missed while paused). Pure helpers for
labels and listings, and :class:`AlertTexts`, the part that reads the vendors for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.connectors.base import SkippedRun
from bot.format import instant, length
from bot.lifecycle.base import ClockCore, error_text, reraise_own_cancellation
from bot.model import (
    PlannedTask,
    PlannedTaskState,
    WindowRecord,
)

_S = PlannedTaskState

END_GROUPS: list[tuple[PlannedTaskState, str]] = [
    (_S.RESUMED, "Resumed"),
    (_S.HANDED_OVER, "Still paused for a later window, or taken over by a person"),
    (_S.LEFT_ALONE, "Left alone (changed by someone during the window)"),
    (_S.ALREADY_PAUSED, "Left alone (paused by someone else before the window, or inactive)"),
    (_S.PAUSE_FAILED, "Could not pause (ran during the window)"),
    (_S.RESUME_FAILED, "Could not resume, STILL PAUSED (retrying)"),
    (_S.RESUMING, "Resume not confirmed yet (the scheduler was slow; reading back)"),
]


def reminder_key(lead: timedelta) -> str:
    return f"reminder:{int(lead.total_seconds())}"


def window_label(record: WindowRecord) -> str:
    return f"“{record.text}” ({record.id})" if record.text else record.id


def task_label(row: PlannedTask) -> str:
    return f"{row.task_name} ({row.system})"


def task_names(rows: Iterable[PlannedTask]) -> str:
    return cut_list([task_label(r) for r in rows])


def cut_list(items: Sequence[str], limit: int = 10) -> str:
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def listing(
    rows: Sequence[PlannedTask], groups: Sequence[tuple[PlannedTaskState, str]]
) -> list[str]:
    lines = []
    for state, title in groups:
        members = [r for r in rows if r.state is state]
        if not members:
            continue
        labels = []
        for r in members:
            extra = r.note or r.last_error
            labels.append(
                f"{task_label(r)}: {extra}" if extra and state is not _S.RESUMED else task_label(r)
            )
        lines.append(f"{title} ({len(members)}): {cut_list(labels)}.")
    return lines


class AlertTexts(ClockCore):
    async def _start_text(self, record: WindowRecord, rows: Sequence[PlannedTask]) -> str:
        fresh = self.store.get_window(record.id)
        due = self._start_due(fresh)
        late = ""
        if fresh.started_at is not None and fresh.started_at - due > self.late_after:
            late = f" {length(fresh.started_at - due)} late (maintbot was not running on time)"
        lines = [
            f"Maintenance window {window_label(fresh)} has started{late}; it ends "
            f"{instant(fresh.end, fresh.tz)}."
        ]
        lines += listing(
            rows,
            [
                (_S.PAUSED, "Paused"),
                (_S.ALREADY_PAUSED, "Left alone (already paused by someone else, or inactive)"),
                (_S.PAUSING, "Pause not confirmed yet (the scheduler was slow; reading back)"),
                (_S.PLANNED, "Not paused yet (retrying)"),
                (_S.PAUSE_FAILED, "Could not pause"),
            ],
        )
        lines.append(await self._running_text(rows))
        return "\n".join(lines)

    async def _running_text(self, rows: Sequence[PlannedTask]) -> str:
        names = {r.ref.key: r.task_name for r in rows}
        systems = [s for s in sorted({r.system for r in rows}) if s in self.connectors]
        missing = [s for s in systems if s not in self._running]
        # One question per system per tick, asked of every system at once.
        answers = await asyncio.gather(
            *(self._call(s, self.connectors[s].running_now()) for s in missing),
            return_exceptions=True,
        )
        for system, answer in zip(missing, answers, strict=True):
            if isinstance(answer, BaseException):
                reraise_own_cancellation(answer)
                self._running[system] = error_text(answer)
            else:
                self._running[system] = answer
        running: list[str] = []
        problems: list[str] = []
        for system in systems:
            runs = self._running[system]
            if isinstance(runs, str):
                problems.append(f"{system}: {runs}")
                continue
            for run in runs:
                if run.task.key in names:
                    since = f" since {run.started_at:%H:%M} UTC" if run.started_at else ""
                    running.append(f"{names[run.task.key]} ({system}){since}")
        text = (
            f"Running now (a pause lets runs in progress finish): {cut_list(running)}."
            if running
            else "No run of these tasks is in progress."
        )
        if problems:
            text += f" Could not ask what is running: {'; '.join(problems)}."
        return text

    async def _end_text(
        self, record: WindowRecord, rows: Sequence[PlannedTask], now: datetime
    ) -> str:
        late = ""
        if now - record.end > self.late_after:
            late = f" {length(now - record.end)} late (maintbot was not running on time)"
        lines = [f"Maintenance window {window_label(record)} has ended{late}."]
        lines += listing(rows, END_GROUPS)
        lines.append(await self._skipped_text(record, rows))
        return "\n".join(lines)

    async def _skipped_text(self, record: WindowRecord, rows: Sequence[PlannedTask]) -> str:
        held = [
            (r, r.paused_at)
            for r in rows
            if r.paused_at is not None and self.connectors.get(r.system) is not None
        ]

        async def one(row: PlannedTask, since: datetime) -> list[SkippedRun]:
            connector = self.connectors[row.system]
            return await self._call(row.system, connector.skipped_runs(row.ref, since, record.end))

        answers = await asyncio.gather(*(one(r, t) for r, t in held), return_exceptions=True)
        found: list[str] = []
        problems: list[str] = []
        for (row, _), skipped in zip(held, answers, strict=True):
            if isinstance(skipped, BaseException):
                reraise_own_cancellation(skipped)
                problems.append(f"{task_label(row)}: {error_text(skipped)}")
            elif skipped:
                first = min(s.at for s in skipped)
                found.append(
                    f"{task_label(row)} ×{len(skipped)} (first {instant(first, record.tz)})"
                )
        text = (
            f"Runs skipped while paused: {cut_list(found)}."
            if found
            else "No runs were reported skipped while paused."
        )
        if problems:
            text += f" Could not read skipped runs for {cut_list(problems, 3)}."
        return text
