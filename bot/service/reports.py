"""A conflict report as stored for paging and for the buttons and verbs that act on it.

Buttons carry only ``{check id, page}`` or ``{check id, conflict index}``; everything they
act on is read back from here, so a forged button value can at most point at another stored
row, never name a task of its own choosing.

The report is stored as the pydantic model dumps it and read back by the same model, so
there is one shape of a report, not a second one for storage. Whose pause each paused task
carried at the time of the check (see :func:`bot.service.pauses.pause_notes`) is stored
with it, so every page shows the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from bot.errors import MaintbotError, StoreError
from bot.model import Conflict, ConflictReport, SystemResult, Window
from bot.render import PauseNote, vendor_note
from bot.service.pauses import pause_notes
from bot.store import Store

__all__ = ["StoredCheck", "load_check", "save_check"]

# 2: the report as ConflictReport dumps it (1 was check --json's shape, read field by field).
_VERSION = 2

_PAUSES = TypeAdapter(dict[str, PauseNote])


@dataclass(frozen=True)
class StoredCheck:
    id: str
    user: str | None
    channel: str | None
    report: ConflictReport
    pauses: dict[str, PauseNote]

    @property
    def window(self) -> Window:
        return self.report.window

    @property
    def checked_at(self) -> datetime:
        return self.report.checked_at

    @property
    def systems(self) -> tuple[SystemResult, ...]:
        return self.report.systems

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        return self.report.conflicts

    @property
    def active(self) -> tuple[Conflict, ...]:
        return self.report.active

    def pause(self, conflict: Conflict) -> PauseNote | None:
        """Whose pause ``conflict``'s task carried at the check (``None``: not paused)."""
        if not conflict.paused:
            return None
        return self.pauses.get(conflict.ref.key) or vendor_note(conflict)

    def conflict(self, index: object) -> Conflict:
        if not isinstance(index, int) or not 0 <= index < len(self.conflicts):
            raise MaintbotError("That button points at a row this report does not have.")
        return self.conflicts[index]


def save_check(
    store: Store, report: ConflictReport, *, user: str | None, channel: str | None
) -> StoredCheck:
    pauses = pause_notes(report.conflicts, store)
    envelope: dict[str, Any] = {
        "v": _VERSION,
        "user": user,
        "channel": channel,
        # The window's duration is computed from its ends, not a field to read back.
        "report": report.model_dump(mode="json", exclude={"window": {"duration"}}),
        "pauses": _PAUSES.dump_python(pauses, mode="json"),
    }
    check_id = store.save_check(envelope, user_id=user)
    return StoredCheck(check_id, user, channel, report, pauses)


def load_check(store: Store, check_id: object) -> StoredCheck:
    if not isinstance(check_id, str):
        raise MaintbotError("That button does not name a stored report; run the check again.")
    try:
        data = store.get_check(check_id)
    except StoreError:
        raise MaintbotError(
            "That report is no longer stored; run `/maintenance check` again."
        ) from None
    if data.get("v") != _VERSION:
        raise MaintbotError("That report was made by another version of the bot; run it again.")
    return StoredCheck(
        id=check_id,
        user=data.get("user"),
        channel=data.get("channel"),
        report=ConflictReport.model_validate(data["report"]),
        pauses=_PAUSES.validate_python(data.get("pauses") or {}),
    )
