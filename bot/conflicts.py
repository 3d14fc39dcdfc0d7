"""Conflict finding: a window plus what the schedulers answered → a report. Pure, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.format import length
from bot.model import (
    Conflict,
    ConflictKind,
    ConflictReport,
    Run,
    RunningNow,
    SystemResult,
    Task,
    TaskRef,
    Window,
)

__all__ = [
    "SystemGroup",
    "SystemSnapshot",
    "common_reason",
    "estimate_duration",
    "find_conflicts",
    "group_report",
]

_KIND_ORDER = {
    ConflictKind.RUNNING_AT_START: 0,
    ConflictKind.MAY_OVERLAP: 1,
    ConflictKind.STARTS_IN_WINDOW: 2,
    ConflictKind.MAY_FIRE: 3,
}


@dataclass(frozen=True)
class SystemSnapshot:
    """What one scheduler answered for one check (or the error that stopped it)."""

    result: SystemResult
    tasks: Sequence[Task] = ()
    runs: Sequence[Run] = ()
    running: Sequence[RunningNow] = ()
    extra: dict[str, str] = field(default_factory=dict)


def estimate_duration(durations: Iterable[timedelta], quantile: float = 0.9) -> timedelta | None:
    """A robust expected duration: the ``quantile`` (nearest-rank) of past run durations.

    The 90th percentile rather than the mean, so one quick failed run does not make a long
    job look short, and rather than the max, so one hung run does not flag everything.
    Negative durations (clock skew in vendor data) are ignored.
    """
    values = sorted(d for d in durations if d >= timedelta(0))
    if not values:
        return None
    rank = max(1, math.ceil(quantile * len(values)))
    return values[rank - 1]


def find_conflicts(
    window: Window, now: datetime, snapshots: Sequence[SystemSnapshot], *, each_run: bool = False
) -> ConflictReport:
    """Every run that starts in the window, is running when it opens, is expected to run
    into it from past durations, or may fire in it at a time the vendor does not expose.

    One conflict per (task, kind): a task firing hourly through a window is listed once,
    at its first run in the window, with the count in the detail. With ``each_run`` every
    run that starts in the window is a conflict of its own (``suggest`` ranks slots within
    one long range, where the first run of each task says nothing about the later ones).
    """
    conflicts: dict[tuple[str, str, ConflictKind, datetime | None], Conflict] = {}
    counts: dict[tuple[str, str, ConflictKind, datetime | None], int] = {}

    for snap in snapshots:
        if not snap.result.ok:
            continue
        tasks = {t.ref.key: t for t in snap.tasks}

        def add(
            ref: TaskRef,
            kind: ConflictKind,
            at: datetime | None,
            detail: str,
            duration: timedelta | None,
            tasks: dict[str, Task] = tasks,
            predicted: bool = False,
            basis: str = "",
        ) -> None:
            task = tasks.get(ref.key)
            own = at if each_run and kind is ConflictKind.STARTS_IN_WINDOW else None
            key = (ref.key, ref.kind.value, kind, own)
            counts[key] = counts.get(key, 0) + 1
            existing = conflicts.get(key)
            if existing is not None and (existing.at is None or at is None or existing.at <= at):
                return
            conflicts[key] = Conflict(
                system=ref.system,
                task_id=ref.id,
                task_kind=ref.kind,
                task_name=task.name if task else ref.id,
                kind=kind,
                at=at,
                paused=bool(task and task.paused),
                detail=detail,
                paused_by=task.paused_by if task and task.paused else None,
                pause_reason=task.pause_reason if task and task.paused else None,
                paused_at=task.paused_at if task and task.paused else None,
                groups=task.groups if task else (),
                expected_duration=duration,
                predicted=predicted,
                basis=basis,
            )

        for run in snap.runs:
            if run.at is None:
                add(
                    run.task,
                    ConflictKind.MAY_FIRE,
                    None,
                    run.note or "active; run times unknown",
                    None,
                )
            elif window.contains(run.at):
                detail = (run.note or "") if run.predicted else ""
                add(
                    run.task,
                    ConflictKind.STARTS_IN_WINDOW,
                    run.at,
                    detail,
                    run.expected_duration,
                    predicted=run.predicted,
                    basis=run.basis,
                )
            elif run.at < window.start and run.expected_duration is not None:
                expected_end = run.at + run.expected_duration
                if expected_end > window.start:
                    detail = (
                        f"usually runs {length(run.expected_duration)} (p90), "
                        f"so it would still be running when the window opens"
                    )
                    if run.predicted and run.note:
                        detail = f"{run.note}; {detail}"
                    add(
                        run.task,
                        ConflictKind.MAY_OVERLAP,
                        run.at,
                        detail,
                        run.expected_duration,
                        predicted=run.predicted,
                    )

        for running in snap.running:
            if window.start <= now:
                detail = "running now"
            elif running.started_at is not None and running.expected_duration is not None:
                if running.started_at + running.expected_duration <= window.start:
                    continue  # expected to finish before the window opens
                detail = (
                    f"running now; usually takes {length(running.expected_duration)}, "
                    "so it may still be running when the window opens"
                )
            elif running.started_at is None:
                detail = "starting now (dispatched, not yet running); it may run into the window"
            else:
                detail = "running now; no history says when it will finish"
            add(
                running.task,
                ConflictKind.RUNNING_AT_START,
                running.started_at,
                detail,
                running.expected_duration,
            )

    final = []
    for key, conflict in conflicts.items():
        n = counts[key]
        if conflict.kind is ConflictKind.STARTS_IN_WINDOW and n > 1:
            runs = (
                f"{n} predicted runs in the window"
                if conflict.predicted
                else f"{n} runs in the window"
            )
            detail = f"{runs}; {conflict.detail}" if conflict.detail else runs
            conflict = conflict.model_copy(update={"detail": detail, "runs_in_window": n})
        final.append(conflict)

    far_future = window.end + timedelta(days=3650)
    final.sort(
        key=lambda c: (
            c.at if c.at is not None else far_future,
            _KIND_ORDER[c.kind],
            c.system,
            c.task_name.lower(),
            c.task_id,
        )
    )
    return ConflictReport(
        window=window,
        checked_at=now,
        systems=tuple(s.result for s in snapshots),
        conflicts=tuple(final),
    )


Indexed = tuple[int, Conflict]
"""A conflict with its index in the report (what the report's buttons carry)."""


@dataclass(frozen=True)
class SystemGroup:
    """One system's part of a report, in the order a reader acts on it.

    ``act``: runs with a known time (running at the start, may overlap, starting in the
    window), in the report's time order; ``unknown``: active tasks that may fire at a time
    the vendor does not expose (shown as one line until asked for); ``held``: tasks already
    paused or stopped, which run only if someone resumes or restarts them."""

    system: SystemResult
    act: tuple[Indexed, ...] = ()
    unknown: tuple[Indexed, ...] = ()
    held: tuple[Indexed, ...] = ()

    @property
    def count(self) -> int:
        return len(self.act) + len(self.unknown) + len(self.held)


def group_report(report: ConflictReport) -> tuple[SystemGroup, ...]:
    """The report by system (in the order the systems were checked), each split into what
    to act on, what may fire at an unknown time and what is already paused or stopped."""
    groups = []
    for system in report.systems:
        mine = [(i, c) for i, c in enumerate(report.conflicts) if c.system == system.system]
        groups.append(
            SystemGroup(
                system=system,
                # What is running at the start first, then what starts later; the sort is
                # stable, so each keeps the report's time order.
                act=tuple(
                    sorted(
                        (
                            (i, c)
                            for i, c in mine
                            if not c.paused and c.kind is not ConflictKind.MAY_FIRE
                        ),
                        key=lambda row: _KIND_ORDER[row[1].kind],
                    )
                ),
                unknown=tuple(
                    (i, c) for i, c in mine if not c.paused and c.kind is ConflictKind.MAY_FIRE
                ),
                held=tuple((i, c) for i, c in mine if c.paused),
            )
        )
    return tuple(groups)


def common_reason(conflicts: Sequence[Conflict]) -> str | None:
    """The reason shared by every one of ``conflicts`` (their details up to the first
    ``;``), for the one line that stands for them all; ``None`` when they differ."""
    reasons = {c.detail.split(";", 1)[0].strip() for c in conflicts}
    return reasons.pop() if len(reasons) == 1 and "" not in reasons else None
