"""What the clock's alerts say: reminders, the start (what was paused, what is still
running), the end (what was resumed, what could not be paused and why, what was missed
while paused), failures and the window's outcome. Each is an :class:`~bot.lifecycle.notify.Alert`
(a headline with counts, titled lists, notes; instants kept as datetimes), which each face
writes for its readers. Pure builders, and :class:`AlertTexts`, the part that reads the
vendors for the start and end alerts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.connectors.base import SkippedRun
from bot.format import length, window_name
from bot.lifecycle.base import ClockCore, error_text, outcome, reraise_own_cancellation
from bot.lifecycle.notify import Alert, AlertItem, AlertList, Text, plain_list, plain_words
from bot.model import (
    PlannedTask,
    PlannedTaskState,
    WindowRecord,
)
from bot.predict import TOLERANCE

_S = PlannedTaskState


@dataclass(frozen=True)
class Group:
    """The rows in ``state`` as one titled list of an alert."""

    state: PlannedTaskState
    title: str
    count: str
    warn: bool = False


START_GROUPS = (
    Group(_S.PAUSED, "Paused", "paused"),
    Group(
        _S.ALREADY_PAUSED, "Left alone (already paused by someone else, or inactive)", "left alone"
    ),
    Group(
        _S.PAUSING,
        "Pause not confirmed yet (the scheduler was slow; reading back)",
        "not confirmed yet",
    ),
    Group(_S.PLANNED, "Not paused yet (retrying)", "not paused yet", warn=True),
    Group(_S.PAUSE_FAILED, "Could not pause", "could not pause", warn=True),
)

END_GROUPS = (
    Group(_S.RESUMED, "Resumed", "resumed"),
    Group(_S.HANDED_OVER, "Still paused for a later window", "held for a later window"),
    Group(_S.LEFT_ALONE, "Left alone (changed by someone during the window)", "changed by someone"),
    Group(
        _S.ALREADY_PAUSED,
        "Left alone (paused by someone else before the window, or inactive)",
        "left alone",
    ),
    Group(_S.PAUSE_FAILED, "Could not pause (ran during the window)", "could not pause", True),
    Group(_S.RESUME_FAILED, "Could not resume, STILL PAUSED (retrying)", "still paused", True),
    Group(
        _S.RESUMING,
        "Resume not confirmed yet (the scheduler was slow; reading back)",
        "not confirmed yet",
    ),
)

# Rows a person took over are HANDED_OVER too, but they are theirs to resume now.
_TAKEN_OVER = Group(
    _S.HANDED_OVER, "Taken over by a person (paused until they resume it)", "taken over", True
)


def reminder_key(lead: timedelta) -> str:
    return f"reminder:{int(lead.total_seconds())}"


def window_label(record: WindowRecord) -> str:
    """A window as alerts name it: its title (if any) and dates, and its id to act on.
    Not the text typed: "in 1 minute for 2 minutes" says nothing once it has passed."""
    name = window_name(record.start, record.end, record.tz, record.title)
    if not record.title:
        # "Maintenance window Maintenance Sat …" says it twice; the dates are the name.
        return f"{name.removeprefix('Maintenance ')} ({record.id})"
    return f"“{name}” ({record.id})"


def task_label(row: PlannedTask) -> str:
    return f"{row.task_name} ({row.system})"


def task_item(row: PlannedTask, detail: Text = ()) -> AlertItem:
    return AlertItem(row.task_name, row.system, detail)


def why(row: PlannedTask) -> str:
    """What the row's outcome was and why: its note and its last error, each once."""
    parts = [p for p in (row.note, row.last_error) if p]
    if len(parts) == 2 and parts[1] in parts[0]:
        parts = parts[:1]
    return ": ".join(parts)


def state_lists(rows: Sequence[PlannedTask], groups: Sequence[Group]) -> list[AlertList]:
    """One list per group that has rows, in the groups' order; every row but a plain
    success says why it is there."""
    lists = []
    for group in groups:
        members = [r for r in rows if r.state is group.state]
        if group.state is _S.HANDED_OVER:
            taken = [r for r in members if r.taken_over_by]
            members = [r for r in members if not r.taken_over_by]
            if taken:
                lists.append(_as_list(_TAKEN_OVER, taken))
        if members:
            lists.append(_as_list(group, members))
    return lists


def _as_list(group: Group, rows: Sequence[PlannedTask]) -> AlertList:
    items = []
    for r in rows:
        reason = "" if group.state is _S.RESUMED else why(r)
        items.append(task_item(r, (reason,) if reason else ()))
    return AlertList(group.title, group.count, tuple(items), group.warn)


def _counted(*parts: str | datetime, lists: Sequence[AlertList]) -> Text:
    """A headline: ``parts``, then the lists' counts (``8 paused, 1 could not pause``)."""
    counts = Alert(headline=(), lists=tuple(lists)).counts()
    return (*parts, f". {counts[0].upper()}{counts[1:]}." if counts else ".")


# -- the alerts that need no vendor -------------------------------------------------------------
def reminder_alert(record: WindowRecord, rows: Sequence[PlannedTask], now: datetime) -> Alert:
    to_pause = AlertList("Will pause", "to pause", tuple(task_item(r) for r in rows))
    return Alert(
        headline=(
            f"Maintenance window {window_label(record)} starts in {length(record.start - now)} (",
            record.start,
            ") and lasts until ",
            record.end,
            f". It will pause {len(rows)} task(s).",
        ),
        lists=(to_pause,),
    )


def not_approved_alert(record: WindowRecord) -> Alert:
    return Alert(
        headline=(
            f"Maintenance window {window_label(record)} was not approved before its start (",
            record.start,
            "), so it was cancelled; nothing was paused.",
        )
    )


def missed_alert(
    record: WindowRecord, rows: Sequence[PlannedTask], noticed_after: timedelta
) -> Alert:
    not_held = AlertList(
        "Not held during the maintenance (may have run)",
        "not held",
        tuple(task_item(r) for r in rows),
        warn=True,
    )
    return Alert(
        headline=(
            f"Maintenance window {window_label(record)} (",
            record.start,
            " to ",
            record.end,
            ") passed while maintbot was not running "
            f"(noticed {length(noticed_after)} after its start). Nothing was paused, so "
            f"nothing needs resuming; these {len(rows)} task(s) were not held during the "
            "maintenance and may have run.",
        ),
        lists=(not_held,),
    )


def before_end_alert(record: WindowRecord, rows: Sequence[PlannedTask], now: datetime) -> Alert:
    paused = sum(r.state is _S.PAUSED for r in rows)
    return Alert(
        headline=(
            f"Maintenance window {window_label(record)} ends in {length(record.end - now)} (",
            record.end,
            f"); then {paused} paused task(s) will be resumed. Extend it, or end it now?",
        )
    )


def resolved_alert(record: WindowRecord, rows: Sequence[PlannedTask]) -> Alert:
    """The window's outcome, once its last failing resume settled after the end alert."""
    state = outcome(rows)
    said = state.label if state is not None else "settled"
    lists = state_lists(rows, END_GROUPS)
    return Alert(
        headline=_counted(f"Maintenance window {window_label(record)} is now {said}", lists=lists),
        lists=tuple(lists),
    )


def pause_failed_alert(
    record: WindowRecord, row: PlannedTask, error: str, *, refused: bool, retried: timedelta
) -> Alert:
    reason = "the scheduler refused it" if refused else f"retried for {length(retried)}"
    return Alert(
        headline=(
            f"Could not pause {task_label(row)} for maintenance window {window_label(record)} "
            f"({reason}). It is NOT paused and may run during the maintenance.",
        ),
        notes=(
            (f"The scheduler said: {error}",),
            ("Retry, or pause it by hand in the scheduler.",),
        ),
    )


def resume_failed_alert(
    record: WindowRecord, row: PlannedTask, error: str, attempt: int, retry_at: datetime
) -> Alert:
    return Alert(
        headline=(
            f"Could not resume {task_label(row)} after maintenance window "
            f"{window_label(record)} (attempt {attempt}). It is STILL PAUSED.",
        ),
        notes=(
            (f"The scheduler said: {error}",),
            (
                "maintbot retries at ",
                retry_at,
                "; retry now, or take it over to resume it by hand.",
            ),
        ),
    )


# -- the start and end alerts, which ask the vendors ---------------------------------------------
class AlertTexts(ClockCore):
    async def _start_text(self, record: WindowRecord, rows: Sequence[PlannedTask]) -> Alert:
        fresh = self.store.get_window(record.id)
        due = self._start_due(fresh)
        late = ""
        if fresh.started_at is not None and fresh.started_at - due > self.late_after:
            late = f" {length(fresh.started_at - due)} late (maintbot was not running on time)"
        lists = state_lists(rows, START_GROUPS)
        running, notes = await self._running_list(rows)
        if running.items:
            lists.append(running)
        return Alert(
            headline=_counted(
                f"Maintenance window {window_label(fresh)} has started{late}; it ends ",
                fresh.end,
                lists=lists,
            ),
            lists=tuple(lists),
            notes=tuple(notes),
        )

    async def _running_list(self, rows: Sequence[PlannedTask]) -> tuple[AlertList, list[Text]]:
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
        running: list[AlertItem] = []
        problems: list[str] = []
        for system in systems:
            runs = self._running[system]
            if isinstance(runs, str):
                problems.append(f"{system}: {runs}")
                continue
            for run in runs:
                if run.task.key in names:
                    since: Text = ("since ", run.started_at) if run.started_at else ()
                    running.append(AlertItem(names[run.task.key], system, since))
        notes: list[Text] = []
        if not running:
            notes.append(("No run of these tasks is in progress.",))
        if problems:
            notes.append((f"Could not ask what is running: {'; '.join(problems)}.",))
        listed = AlertList(
            "Running now (a pause lets runs in progress finish)", "running now", tuple(running)
        )
        return listed, notes

    async def _end_text(
        self, record: WindowRecord, rows: Sequence[PlannedTask], now: datetime
    ) -> Alert:
        late = ""
        if now - record.end > self.late_after:
            late = f" {length(now - record.end)} late (maintbot was not running on time)"
        state = outcome(rows)
        said = f": {state.label}" if state is not None else ""
        lists = state_lists(rows, END_GROUPS)
        answers = await self._skipped_answers(record, rows)
        skipped, notes = self._skipped_list(rows, answers)
        if skipped.items:
            lists.append(skipped)
        lists += self._prediction_lists(record, rows, answers)
        return Alert(
            headline=_counted(
                f"Maintenance window {window_label(record)} has ended{late}{said}", lists=lists
            ),
            lists=tuple(lists),
            notes=tuple(notes),
        )

    async def _skipped_answers(
        self, record: WindowRecord, rows: Sequence[PlannedTask]
    ) -> dict[int, list[SkippedRun] | BaseException]:
        """What each held row's vendor reports skipped while it was paused (or why it could
        not say), asked of every row at once; rows never paused are not asked."""
        held = [
            (r, r.paused_at)
            for r in rows
            if r.paused_at is not None and self.connectors.get(r.system) is not None
        ]

        async def one(row: PlannedTask, since: datetime) -> list[SkippedRun]:
            connector = self.connectors[row.system]
            return await self._call(row.system, connector.skipped_runs(row.ref, since, record.end))

        answers = await asyncio.gather(*(one(r, t) for r, t in held), return_exceptions=True)
        found: dict[int, list[SkippedRun] | BaseException] = {}
        for (row, _), answer in zip(held, answers, strict=True):
            if isinstance(answer, BaseException):
                reraise_own_cancellation(answer)
            found[row.id] = answer
        return found

    def _skipped_list(
        self, rows: Sequence[PlannedTask], answers: dict[int, list[SkippedRun] | BaseException]
    ) -> tuple[AlertList, list[Text]]:
        found: list[AlertItem] = []
        problems: list[str] = []
        for row in rows:
            skipped = answers.get(row.id)
            if isinstance(skipped, BaseException):
                problems.append(f"{task_label(row)}: {error_text(skipped)}")
            elif skipped:
                first = min(s.at for s in skipped)
                found.append(task_item(row, (f"×{len(skipped)}, first ", first)))
        notes: list[Text] = []
        if not found:
            notes.append(("No runs were reported skipped while paused.",))
        if problems:
            notes.append((f"Could not read skipped runs for {plain_list(problems, 3)}.",))
        listed = AlertList("Runs skipped while paused", "with runs skipped", tuple(found))
        return listed, notes

    def _prediction_lists(
        self,
        record: WindowRecord,
        rows: Sequence[PlannedTask],
        answers: dict[int, list[SkippedRun] | BaseException],
    ) -> list[AlertList]:
        """The run times predicted at plan time, each held against the runs the vendor
        reports were due while the task was paused: held, proved wrong, or not checkable
        (and why). Each row's verdict is kept with it, for ``windows --json``."""
        verdicts: dict[str, list[AlertItem]] = {"held": [], "wrong": [], "unchecked": []}
        for row in rows:
            if not row.predicted:
                continue
            connector = self.connectors.get(row.system)
            answer: list[SkippedRun] | BaseException | str | None = answers.get(row.id)
            if connector is None:
                answer = f"{row.system} is not configured any more"
            elif not connector.reports_skipped_runs:
                answer = f"{row.system}'s scheduler does not report runs skipped while paused"
            elif row.paused_at is None:
                answer = "it was not paused, so the scheduler reports no run it skipped"
            verdict, text = judge_prediction(row, answer)
            verdicts[verdict].append(task_item(row, text))
            self.store.set_prediction_outcome(row.id, plain_words(text, record.tz))
        return [
            AlertList(title, count, tuple(verdicts[key]), warn)
            for key, title, count, warn in (
                (
                    "wrong",
                    "Predicted run times that proved wrong (predicted from run history)",
                    "predictions wrong",
                    True,
                ),
                ("held", "Predicted run times that held", "predictions held", False),
                ("unchecked", "Predicted run times not checked", "predictions not checked", False),
            )
            if verdicts[key]
        ]


def judge_prediction(
    row: PlannedTask, answer: list[SkippedRun] | BaseException | str | None
) -> tuple[str, Text]:
    """``held``, ``wrong`` or ``unchecked``, and the words for ``row``'s predicted run
    times against ``answer``: the runs the vendor reports due while it was paused, an error
    asking for them, or why they were not asked for. A due run within the predictions'
    jitter (:data:`bot.predict.TOLERANCE`) of the predicted time is the predicted run."""
    first = min(row.predicted, key=lambda p: p.at)
    expected = sum(p.runs for p in row.predicted)
    basis = f" ({first.basis})" if first.basis else ""
    said: Text = ("predicted ", first.at)
    if expected > 1:
        said = (f"predicted {expected} runs, the first ", first.at)
    if answer is None or isinstance(answer, str):
        return "unchecked", (*said, basis, f"; not checked: {answer or 'no answer'}")
    if isinstance(answer, BaseException):
        return "unchecked", (*said, basis, f"; not checked: {error_text(answer)}")
    due = sorted(s.at for s in answer)
    if not due:
        return "wrong", (*said, basis, "; no run was due in the window")
    on_time = abs(due[0] - first.at) <= TOLERANCE
    if on_time and len(due) == expected:
        more = f" ({len(due)} due)" if expected > 1 else ""
        return "held", (*said, ", due ", due[0], more)
    if on_time:
        return "wrong", (
            *said,
            basis,
            f"; the vendor reports {_runs(len(due))} due, the first ",
            due[0],
        )
    others = f" and {_runs(len(due) - 1)} more" if len(due) > 1 else ""
    return "wrong", (*said, basis, "; the vendor reports a run due ", due[0], f"{others} instead")


def _runs(count: int) -> str:
    return "1 run" if count == 1 else f"{count} runs"
