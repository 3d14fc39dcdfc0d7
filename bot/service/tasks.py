"""Which tasks a person means: ``all``, ``SYSTEM:ID,...`` (or ``SYSTEM:KIND:ID``), or the
ones a check finds colliding with a window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.check import Scheduler
from bot.errors import ConfigError, LifecycleError
from bot.model import ConflictReport, Task, TaskKind, TaskRef

__all__ = ["TaskChoice", "colliding", "every_active", "named", "parse_task_items"]

TaskChoice = tuple[TaskRef, str]


def colliding(
    report: ConflictReport, *, allow_empty: bool = False
) -> tuple[list[TaskChoice], list[str]]:
    """The active tasks with a run in the report's window, and a warning per system that
    could not be checked (its tasks cannot be among them). None is a LifecycleError unless
    ``allow_empty`` (an occurrence of a series may have nothing to pause)."""
    warnings = [
        f"{s.system} could not be checked ({s.error}); its tasks are not in this window "
        "(name them with --tasks)"
        for s in report.systems
        if not s.ok
    ]
    found = {c.ref.key: (c.ref, c.task_name) for c in report.active}
    if not found and not allow_empty:
        raise LifecycleError(
            "No active task has a run in this window, so there is nothing to pause; name "
            "tasks with --tasks SYSTEM:ID (or --tasks all)."
        )
    return list(found.values()), warnings


async def every_active(schedulers: Sequence[Scheduler]) -> list[TaskChoice]:
    found: list[TaskChoice] = []
    for scheduler in schedulers:
        if scheduler.connector is None:
            raise ConfigError(f"{scheduler.name}: {scheduler.error}")
        tasks = await scheduler.connector.list_tasks()
        found += [(t.ref, t.name) for t in tasks if not t.paused]
    if not found:
        raise LifecycleError("No configured scheduler has an active task to pause.")
    return found


def parse_task_items(
    spec: str, systems: Sequence[str], *, option: str = "--tasks"
) -> list[tuple[str, TaskKind | None, str, str]]:
    """``SYSTEM:ID`` / ``SYSTEM:KIND:ID`` items, comma-separated: (system, kind, id, item)."""
    wanted: list[tuple[str, TaskKind | None, str, str]] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        system, _, rest = item.partition(":")
        kind: TaskKind | None = None
        head, sep, tail = rest.partition(":")
        if sep and head in {k.value for k in TaskKind}:
            kind, rest = TaskKind(head), tail
        if not system or not rest:
            raise LifecycleError(
                f"{option} item {item!r} is not SYSTEM:ID or SYSTEM:KIND:ID; e.g. "
                f"{option} talend:5f1c…,bmc:etl:101"
            )
        if system not in systems:
            raise LifecycleError(
                f"{option} item {item!r}: no scheduler named {system!r} is configured "
                f"(configured: {', '.join(sorted(systems)) or 'none'})"
            )
        wanted.append((system, kind, rest, item))
    if not wanted:
        raise LifecycleError(f"{option} is empty; give SYSTEM:ID items or 'all'")
    return wanted


async def named(
    spec: str, schedulers: Sequence[Scheduler], *, option: str = "--tasks"
) -> list[Task]:
    """The tasks ``spec`` names, as their schedulers list them (each exactly one)."""
    by_name = {s.name: s for s in schedulers}
    listed: dict[str, list[Any]] = {}
    found: list[Task] = []
    for system, kind, task_id, item in parse_task_items(spec, list(by_name), option=option):
        scheduler = by_name[system]
        if scheduler.connector is None:
            raise ConfigError(f"{system}: {scheduler.error}")
        if system not in listed:
            listed[system] = await scheduler.connector.list_tasks()
        matches = [
            t for t in listed[system] if t.id == task_id and (kind is None or t.kind is kind)
        ]
        if not matches:
            raise LifecycleError(
                f"{option} item {item!r}: {system} has no task with id {task_id!r}; "
                "`maintbot check` shows task ids, or use --tasks all"
            )
        if len(matches) > 1:
            kinds = ", ".join(f"{system}:{t.kind.value}:{task_id}" for t in matches)
            raise LifecycleError(f"{option} item {item!r} is ambiguous; write one of {kinds}")
        found.append(matches[0])
    return found
