"""Plain-text rendering for the command line: the window echo and the conflict table, and
the one wording of "who paused this task, when and why" that every surface shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.conflicts import SystemGroup, common_reason, group_report
from bot.format import clock_time, instant, length, stamp, window_name
from bot.model import (
    AuditRow,
    Conflict,
    ConflictKind,
    ConflictReport,
    SystemResult,
    TaskKind,
    Window,
)
from bot.suggest import Hit, How

__all__ = [
    "KIND_LABELS",
    "PauseNote",
    "PauseOwner",
    "audit_outcome",
    "audit_table",
    "audit_target",
    "conflict_table",
    "describe_pause",
    "display_name",
    "hit_line",
    "missing_note",
    "plain_pause",
    "table",
    "unknown_line",
    "vendor_note",
    "when_text",
]

KIND_LABELS = {
    ConflictKind.STARTS_IN_WINDOW: "starts in window",
    ConflictKind.RUNNING_AT_START: "running at start",
    ConflictKind.MAY_OVERLAP: "may overlap",
    ConflictKind.MAY_FIRE: "may fire at an unknown time",
}

# What each kind of task is called, singular and plural, for the one line that counts them.
_NOUNS = {
    TaskKind.TASK: ("task", "tasks"),
    TaskKind.PLAN: ("plan", "plans"),
    TaskKind.SCHEDULE: ("schedule", "schedules"),
    TaskKind.ETL: ("ETL", "ETLs"),
    TaskKind.APP_TASK: ("app task", "app tasks"),
    TaskKind.DESKTOP_TASK: ("desktop task", "desktop tasks"),
}


def display_name(window: Window) -> str:
    """The name a window is shown by (:func:`bot.format.window_name`). A title is used
    once the window carries one (the grammar's title words); the typed text never is."""
    title: str | None = getattr(window, "title", None) or None
    return window_name(window.start, window.end, window.tz, title)


def when_text(conflict: Conflict, when: Callable[[datetime], str]) -> str:
    """The conflict's label and time, each said once: ``starts in window · T``, ``running
    at start · since T``, ``may overlap · starts T``, ``may fire at an unknown time``; a
    time predicted from run history reads ``likely starts in window · T (predicted)``.
    ``when`` renders the instant (plain text, or a Slack date token)."""
    label = KIND_LABELS[conflict.kind]
    if conflict.at is None:
        # A run dispatched but not started has no "since"; its detail says so.
        return label
    if conflict.kind is ConflictKind.RUNNING_AT_START:
        # A running conflict's instant is when it started, not when it will fire.
        return f"{label} · since {when(conflict.at)}"
    if conflict.predicted:
        # Learnt from run history, not said by the vendor: never shown as a fact.
        if conflict.kind is ConflictKind.MAY_OVERLAP:
            return f"{label} · likely starts {when(conflict.at)} (predicted)"
        return f"likely {label} · {when(conflict.at)} (predicted)"
    if conflict.kind is ConflictKind.MAY_OVERLAP:
        return f"{label} · starts {when(conflict.at)}"
    return f"{label} · {when(conflict.at)}"


def unknown_line(system: SystemResult, conflicts: Sequence[Conflict]) -> str:
    """``22 Pyramid schedules may fire at an unknown time``: the one line that stands for
    a system's runs with no known time, until someone asks to see them."""
    kinds = {c.task_kind for c in conflicts}
    one, many = _NOUNS[kinds.pop()] if len(kinds) == 1 else ("task", "tasks")
    noun = one if len(conflicts) == 1 else many
    return f"{len(conflicts)} {system.label} {noun} may fire at an unknown time"


def missing_note(systems: Sequence[SystemResult]) -> str | None:
    """What a report (and a plan made from it) lacks when schedulers did not answer."""
    failed = [s for s in systems if not s.ok]
    if not failed:
        return None
    names = ", ".join(f"{s.label} ({s.system})" for s in failed)
    their = "its" if len(failed) == 1 else "their"
    return (
        f"{names} did not answer: {their} tasks are missing from this report, and a plan "
        "made from it would not pause them."
    )


PauseOwner = Literal["window", "pause_now", "other", "unknown"]


@dataclass(frozen=True)
class PauseNote:
    """Whose pause a paused task carries, as far as anyone can tell.

    ``owner``: ``window`` (a maintbot window holds it, ``window_id``), ``pause_now`` (the
    bot paused it from a report; ``by`` is the person who clicked), ``other`` (someone
    else's pause; ``by``/``at``/``reason`` are what the vendor reports, each possibly
    unknown) or ``unknown`` (the vendor says nothing and no store was consulted)."""

    owner: PauseOwner
    by: str | None = None
    at: datetime | None = None
    reason: str | None = None
    window_id: str | None = None

    @property
    def others(self) -> bool:
        """Someone else's pause: resuming it undoes a colleague's decision."""
        return self.owner == "other"

    @property
    def marker(self) -> tuple[str | None, str | None]:
        """What identifies this pause on the vendor (who and why), to notice a re-pause."""
        return self.by, self.reason


def describe_pause(
    note: PauseNote,
    *,
    when: Callable[[datetime], str],
    name: Callable[[str], str] = str,
    quote: Callable[[str], str] = str,
) -> str:
    """The pause as "paused by X since T: “why”", in the caller's formatting: ``when``
    renders instants, ``name`` people and ``quote`` vendor text (Slack escapes both, the
    CLI does not)."""
    since = f" since {when(note.at)}" if note.at else ""
    why = f": “{quote(note.reason)}”" if note.reason else ""
    if note.owner == "window":
        window = f" for window {note.window_id}" if note.window_id else ""
        return f"paused by maintbot{window}{since}"
    if note.owner == "pause_now":
        by = name(note.by) if note.by else "someone"
        return f"paused by {by} with Pause now{since}"
    if note.owner == "unknown" and not (note.by or note.at or note.reason):
        return "paused (the scheduler does not say who or why)"
    if note.by:
        return f"paused by {name(note.by)}{since}{why}"
    if note.owner == "unknown":
        return f"paused (the scheduler does not say who){since}{why}"
    return f"paused (by someone else; the scheduler does not say who){since}{why}"


def plain_pause(note: PauseNote, tz: str = "UTC", *, reason_limit: int = 200) -> str:
    """:func:`describe_pause` as plain text, times in ``tz``, the reason cut to a limit."""

    def cut(text: str) -> str:
        return text if len(text) <= reason_limit else text[: reason_limit - 1] + "…"

    return describe_pause(note, when=lambda m: instant(m, tz), quote=cut)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def vendor_note(conflict: Conflict) -> PauseNote:
    """What the vendor alone says about a paused task (no store consulted)."""
    return PauseNote(
        "unknown", by=conflict.paused_by, at=conflict.paused_at, reason=conflict.pause_reason
    )


def _task_cell(conflict: Conflict) -> str:
    name = conflict.task_name
    return name if len(name) <= 48 else name[:47] + "…"


def _act_rows(rows: Sequence[tuple[int, Conflict]], tz: str) -> list[list[str]]:
    return [[_task_cell(c), when_text(c, lambda m: instant(m, tz)), c.detail] for _, c in rows]


def _held_rows(
    rows: Sequence[tuple[int, Conflict]], tz: str, pauses: Mapping[str, PauseNote] | None
) -> list[list[str]]:
    def state(c: Conflict) -> str:
        note = (pauses or {}).get(c.ref.key) or vendor_note(c)
        return plain_pause(note, tz, reason_limit=80)

    def when(c: Conflict) -> str:
        # A paused task has no conflict of its own: say only when it would have run.
        if c.at is None or c.kind is ConflictKind.MAY_FIRE:
            return ""
        return when_text(c, lambda m: instant(m, tz))

    return [[_task_cell(c), state(c), when(c), c.detail] for _, c in rows]


def _group_lines(
    group: SystemGroup,
    tz: str,
    pauses: Mapping[str, PauseNote] | None,
    *,
    show_unknown: bool,
    again: str,
) -> list[str]:
    system = group.system
    out = [f"{system.label} ({system.system}):"]
    if system.lookback_note:
        out.append(f"  note: {system.lookback_note}")
    if group.act:
        out.append(f"  {len(group.act)} to act on:")
        out.extend(
            "    " + line
            for line in table(["task", "conflict", "detail"], _act_rows(group.act, tz)).splitlines()
        )
    if group.unknown:
        line = unknown_line(system, [c for _, c in group.unknown])
        reason = common_reason([c for _, c in group.unknown])
        if show_unknown:
            out.append(f"  {line}" + (f" ({reason}):" if reason else ":"))
            out.extend(
                "    " + row
                for row in table(
                    ["task", "detail"], [[_task_cell(c), c.detail] for _, c in group.unknown]
                ).splitlines()
            )
        else:
            out.append(f"  {line}" + (f" ({reason})" if reason else "") + f"; {again} lists them.")
    if group.held:
        out.append(
            f"  Already paused or stopped ({len(group.held)}), left as they are; "
            "they run only if someone resumes or restarts them:"
        )
        out.extend(
            "    " + line
            for line in table(
                ["task", "state", "would run", "detail"], _held_rows(group.held, tz, pauses)
            ).splitlines()
        )
    if not group.count:
        out.append("  nothing runs into the window.")
    return out


def conflict_table(
    report: ConflictReport,
    echo: Sequence[str],
    *,
    pauses: Mapping[str, PauseNote] | None = None,
    show_unknown: bool = False,
    again: str = "--all",
) -> str:
    """The human report: the window's name and echo, then per system what to act on first
    (runs with a known time), one line for the runs with no known time (every one with
    ``show_unknown``; ``again`` says how to ask for them), and what is already paused or
    stopped; a system that did not answer is said to be missing.

    ``pauses`` (by task key, see :func:`bot.service.pauses.pause_notes`) says whose each pause is;
    without it a paused task shows what its vendor reports."""
    tz = report.window.tz
    out = [display_name(report.window), *echo, ""]
    active = report.active
    out.append(
        f"{len(active)} to act on, {len(report.already_paused)} already paused or stopped."
        if report.conflicts
        else "No active task runs into this window."
    )
    missing = missing_note(report.systems)
    if missing:
        out.append(f"WARNING: {missing}")
    for group in group_report(report):
        out.append("")
        if not group.system.ok:
            out.append(f"{group.system.label} ({group.system.system}): ERROR: {group.system.error}")
            continue
        out.extend(_group_lines(group, tz, pauses, show_unknown=show_unknown, again=again))
    return "\n".join(out)


def audit_target(row: AuditRow, name: str | None) -> str:
    """What an audit row acted on: the task by name beside its id, else the window."""
    if row.task_id:
        task = f"{row.system}:{row.task_id}" if row.system else row.task_id
        named = f"{name} ({task})" if name else task
        return f"{named} in window {row.window_id}" if row.window_id else named
    return f"window {row.window_id}" if row.window_id else (row.system or "-")


def audit_outcome(outcome: str, unanswered: bool) -> str:
    """An entry's outcome in words a reader needs: an attempt alone had no answer."""
    return "no answer recorded (in flight, or the bot stopped)" if unanswered else outcome


def audit_table(entries: Sequence[tuple[AuditRow, str | None, bool]], tz: str) -> str:
    """The readable trail, one line per call: (outcome row, task name, unanswered)."""
    rows = [
        [
            stamp(row.at, tz),
            row.actor,
            row.action,
            audit_target(row, name)
            + (f" [window {row.window_id}]" if row.task_id and row.window_id else ""),
            audit_outcome(row.outcome, unanswered),
            row.error or row.reason or "",
        ]
        for row, name, unanswered in entries
    ]
    return table(["when", "who", "action", "target", "outcome", "error or reason"], rows)


def hit_line(hit: Hit, tz: str) -> str:
    """One line of what a suggested slot would disturb, for both faces: the task, its
    system, and how (starts at …, N runs; or still running from …, for how much of it)."""
    c = hit.conflict
    if hit.how is How.STARTS:
        how = f"starts {clock_time(c.at, tz)}" if c.at is not None else "starts inside"
        if hit.runs > 1:
            how += f" ({hit.runs} runs)"
    else:
        since = f" from {instant(c.at, tz)}" if c.at is not None else ""
        how = f"still running{since}, {length(hit.overlap)} into the slot"
    marks = [m for m, on in (("predicted", hit.predicted), ("already paused", c.paused)) if on]
    tail = f" [{', '.join(marks)}]" if marks else ""
    return f"{c.task_name} ({c.system}): {how}{tail}"
