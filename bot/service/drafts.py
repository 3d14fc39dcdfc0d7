"""A window being planned in a dialog: the text as read so far, every task a person could
pick (with the vendor's groupings and whether it collides with the window), and nothing
saved as a window until the person submits.

A draft lives in the store (``kv``) so any replica can answer the dialog's next request,
and so what is submitted is checked against what was offered: a task key that was never
in the draft cannot be planned through it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from bot.errors import MaintbotError
from bot.model import ConflictKind, ConflictReport, Task, TaskKind, TaskRef, Window
from bot.store import Store

__all__ = [
    "Draft",
    "DraftError",
    "DraftTask",
    "Filter",
    "draft_tasks",
    "load_draft",
    "new_draft_id",
    "refs_of",
    "save_draft",
    "shown",
]

_KEY = "draft:"


class DraftError(MaintbotError):
    """The dialog refers to a draft that is gone or someone else's."""


@dataclass(frozen=True)
class DraftTask:
    system: str
    kind: str
    id: str
    name: str
    groups: tuple[tuple[str, str], ...] = ()
    paused: bool = False
    # Why it collides with the window ("" when it does not): the conflict kind's value.
    conflict: str = ""
    at: str | None = None  # ISO instant of the colliding run, when known

    @property
    def ref(self) -> TaskRef:
        return TaskRef(system=self.system, kind=TaskKind(self.kind), id=self.id)

    @property
    def key(self) -> str:
        return self.ref.key

    @property
    def active_conflict(self) -> bool:
        """What a plan from the report would pause: it collides and is not paused."""
        return bool(self.conflict) and not self.paused


@dataclass(frozen=True)
class Draft:
    id: str
    by: str
    tz: str
    text: str
    channel: str
    start: str | None = None  # ISO instants of the window as read; None when unreadable
    end: str | None = None
    error: str | None = None  # why the text could not be read
    check_id: str | None = None
    systems: tuple[str, ...] = ()  # every configured scheduler
    unanswered: tuple[tuple[str, str], ...] = ()  # (system, error) of those that failed
    tasks: tuple[DraftTask, ...] = ()
    revision: int = 0
    # Editing a window (its id) rather than planning a new one; ``planned`` are its tasks'
    # keys when the dialog opened (pre-ticked, and what an untick removes).
    editing: str | None = None
    planned: tuple[str, ...] = ()
    # Moves on whenever the window is read anew (typed, or picked with the date pickers):
    # the dialog's window fields carry it in their block ids so they show the new value.
    when: int = 0

    def window(self) -> Window | None:
        if self.start is None or self.end is None:
            return None
        return Window(
            start=datetime.fromisoformat(self.start),
            end=datetime.fromisoformat(self.end),
            tz=self.tz,
            text=self.text,
        )

    def task(self, key: str) -> DraftTask | None:
        return next((t for t in self.tasks if t.key == key), None)

    def groups(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """system → grouping kind → the values its tasks carry, sorted."""
        found: dict[str, dict[str, set[str]]] = {}
        for task in self.tasks:
            for kind, value in task.groups:
                found.setdefault(task.system, {}).setdefault(kind, set()).add(value)
        return {
            system: {kind: tuple(sorted(values)) for kind, values in sorted(kinds.items())}
            for system, kinds in sorted(found.items())
        }


@dataclass(frozen=True)
class Filter:
    """What the dialog's scope fields narrow the draft to (empty: everything)."""

    systems: frozenset[str] = frozenset()
    groups: frozenset[tuple[str, str, str]] = frozenset()  # (system, kind, value)
    name: str = ""


def shown(draft: Draft, scope: Filter) -> list[DraftTask]:
    """The draft's tasks the scope keeps: in one of the systems (if any are chosen), with
    one of the groupings (if any are chosen for that system), and with the name text in
    their name. Colliding tasks first, then by system and name."""
    needle = scope.name.strip().casefold()
    grouped = {system for system, _kind, _value in scope.groups}
    kept = []
    for task in draft.tasks:
        if scope.systems and task.system not in scope.systems:
            continue
        if task.system in grouped and not any(
            (task.system, kind, value) in scope.groups for kind, value in task.groups
        ):
            continue
        if needle and needle not in task.name.casefold():
            continue
        kept.append(task)
    return sorted(kept, key=lambda t: (not t.active_conflict, t.paused, t.system, t.name.lower()))


def draft_tasks(listed: Iterable[Task], report: ConflictReport | None) -> tuple[DraftTask, ...]:
    """Every listed task once, marked with its earliest collision in ``report``."""
    order = {
        ConflictKind.RUNNING_AT_START: 0,
        ConflictKind.STARTS_IN_WINDOW: 1,
        ConflictKind.MAY_OVERLAP: 2,
        ConflictKind.MAY_FIRE: 3,
    }
    collisions: dict[str, tuple[str, str | None]] = {}
    conflicts = sorted(report.conflicts, key=lambda c: order[c.kind]) if report else []
    for conflict in conflicts:
        at = conflict.at.isoformat() if conflict.at is not None else None
        collisions.setdefault(conflict.ref.key, (conflict.kind.value, at))
    tasks: dict[str, DraftTask] = {}
    for task in listed:
        kind, at = collisions.get(task.ref.key, ("", None))
        tasks.setdefault(
            task.ref.key,
            DraftTask(
                system=task.system,
                kind=task.kind.value,
                id=task.id,
                name=task.name,
                groups=tuple(task.groups),
                paused=task.paused,
                conflict=kind,
                at=at,
            ),
        )
    # A colliding task its scheduler did not list (a plan step, say) is still offered.
    for conflict in conflicts:
        key = conflict.ref.key
        if key not in tasks:
            kind, at = collisions[key]
            tasks[key] = DraftTask(
                system=conflict.system,
                kind=conflict.task_kind.value,
                id=conflict.task_id,
                name=conflict.task_name,
                groups=tuple(conflict.groups),
                paused=conflict.paused,
                conflict=kind,
                at=at,
            )
    return tuple(tasks.values())


def new_draft_id() -> str:
    return "d_" + secrets.token_urlsafe(9)


def save_draft(store: Store, draft: Draft) -> None:
    store.set_kv(_KEY + draft.id, json.dumps(asdict(draft), separators=(",", ":")))


def load_draft(store: Store, draft_id: object, *, by: str) -> Draft:
    raw = store.get_kv(_KEY + draft_id) if isinstance(draft_id, str) and draft_id else None
    if raw is None:
        raise DraftError(
            "This dialog's draft is gone (the bot's database was reset?); close it and open "
            "the plan dialog again."
        )
    data = json.loads(raw)
    draft = Draft(
        **{
            **data,
            "systems": tuple(data["systems"]),
            "planned": tuple(data.get("planned") or ()),
            "unanswered": tuple(tuple(u) for u in data["unanswered"]),
            "tasks": tuple(
                DraftTask(**{**t, "groups": tuple(tuple(g) for g in t["groups"])})
                for t in data["tasks"]
            ),
        }
    )
    if draft.by != by:
        raise DraftError("This dialog was opened by someone else; open your own to plan.")
    return draft


def refs_of(draft: Draft, keys: Sequence[str]) -> list[tuple[TaskRef, str]]:
    """The chosen keys as (ref, name), each once; a key the draft never offered is refused."""
    chosen: dict[str, tuple[TaskRef, str]] = {}
    for key in keys:
        task = draft.task(key)
        if task is None:
            raise DraftError("A ticked task is not one this dialog offered; open it again.")
        chosen.setdefault(key, (task.ref, task.name))
    return list(chosen.values())
