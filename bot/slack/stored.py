"""A conflict report as stored for paging and for the buttons that act on it.

Buttons carry only ``{check id, page}`` or ``{check id, conflict index}``; everything they
act on is read back from here, so a forged button value can at most point at another stored
row, never name a task of its own choosing.

Whose pause each paused task carried at the time of the check (see
:func:`bot.actions.pause_notes`) is stored with it, so every page shows the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.actions import pause_notes
from bot.errors import MaintbotError, StoreError
from bot.model import Conflict, ConflictKind, ConflictReport, TaskKind, Window
from bot.render import PauseNote, PauseOwner, vendor_note
from bot.store import Store

__all__ = ["StoredCheck", "SystemLine", "load_check", "save_check"]

_VERSION = 1


@dataclass(frozen=True)
class SystemLine:
    system: str
    label: str
    vendor: str
    ok: bool
    error: str | None


@dataclass(frozen=True)
class StoredCheck:
    id: str
    user: str | None
    channel: str | None
    window: Window
    checked_at: datetime
    systems: tuple[SystemLine, ...]
    conflicts: tuple[Conflict, ...]
    pauses: dict[str, PauseNote]

    def pause(self, conflict: Conflict) -> PauseNote | None:
        """Whose pause ``conflict``'s task carried at the check (``None``: not paused)."""
        if not conflict.paused:
            return None
        return self.pauses.get(conflict.ref.key) or vendor_note(conflict)

    def conflict(self, index: object) -> Conflict:
        if not isinstance(index, int) or not 0 <= index < len(self.conflicts):
            raise MaintbotError("That button points at a row this report does not have.")
        return self.conflicts[index]

    @property
    def active(self) -> tuple[Conflict, ...]:
        return tuple(c for c in self.conflicts if not c.paused)


def save_check(
    store: Store, report: ConflictReport, *, user: str | None, channel: str | None
) -> StoredCheck:
    envelope = {
        "v": _VERSION,
        "user": user,
        "channel": channel,
        "text": report.window.text,
        "checked_at": report.checked_at.isoformat(),
        "report": report.to_json(),
        "pauses": {
            key: {
                "owner": note.owner,
                "by": note.by,
                "at": note.at.isoformat() if note.at else None,
                "reason": note.reason,
                "window_id": note.window_id,
            }
            for key, note in pause_notes(report.conflicts, store).items()
        },
    }
    check_id = store.save_check(envelope, user_id=user)
    return _parse(check_id, envelope)


def load_check(store: Store, check_id: object) -> StoredCheck:
    if not isinstance(check_id, str):
        raise MaintbotError("That button does not name a stored report; run the check again.")
    try:
        data = store.get_check(check_id)
    except StoreError:
        raise MaintbotError(
            "That report is no longer stored; run `/maintenance check` again."
        ) from None
    return _parse(check_id, data)


def _parse(check_id: str, data: dict[str, Any]) -> StoredCheck:
    if data.get("v") != _VERSION:
        raise MaintbotError("That report was made by another version of the bot; run it again.")
    report = data["report"]
    raw_window = report["window"]
    window = Window(
        start=datetime.fromisoformat(raw_window["start"]),
        end=datetime.fromisoformat(raw_window["end"]),
        tz=raw_window["tz"],
        text=data.get("text") or "",
        notes=tuple(raw_window.get("notes") or ()),
    )
    systems = tuple(
        SystemLine(
            system=s["system"],
            label=s.get("name") or s["system"],
            vendor=s.get("vendor") or "",
            ok=bool(s["ok"]),
            error=s.get("error"),
        )
        for s in report["systems"]
    )
    conflicts = tuple(
        Conflict(
            system=c["system"],
            task_id=c["task_id"],
            task_kind=TaskKind(c["task_kind"]),
            task_name=c["task_name"],
            kind=ConflictKind(c["kind"]),
            at=datetime.fromisoformat(c["at"]) if c["at"] else None,
            paused=bool(c["paused"]),
            detail=c.get("detail") or "",
            paused_by=c.get("paused_by"),
            pause_reason=c.get("pause_reason"),
            paused_at=_instant(c.get("paused_at")),
        )
        for c in report["conflicts"]
    )
    pauses = {
        str(key): PauseNote(
            owner=_owner(raw.get("owner")),
            by=raw.get("by"),
            at=_instant(raw.get("at")),
            reason=raw.get("reason"),
            window_id=raw.get("window_id"),
        )
        for key, raw in (data.get("pauses") or {}).items()
        if isinstance(raw, dict)
    }
    return StoredCheck(
        id=check_id,
        user=data.get("user"),
        channel=data.get("channel"),
        window=window,
        checked_at=datetime.fromisoformat(data["checked_at"]),
        systems=systems,
        conflicts=conflicts,
        pauses=pauses,
    )


def _instant(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


_OWNERS: tuple[PauseOwner, ...] = ("window", "pause_now", "other", "unknown")


def _owner(value: object) -> PauseOwner:
    for owner in _OWNERS:
        if value == owner:
            return owner
    return "unknown"
