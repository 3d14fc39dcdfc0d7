"""The audit trail as people read it: filtered by window, person, system and time, with
task names beside their ids, and each vendor call on one line.

The store keeps an ``attempt`` row before every vendor call and an outcome row after it,
so a call that never came back is still on record; a reader wants one line per call, so
the readable trail folds each attempt into its outcome (and says when one has none).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import overload

from bot.errors import FilterError, WindowError
from bot.model import AuditRow
from bot.store import Store
from bot.windows import parse_length, resolve_zone

__all__ = ["AuditEntry", "AuditFilters", "AuditTrail", "parse_moment", "read_trail"]

ATTEMPT = "attempt"
_EXAMPLES = (
    "an ISO time (2026-11-18T09:00 or 2026-11-18T09:00+01:00), a date (2026-11-18) "
    "or how long ago (2h, 3 days)"
)


@dataclass(frozen=True)
class AuditFilters:
    """What the reader asked for; ``None`` means any."""

    window_id: str | None = None
    actor: str | None = None
    system: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> str:
        """The filters in words (``window w_1, by alice, since …``), for titles and for an
        empty result."""
        parts = []
        if self.window_id:
            parts.append(f"window {self.window_id}")
        if self.actor:
            parts.append(f"by {self.actor}")
        if self.system:
            parts.append(f"system {self.system}")
        if self.since:
            parts.append(f"since {self.since.isoformat()}")
        if self.until:
            parts.append(f"until {self.until.isoformat()}")
        return ", ".join(parts)


@dataclass(frozen=True)
class AuditEntry:
    """One line of the readable trail: an outcome row and the attempt it closes (if the
    store has one), or an attempt that has no outcome yet (``row.outcome == "attempt"``)."""

    row: AuditRow
    attempt: AuditRow | None = None
    task_name: str | None = None

    @property
    def unanswered(self) -> bool:
        """A vendor call that was made and never answered (in flight, or the bot died)."""
        return self.row.outcome == ATTEMPT


@dataclass(frozen=True)
class AuditTrail(Collection[AuditRow]):
    """The rows matching ``filters``, newest first, as the store keeps them (iterating the
    trail gives them), and ``entries``: the same trail folded for reading."""

    rows: tuple[AuditRow, ...]
    entries: tuple[AuditEntry, ...]
    filters: AuditFilters = field(default_factory=AuditFilters)
    names: dict[tuple[str, str], str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[AuditRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, item: object) -> bool:
        return item in self.rows

    def __reversed__(self) -> Iterator[AuditRow]:
        return reversed(self.rows)

    @overload
    def __getitem__(self, index: int) -> AuditRow: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[AuditRow, ...]: ...
    def __getitem__(self, index: int | slice) -> AuditRow | tuple[AuditRow, ...]:
        return self.rows[index]

    def name(self, row: AuditRow) -> str | None:
        """The name of the task ``row`` acted on, where one is known."""
        return self.names.get((row.system or "", row.task_id or ""))

    def empty_text(self) -> str:
        """What an empty trail says: that nothing matches, and which filters."""
        described = self.filters.describe()
        if not described:
            return "The audit log is empty."
        return f"No audit rows match {described}."


def parse_moment(text: str, tz: str, now: datetime, *, option: str) -> datetime:
    """``--since``/``--until`` and Slack's ``since``: an ISO time (a time without an offset
    is read in ``tz``), a date (its midnight in ``tz``), or a length ago (``2h``)."""
    words = text.strip()
    zone = _zone(tz)
    try:
        moment = datetime.fromisoformat(words)
    except ValueError:
        moment = None
    if moment is not None:
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
    try:
        return datetime.combine(date.fromisoformat(words), time(0), tzinfo=zone)
    except ValueError:
        pass
    ago = re.sub(r"\s+ago$", "", words, flags=re.IGNORECASE)
    try:
        return now - parse_length(ago) if ago and not ago.isdigit() else _unread(option, words)
    except WindowError:
        return _unread(option, words)


def _unread(option: str, text: str) -> datetime:
    shown = text if len(text) <= 40 else text[:40] + "…"
    raise FilterError(f"{option} “{shown}” is not a time I can read; give {_EXAMPLES}.")


def _zone(tz: str) -> tzinfo:
    try:
        return resolve_zone(tz)
    except WindowError as exc:
        raise FilterError(f"--tz {tz}: {exc}") from None


def read_trail(
    store: Store, systems: Collection[str], limit: int, filters: AuditFilters
) -> AuditTrail:
    """The trail ``filters`` asks for. A filter that names nothing there is (a window
    never planned, a person or system never seen) is refused as such, rather than
    answered with an empty trail that looks like "nothing happened"."""
    _check(store, systems, filters)
    # Twice the rows: folded, each call's two rows become one entry.
    rows = store.audit_search(
        limit * 2,
        window_id=filters.window_id,
        actor=filters.actor,
        system=filters.system,
        since=filters.since,
        until=filters.until,
    )
    names = _names(store, rows)
    entries = fold(rows, names)[:limit]
    kept = {e.row.id for e in entries} | {e.attempt.id for e in entries if e.attempt}
    return AuditTrail(
        rows=tuple(r for r in rows if r.id in kept),
        entries=tuple(entries),
        filters=filters,
        names=names,
    )


def _check(store: Store, systems: Collection[str], filters: AuditFilters) -> None:
    if filters.since and filters.until and filters.since >= filters.until:
        raise FilterError(
            f"since {filters.since.isoformat()} is not before until "
            f"{filters.until.isoformat()}; swap them, or leave one out."
        )
    if filters.window_id and store.find_window(filters.window_id) is None:
        raise FilterError(
            f"There is no maintenance window {filters.window_id}; `maintbot windows` (or "
            "`/maintenance list`) shows their ids."
        )
    if filters.actor and not store.audit_search(1, actor=filters.actor):
        raise FilterError(
            f"Nobody called {filters.actor} appears in the audit trail; give the name as it "
            "is recorded (a Slack @mention, or the --by NAME the CLI was given)."
        )
    if (
        filters.system
        and filters.system not in systems
        and not store.audit_search(1, system=filters.system)
    ):
        known = ", ".join(sorted(systems)) or "none are configured"
        raise FilterError(f"There is no system called {filters.system} (configured: {known}).")


def _names(store: Store, rows: Collection[AuditRow]) -> dict[tuple[str, str], str]:
    """Each task's name: what its own rows recorded, else the name it was planned under."""
    ids = {r.task_id for r in rows if r.system and r.task_id}
    names = store.planned_task_names(ids) if ids else {}
    for row in rows:
        name = (row.detail or {}).get("name")
        if row.system and row.task_id and isinstance(name, str) and name:
            names[(row.system, row.task_id)] = name
    return names


def fold(rows: Collection[AuditRow], names: dict[tuple[str, str], str]) -> list[AuditEntry]:
    """Newest first, each attempt folded into the outcome that followed it for the same
    call (same person, action, task and window)."""
    open_calls: dict[tuple[object, ...], AuditRow] = {}
    entries: list[AuditEntry] = []
    for row in sorted(rows, key=lambda r: r.id):
        key = (row.actor, row.action, row.system, row.task_id, row.window_id)
        name = names.get((row.system or "", row.task_id or ""))
        if row.outcome == ATTEMPT:
            earlier = open_calls.pop(key, None)
            if earlier is not None:  # a second attempt before any outcome: the first is lost
                entries.append(AuditEntry(earlier, task_name=name))
            open_calls[key] = row
            continue
        entries.append(AuditEntry(row, open_calls.pop(key, None), name))
    entries.extend(
        AuditEntry(row, task_name=names.get((row.system or "", row.task_id or "")))
        for row in open_calls.values()
    )
    entries.sort(key=lambda e: e.row.id, reverse=True)
    return entries
