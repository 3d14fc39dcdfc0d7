"""``suggest``'s application side: read the request, make one check over the whole range,
rank its slots (:mod:`bot.suggest`), and store each candidate's own report so that "Plan
this" and ``maintbot report`` read exactly what was shown.

Fail safe: a system that did not answer is a warning on the suggestion, and every
candidate says it does not account for that system; when no system answered there is
nothing to rank, and that is an error rather than a week of "quiet" slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final

from bot.errors import MaintbotError
from bot.format import length
from bot.model import ConflictReport, Window
from bot.service.reports import StoredCheck, save_check
from bot.store import Store
from bot.suggest import (
    DEFAULT_RANGE,
    Candidate,
    Ranking,
    candidate_report,
    check_length,
    check_range,
)
from bot.windows import parse_length, parse_window, resolve_zone

__all__ = ["Suggestion", "read_request", "store_candidates", "unanswered", "warnings_of"]

# The grammar's own bound on a window is a maintenance window's (14 days); a range may be
# longer, and :func:`bot.suggest.check_range` refuses one past its own bound with words
# about ranges. This only keeps absurd texts from being read at all.
_READ_BOUND: Final = timedelta(days=366)


@dataclass(frozen=True)
class Suggestion:
    """The ranking, each candidate's stored report (same order), and what it could not
    account for."""

    ranking: Ranking
    checks: tuple[StoredCheck, ...]
    warnings: tuple[str, ...]

    @property
    def best(self) -> tuple[tuple[Candidate, StoredCheck], ...]:
        return tuple(zip(self.ranking.candidates, self.checks, strict=True))


# A range only `suggest` takes: the window grammar has no "this week" (a week is no
# maintenance window), but as where to look it plainly means from now to the week's end.
_THIS_WEEK = frozenset({"this week", "rest of the week", "the rest of the week"})


def _rest_of_week(tz: str, now: datetime, text: str) -> Window:
    """From ``now`` to the next Monday 00:00 on the wall clock of ``tz`` (ISO weeks)."""
    zone = resolve_zone(tz)
    local = now.astimezone(zone)
    monday = local.date() + timedelta(days=7 - local.weekday())
    end = datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)
    return Window(start=now, end=end, tz=tz, text=text)


def read_request(
    slot_text: str | timedelta, within: str | None, *, tz: str, now: datetime
) -> tuple[timedelta, Window]:
    """The slot's length and the range still ahead (default: the next seven days), both
    checked before any scheduler is asked (:class:`~bot.errors.WindowError`)."""
    slot = parse_length(slot_text) if isinstance(slot_text, str) else slot_text
    check_length(slot)
    if within is not None and " ".join(within.lower().split()) in _THIS_WEEK:
        span = _rest_of_week(tz, now, within.strip())
    elif within is not None and within.strip():
        span = parse_window(within, tz=tz, now=now, max_length=_READ_BOUND)
    else:
        resolve_zone(tz)  # an unknown zone is refused with its own message
        span = Window(
            start=now, end=now + DEFAULT_RANGE, tz=tz, text=f"the next {length(DEFAULT_RANGE)}"
        )
    return slot, check_range(span, slot, now)


def unanswered(report: ConflictReport) -> None:
    """Refuse to rank when no system answered: every slot would look quiet."""
    if not any(s.ok for s in report.systems):
        reasons = "; ".join(f"{s.system}: {s.error or 'no answer'}" for s in report.systems)
        raise MaintbotError(
            "No scheduler answered, so no slot can be called quieter than another"
            + (f" ({reasons})" if reasons else " (none is configured)")
            + ". Try again when they answer."
        )


def warnings_of(ranking: Ranking) -> tuple[str, ...]:
    return tuple(
        f"{s.label} ({s.system}) did not answer ({s.error or 'no answer'}): no slot accounts "
        "for its runs"
        for s in ranking.unchecked
    )


def store_candidates(
    store: Store,
    ranking: Ranking,
    report: ConflictReport,
    *,
    by: str,
    channel: str | None,
) -> tuple[StoredCheck, ...]:
    """Each candidate's report, stored like a check's (its id is what "Plan this" carries)."""
    return tuple(
        save_check(store, candidate_report(ranking, c, report), user=by, channel=channel)
        for c in ranking.candidates
    )
