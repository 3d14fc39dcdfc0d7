"""Plain-text rendering for the command line: the window echo and the conflict table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.model import Conflict, ConflictKind, ConflictReport

__all__ = ["KIND_LABELS", "conflict_table", "format_instant", "table"]

KIND_LABELS = {
    ConflictKind.STARTS_IN_WINDOW: "starts in window",
    ConflictKind.RUNNING_AT_START: "running at start",
    ConflictKind.MAY_OVERLAP: "may overlap",
    ConflictKind.MAY_FIRE: "may fire (time unknown)",
}


def format_instant(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return "-"
    try:
        zone = ZoneInfo(tz)
        return moment.astimezone(zone).strftime("%a %d %b %H:%M %Z")
    except (KeyError, ValueError):
        # Fixed offsets and abbreviations are not IANA keys; show UTC rather than guess.
        return moment.strftime("%a %d %b %H:%M UTC")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _rows(conflicts: Sequence[Conflict], tz: str) -> list[list[str]]:
    return [
        [
            c.system,
            c.task_name if len(c.task_name) <= 48 else c.task_name[:47] + "…",
            KIND_LABELS[c.kind],
            # A running conflict's instant is when it started, not when it will fire.
            ("since " if c.kind is ConflictKind.RUNNING_AT_START and c.at else "")
            + format_instant(c.at, tz),
            c.detail,
        ]
        for c in conflicts
    ]


def conflict_table(report: ConflictReport, echo: Sequence[str]) -> str:
    """The human report: window echo, per-system status, conflicts, already-paused tasks."""
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
        out.append(table(headers, _rows(report.already_paused, tz)))
    return "\n".join(out)
