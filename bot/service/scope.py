"""A window's scope: which tasks a maintenance window is about, chosen by the schedulers'
own groupings (Talend workspaces and environments, Pyramid schedule types, Huawei task
types and projects: ``Task.groups``), a part of the name, and tasks left out or added.

:func:`select` is pure: from what each system listed and which tasks conflict with the
window, it makes the :class:`Candidates` (what the plan dialog shows, and ``maintbot
scope`` prints). :func:`gather` asks the schedulers (the check and a task listing per
system in scope, at once, each within its deadline) and hands the answers to
:func:`select`. ``Maintbot.candidates`` and ``Maintbot.plan(scope=...)`` are thin calls
over these.

How a scope reads:

* ``systems``: scheduler names (as configured); empty means every configured one.
* ``groups``: ``KIND=VALUE`` or ``SYSTEM:KIND=VALUE``, matched case-insensitively against
  the task's groups; a task matches if it has *any* of them. No groups: every task of the
  systems in scope.
* ``name``: a case-insensitive part of the task's name.
* ``exclude``: tasks left out, ``include``: tasks added even when no filter matches them
  (they must exist). Each is ``SYSTEM:ID``, ``SYSTEM:KIND:ID`` or a ``TaskRef.key``.

What a plan with a scope pauses (:meth:`Candidates.planned`): the matching tasks that
conflict with the window (one of the check's active conflicts), plus the included ones;
with ``every_active`` (``--tasks all``) every matching task that is not paused already.
A task already paused is shown and never planned. Each task counts once, however many of
its runs collide with the window.

Every spec that names nothing there is (a system, a group kind or value, a task) is a
:class:`~bot.errors.ScopeError` that lists what there is, so a typo is never read as
"nothing of that kind": a scope that matched silently less than it said would leave
tasks running through a window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.check import Scheduler, check_window
from bot.clock import Clock
from bot.connectors.base import deadline
from bot.errors import ConnectorError, ScopeError
from bot.lookback import RunLengths
from bot.metrics import Metrics
from bot.model import ConflictReport, Task, TaskKind, TaskRef, Window
from bot.run_history import RunHistory

__all__ = [
    "Candidate",
    "Candidates",
    "GroupSpec",
    "Listing",
    "Scope",
    "gather",
    "in_scope_systems",
    "list_system",
    "parse_group",
    "select",
]

Groups = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scope:
    """Which tasks a window is about (see the module's docstring)."""

    systems: tuple[str, ...] = ()  # scheduler names; empty = every configured one
    groups: tuple[str, ...] = ()  # "KIND=VALUE" or "SYSTEM:KIND=VALUE"; any of them
    name: str = ""  # case-insensitive part of the task name
    exclude: tuple[str, ...] = ()  # tasks to leave out
    include: tuple[str, ...] = ()  # tasks to add even if not matched (must exist)

    def to_json(self) -> dict[str, Any]:
        return {
            "systems": list(self.systems),
            "groups": list(self.groups),
            "name": self.name,
            "exclude": list(self.exclude),
            "include": list(self.include),
        }


@dataclass(frozen=True)
class Candidate:
    """A task in scope, and whether it conflicts with the window."""

    ref: TaskRef
    name: str
    groups: Groups
    paused: bool
    conflict: bool  # one of the window's active conflicts (what the report would plan)
    included: bool = False  # named by ``Scope.include``: planned whether it conflicts or not

    def planned(self, *, every_active: bool = False) -> bool:
        """Whether a plan with this scope pauses it (see the module's docstring)."""
        return not self.paused and (self.conflict or self.included or every_active)

    def to_json(self, *, every_active: bool = False) -> dict[str, Any]:
        return {
            "key": self.ref.key,
            "system": self.ref.system,
            "kind": self.ref.kind.value,
            "task_id": self.ref.id,
            "name": self.name,
            "groups": [{"kind": k, "value": v} for k, v in self.groups],
            "paused": self.paused,
            "conflict": self.conflict,
            "included": self.included,
            "planned": self.planned(every_active=every_active),
        }


@dataclass(frozen=True)
class Candidates:
    """The tasks a scope matches, once each: conflicts first, then by system and name."""

    tasks: tuple[Candidate, ...]
    # system -> kind -> the distinct values seen there (for the dialog's pickers)
    groups: dict[str, dict[str, tuple[str, ...]]]
    warnings: tuple[str, ...]  # systems that did not answer
    # Internal: the scope the candidates were chosen by (for messages and JSON).
    scope: Scope = field(default_factory=Scope, compare=False)

    def planned(self, *, every_active: bool = False) -> tuple[Candidate, ...]:
        return tuple(c for c in self.tasks if c.planned(every_active=every_active))

    def to_json(self, *, every_active: bool = False) -> dict[str, Any]:
        """The stable shape of ``maintbot scope --json`` (README, "maintbot scope")."""
        return {
            "scope": self.scope.to_json(),
            "mode": "all" if every_active else "conflicts",
            "tasks": [c.to_json(every_active=every_active) for c in self.tasks],
            "planned": len(self.planned(every_active=every_active)),
            "groups": {
                system: {kind: list(values) for kind, values in kinds.items()}
                for system, kinds in self.groups.items()
            },
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class GroupSpec:
    """One ``[SYSTEM:]KIND=VALUE``; ``system`` is ``None`` for every system in scope."""

    system: str | None
    kind: str
    value: str
    text: str

    def matches(self, system: str, groups: Groups) -> bool:
        if self.system is not None and self.system != system:
            return False
        kind, value = self.kind.casefold(), self.value.casefold()
        return any(k.casefold() == kind and v.casefold() == value for k, v in groups)


@dataclass(frozen=True)
class Listing:
    """What one system answered: its tasks, or why it could not be asked."""

    tasks: tuple[Task, ...] = ()
    error: str | None = None


def _listed(names: Sequence[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def parse_group(text: str, systems: Sequence[str]) -> GroupSpec:
    """``KIND=VALUE`` or ``SYSTEM:KIND=VALUE`` (``SYSTEM`` one of ``systems``)."""
    spec = text.strip()
    left, sep, value = spec.partition("=")
    example = "e.g. workspace=Finance or talend:environment=Production"
    if not sep:
        raise ScopeError(
            f"the group {spec!r} has no '='; write KIND=VALUE or SYSTEM:KIND=VALUE, {example}"
        )
    system: str | None = None
    head, colon, tail = left.partition(":")
    if colon:
        system, left = head.strip(), tail
        if system not in systems:
            raise ScopeError(
                f"the group {spec!r} names the system {system!r}, which is not configured "
                f"(configured: {_listed(systems)})"
            )
    kind, value = " ".join(left.split()), value.strip()
    if not kind or not value:
        raise ScopeError(f"the group {spec!r} needs both a kind and a value, {example}")
    return GroupSpec(system, kind, value, spec)


def _task_item(item: str, option: str, systems: Sequence[str]) -> tuple[str, TaskKind | None, str]:
    """``SYSTEM:ID``, ``SYSTEM:KIND:ID`` (a ``TaskRef.key``): (system, kind, id)."""
    text = item.strip()
    system, _, rest = text.partition(":")
    kind: TaskKind | None = None
    head, sep, tail = rest.partition(":")
    if sep and head in {k.value for k in TaskKind}:
        kind, rest = TaskKind(head), tail
    if not system or not rest:
        raise ScopeError(
            f"{option} {text!r} is not SYSTEM:ID or SYSTEM:KIND:ID; e.g. {option} talend:5f1c…"
        )
    if system not in systems:
        raise ScopeError(
            f"{option} {text!r}: no scheduler named {system!r} is configured "
            f"(configured: {_listed(systems)})"
        )
    return system, kind, rest


def in_scope_systems(scope: Scope, configured: Sequence[str]) -> tuple[list[str], list[str]]:
    """(systems the filters apply to, systems to list: those plus the includes' own),
    checked against ``configured``; raises :class:`ScopeError` for any unknown name."""
    unknown = [s for s in scope.systems if s not in configured]
    if unknown:
        raise ScopeError(
            f"no scheduler named {', '.join(repr(s) for s in unknown)} is configured; "
            f"choose from: {_listed(configured)}"
        )
    chosen = list(dict.fromkeys(scope.systems)) if scope.systems else list(configured)
    for spec in scope.groups:
        group = parse_group(spec, configured)
        if group.system is not None and group.system not in chosen:
            raise ScopeError(
                f"the group {group.text!r} is on {group.system}, which the scope leaves out "
                f"(systems in scope: {_listed(chosen)}); add it to the systems or drop it"
            )
    for item in scope.exclude:
        _task_item(item, "--exclude", configured)
    listed = list(chosen)
    for item in scope.include:
        system = _task_item(item, "--include", configured)[0]
        if system not in listed:
            listed.append(system)
    return chosen, listed


def _find(item: str, option: str, systems: Sequence[str], listings: Mapping[str, Listing]) -> Task:
    system, kind, task_id = _task_item(item, option, systems)
    listing = listings[system]
    if listing.error is not None:
        raise ScopeError(
            f"{option} {item.strip()!r}: {system} did not answer ({listing.error}), so the "
            "task cannot be found; try again"
        )
    found = [t for t in listing.tasks if t.id == task_id and (kind is None or t.kind is kind)]
    if not found:
        raise ScopeError(
            f"{option} {item.strip()!r}: {system} has no task with id {task_id!r}; "
            "`maintbot scope TEXT --system " + system + "` lists its tasks"
        )
    if len(found) > 1:
        keys = ", ".join(t.ref.key for t in found)
        raise ScopeError(f"{option} {item.strip()!r} is ambiguous; write one of {keys}")
    return found[0]


def _group_values(
    systems: Sequence[str], listings: Mapping[str, Listing]
) -> dict[str, dict[str, tuple[str, ...]]]:
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for system in systems:
        seen: dict[str, dict[str, str]] = {}
        for task in listings[system].tasks:
            for kind, value in task.groups:
                seen.setdefault(kind, {}).setdefault(value.casefold(), value)
        out[system] = {
            kind: tuple(sorted(values.values(), key=str.casefold))
            for kind, values in sorted(seen.items())
        }
    return out


def _check_group(
    group: GroupSpec,
    systems: Sequence[str],
    listings: Mapping[str, Listing],
    values: Mapping[str, Mapping[str, tuple[str, ...]]],
) -> None:
    """A group that no task in scope has is an error saying which there are."""
    where = [group.system] if group.system else list(systems)
    answered = [s for s in where if listings[s].error is None]
    silent = [s for s in where if listings[s].error is not None]
    for system in answered:
        if any(group.matches(system, t.groups) for t in listings[system].tasks):
            return
    unheard = f" ({_listed(silent)} did not answer, so its groups are unknown)" if silent else ""
    seen = [
        vals
        for s in answered
        for kind, vals in values[s].items()
        if kind.casefold() == group.kind.casefold()
    ]
    on = group.system or _listed(answered)
    if not seen:
        known = sorted({k for s in answered for k in values[s]}, key=str.casefold)
        choose = f"kinds there: {', '.join(known)}" if known else "its API gives no groups"
        raise ScopeError(
            f"the group {group.text!r} matches nothing: {on} has no group kind "
            f"{group.kind!r} ({choose}){unheard}"
        )
    shown = sorted({v for vals in seen for v in vals}, key=str.casefold)
    more = f" and {len(shown) - 20} more" if len(shown) > 20 else ""
    raise ScopeError(
        f"the group {group.text!r} matches nothing: no task on {on} has the "
        f"{group.kind} {group.value!r} (there are: {', '.join(shown[:20])}{more}){unheard}"
    )


def select(
    scope: Scope,
    configured: Sequence[str],
    listings: Mapping[str, Listing],
    report: ConflictReport | None,
    *,
    conflicts_only: bool = False,
) -> Candidates:
    """The candidates of ``scope`` from each system's listing and the window's report.

    ``listings`` has an entry for every system :func:`in_scope_systems` says to list (an
    error where a system did not answer). Raises :class:`ScopeError` for a spec naming
    nothing there is, and for a scope that matches no task."""
    chosen, listed = in_scope_systems(scope, configured)
    failed = {s: listings[s].error for s in listed if listings[s].error is not None}
    if report is not None:
        for result in report.systems:
            if not result.ok and result.system in listed:
                failed.setdefault(result.system, result.error or "no answer")
    answering = [s for s in chosen if s not in failed]
    if not answering and not scope.include:
        raise ScopeError(
            "no system in the scope answered: "
            + "; ".join(f"{s} ({failed[s]})" for s in chosen)
            + ". Try again, or leave them out of the scope"
        )
    usable = {s: listings[s] if s not in failed else Listing(error=failed[s]) for s in listed}
    values = _group_values([s for s in chosen if s not in failed], usable)
    specs = [parse_group(g, configured) for g in scope.groups]
    for spec in specs:
        _check_group(spec, chosen, usable, values)
    active = {c.ref.key for c in report.active} if report is not None else set()
    # Conflicting tasks a listing may not hold (a task created since): keep them too.
    extra: dict[str, Task] = {}
    if report is not None:
        for c in report.conflicts:
            if c.system in answering:
                extra.setdefault(
                    c.ref.key,
                    Task(
                        system=c.system,
                        kind=c.task_kind,
                        id=c.task_id,
                        name=c.task_name,
                        paused=c.paused,
                        groups=c.groups,
                    ),
                )
    needle = scope.name.strip().casefold()
    matched: dict[str, Task] = {}
    for system in answering:
        tasks = {t.ref.key: t for t in usable[system].tasks}
        for key, task in extra.items():
            if task.system == system:
                tasks.setdefault(key, task)
        for key, task in tasks.items():
            if specs and not any(g.matches(system, task.groups) for g in specs):
                continue
            if needle and needle not in task.name.casefold():
                continue
            matched[key] = task
    included = {
        t.ref.key: t for t in (_find(i, "--include", configured, usable) for i in scope.include)
    }
    excluded = {_find(i, "--exclude", configured, usable).ref.key for i in scope.exclude}
    matched.update(included)
    for key in excluded:
        matched.pop(key, None)
    found = [
        Candidate(
            ref=t.ref,
            name=t.name,
            groups=t.groups,
            paused=t.paused,
            conflict=key in active,
            included=key in included and key not in excluded,
        )
        for key, t in matched.items()
        if not conflicts_only or key in active or key in included
    ]
    if not found:
        raise ScopeError(_nothing(scope, chosen, bool(matched), conflicts_only))
    found.sort(key=lambda c: (not c.conflict, c.ref.system, c.name.casefold(), c.ref.key))
    warnings = tuple(
        f"{s} could not be checked ({failed[s]}); its tasks are not in this scope" for s in failed
    )
    return Candidates(tuple(found), values, warnings, scope)


def _nothing(scope: Scope, systems: Sequence[str], some: bool, conflicts_only: bool) -> str:
    said = [f"systems {_listed(systems)}"]
    if scope.groups:
        said.append("groups " + " or ".join(scope.groups))
    if scope.name.strip():
        said.append(f"name containing {scope.name.strip()!r}")
    if scope.exclude:
        said.append(f"{len(scope.exclude)} task(s) left out")
    if some and conflicts_only:
        return (
            f"the scope ({'; '.join(said)}) matches tasks, but none of them has a run in "
            "this window; plan them with --tasks all, or widen the scope"
        )
    return (
        f"the scope ({'; '.join(said)}) matches no task; `maintbot scope TEXT` lists the "
        "tasks and groups there are"
    )


async def list_system(scheduler: Scheduler) -> Listing:
    """One system's tasks within its deadline, or why it could not be asked."""
    if scheduler.connector is None:
        return Listing(error=scheduler.error or "not configured")
    try:
        with deadline(scheduler.deadline):
            async with asyncio.timeout(scheduler.deadline):
                return Listing(tasks=tuple(await scheduler.connector.list_tasks()))
    except TimeoutError:
        return Listing(error=f"no answer within {scheduler.deadline:g} s")
    except ConnectorError as exc:
        return Listing(error=exc.detail)


async def gather(
    window: Window,
    scope: Scope,
    schedulers: Sequence[Scheduler],
    clock: Clock,
    *,
    conflicts_only: bool = False,
    metrics: Metrics | None = None,
    history: RunHistory | None = None,
    lengths: RunLengths | None = None,
) -> tuple[Candidates, ConflictReport]:
    """Check ``window`` on the systems in scope and list their tasks, at once; then
    :func:`select`. Everything about the scope's own text is checked before any system is
    asked."""
    configured = [s.name for s in schedulers]
    chosen, listed = in_scope_systems(scope, configured)
    by_name = {s.name: s for s in schedulers}
    checked = [by_name[s] for s in chosen]
    # Neither raises for a system's failure (each becomes that system's error), so the
    # two run side by side without one outliving the other.
    answers, report = await asyncio.gather(
        asyncio.gather(*(list_system(by_name[s]) for s in listed)),
        check_window(window, checked, clock, metrics=metrics, history=history, lengths=lengths),
    )
    listings = dict(zip(listed, answers, strict=True))
    return select(scope, configured, listings, report, conflicts_only=conflicts_only), report
