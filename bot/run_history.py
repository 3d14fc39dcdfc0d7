"""Runs at an unknown time, turned into predicted runs where history shows a pattern. Pure:
the caller brings the history (the vendor's, and for schedulers that keep none, what the
store recorded) and ``now``.

A run the vendor gives a time for is never touched, so a vendor fact is never marked
predicted. A predicted run carries ``predicted=True`` and says in its note what it was
predicted from; a task whose history shows no pattern stays a run at an unknown time, its
note extended with why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.model import Conflict, ConflictKind, PredictedStart, Run, RunningNow, TaskRef
from bot.predict import predict

__all__ = ["RunHistory", "predict_runs", "predicted_starts", "seen_starts"]


class RunHistory(Protocol):
    """Where run starts are kept for schedulers that keep no history (the store)."""

    def record_run_starts(
        self, starts: Sequence[tuple[TaskRef, datetime]], *, now: datetime
    ) -> int: ...

    def run_starts(self, system: str) -> dict[str, list[datetime]]: ...


def seen_starts(
    runs: Sequence[Run], running: Sequence[RunningNow]
) -> list[tuple[TaskRef, datetime]]:
    """The run starts a scheduler's answers show: the past starts its runs carry and the
    start of each run in progress (what a scheduler that keeps no history lets the bot
    keep for it)."""
    seen = [(r.task, at) for r in runs for at in r.history]
    seen += [(r.task, r.started_at) for r in running if r.started_at is not None]
    return seen


def predict_runs(
    runs: Sequence[Run],
    *,
    zone: str,
    now: datetime,
    start: datetime,
    end: datetime,
    shown_in: str,
    recorded: Mapping[str, Sequence[datetime]] | None = None,
    opens: datetime | None = None,
) -> list[Run]:
    """``runs`` with each one at an unknown time replaced by its predicted starts in
    ``[start, end)`` (none: the pattern puts no run there), or kept unknown with the reason.
    ``zone``: the scheduler's wall clock; ``shown_in``: the zone the notes' times are
    written in (the window's).

    ``opens``, the window's start: a predicted start before it is kept only if the run's
    expected duration reaches the window (the conflict finder ignores the rest). Without
    it an every-15-minutes schedule over a 12-hour look-back made 48 runs of which two or
    three could matter; at scale 100 that was 59,000 predicted runs and 1.5 s of CPU in
    one go, a stall of the event loop that held up every other vendor and Slack ack."""
    result: list[Run] = []
    for run in runs:
        if run.at is not None or run.predicted:
            result.append(run)
            continue
        history = [*run.history, *(recorded or {}).get(run.task.key, ())]
        if not history:
            result.append(run)
            continue
        # The vendor's own word on the schedule's zone beats the configured one: a 02:30
        # job in Berlin stays 02:30 Berlin across a clock change whatever the config says.
        found = predict(history, run.zone or zone, now)
        if found.pattern is None:
            why = found.describe()
            note = f"{run.note}; {why}" if run.note else why
            result.append(run.model_copy(update={"note": note}))
            continue
        first = start
        if opens is not None:
            first = max(start, opens - (run.expected_duration or timedelta(0)))
        for at in found.starts(first, end):
            result.append(
                Run(
                    task=run.task,
                    at=at,
                    expected_duration=run.expected_duration,
                    note=f"{found.describe(at, shown_in)}, predicted from run history"
                    + (f" (the schedule's zone: {run.zone})" if run.zone else ""),
                    predicted=True,
                    basis=found.basis,
                )
            )
    return result


def predicted_starts(conflicts: Iterable[Conflict]) -> dict[str, list[PredictedStart]]:
    """The predicted run times among ``conflicts`` that start in the window, by task key:
    what a plan keeps so the end of its window can tell whether they held. A run predicted
    before the window that may still be going is no claim about a run *in* it: left out."""
    found: dict[str, list[PredictedStart]] = {}
    for conflict in conflicts:
        if not conflict.predicted or conflict.at is None:
            continue
        if conflict.kind is not ConflictKind.STARTS_IN_WINDOW:
            continue
        found.setdefault(conflict.ref.key, []).append(
            PredictedStart(
                at=conflict.at,
                basis=conflict.basis,
                runs=conflict.runs_in_window,
            )
        )
    return found
