"""How far the check looks back before a window. Pure: the caller brings what the store
remembers (the longest run length seen on the system, when it last looked back in full).

A run that started before the window matters only if it may still be running when the
window opens, so looking back further than the longest run any of the system's tasks takes
finds nothing more; at scale that is most of the cost (Talend pages its event search over
the whole span). The configured look-back stays the ceiling and the fallback, and is used
in full at least once a day, so a task that has started to run long, or a new long task, is
learnt before a shorter look-back could miss it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.format import length
from bot.model import TaskRef

__all__ = [
    "FULL_LOOKBACK_EVERY",
    "LOOKBACK_MARGIN",
    "LOOKBACK_SAFETY",
    "Lookback",
    "RunLengths",
    "choose_lookback",
]

# Room on top of the longest known run: a p90 that grows between two full look-backs, or a
# run slower than its history (the conflict itself is still judged by the p90).
LOOKBACK_SAFETY = 1.5
LOOKBACK_MARGIN = timedelta(minutes=30)
# A full configured look-back at least this often, to learn tasks that have started to
# run long, or that are new.
FULL_LOOKBACK_EVERY = timedelta(days=1)


class RunLengths(Protocol):
    """Where run lengths seen by checks are remembered (the store)."""

    def record_run_lengths(
        self, lengths: list[tuple[TaskRef, timedelta]], *, now: datetime
    ) -> None: ...

    def longest_run(self, system: str, *, now: datetime) -> timedelta | None: ...

    def mark_full_lookback(self, system: str, at: datetime) -> None: ...

    def full_lookback_at(self, system: str) -> datetime | None: ...


@dataclass(frozen=True)
class Lookback:
    """The look-back one check uses: ``span`` before the window; ``full`` when it is the
    configured one; ``note`` says why it is shorter, for the report."""

    span: timedelta
    full: bool
    note: str | None = None


def choose_lookback(
    configured: timedelta,
    longest: timedelta | None,
    full_at: datetime | None,
    now: datetime,
) -> Lookback:
    """The look-back for a check at ``now``: ``configured``, unless the system had a full
    look-back within :data:`FULL_LOOKBACK_EVERY` (``full_at``) and a longest run is known
    (``longest``), in which case that run with room to spare, if shorter. A ``full_at`` in
    the future (a clock set back) or a length that is not positive counts as unknown."""
    full = Lookback(configured, full=True)
    if longest is None or longest <= timedelta(0) or full_at is None:
        return full
    if not now - FULL_LOOKBACK_EVERY < full_at <= now:
        return full
    span = longest * LOOKBACK_SAFETY + LOOKBACK_MARGIN
    if span >= configured:
        return full
    note = (
        f"looked back {length(span)} before the window (its longest known run, "
        f"{length(longest)}, with room to spare) instead of the configured {length(configured)}"
    )
    return Lookback(span, full=False, note=note)
