"""Plain-text rendering for the command line: the window echo and the conflict table, and
the one wording of "who paused this task, when and why" that every surface shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.format import instant
from bot.model import Conflict, ConflictKind, ConflictReport

__all__ = [
    "KIND_LABELS",
    "PauseNote",
    "PauseOwner",
    "conflict_table",
    "describe_pause",
    "plain_pause",
    "table",
    "vendor_note",
]

KIND_LABELS = {
    ConflictKind.STARTS_IN_WINDOW: "starts in window",
    ConflictKind.RUNNING_AT_START: "running at start",
    ConflictKind.MAY_OVERLAP: "may overlap",
    ConflictKind.MAY_FIRE: "may fire (time unknown)",
}


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


def _rows(
    conflicts: Sequence[Conflict], tz: str, pauses: Mapping[str, PauseNote] | None = None
) -> list[list[str]]:
    def detail(c: Conflict) -> str:
        if not c.paused:
            return c.detail
        note = (pauses or {}).get(c.ref.key) or vendor_note(c)
        pause = plain_pause(note, tz, reason_limit=80)
        return f"{pause}; {c.detail}" if c.detail else pause

    return [
        [
            c.system,
            c.task_name if len(c.task_name) <= 48 else c.task_name[:47] + "…",
            KIND_LABELS[c.kind],
            # A running conflict's instant is when it started, not when it will fire.
            ("since " if c.kind is ConflictKind.RUNNING_AT_START and c.at else "")
            + instant(c.at, tz),
            detail(c),
        ]
        for c in conflicts
    ]


def vendor_note(conflict: Conflict) -> PauseNote:
    """What the vendor alone says about a paused task (no store consulted)."""
    return PauseNote(
        "unknown", by=conflict.paused_by, at=conflict.paused_at, reason=conflict.pause_reason
    )


def conflict_table(
    report: ConflictReport,
    echo: Sequence[str],
    *,
    pauses: Mapping[str, PauseNote] | None = None,
) -> str:
    """The human report: window echo, per-system status, conflicts, already-paused tasks.

    ``pauses`` (by task key, see :func:`bot.service.pauses.pause_notes`) says whose each pause is;
    without it a paused task shows what its vendor reports."""
    tz = report.window.tz
    out = [*echo, ""]
    for s in report.systems:
        status = "ok" if s.ok else f"ERROR: {s.error}"
        out.append(f"  {s.system} ({s.label}): {status}")
    out.append("")
    headers = ["system", "task", "conflict", "when", "detail"]
    active = report.active
    if active:
        out.append(f"{len(active)} conflict(s) to act on:")
        out.append(table(headers, _rows(active, tz)))
    else:
        out.append("No active task runs into this window.")
    if report.already_paused:
        out.append("")
        out.append(f"Already paused ({len(report.already_paused)}), left as they are:")
        out.append(table(headers, _rows(report.already_paused, tz, pauses)))
    return "\n".join(out)
