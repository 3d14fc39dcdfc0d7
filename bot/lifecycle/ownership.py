"""Whose pause is on a task: the reason text that names a window, and what the bot saw
before and right after pausing, which is how a window recognises its own pause (or
another window's) and leaves a person's alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from bot.model import (
    PlannedTask,
    Task,
    WindowRecord,
)

_WINDOW_ID = re.compile(r"maintbot window (w_[A-Za-z0-9_-]+)")


def pause_reason(window: WindowRecord) -> str:
    """The pause reason the bot gives vendors. It names the window, so a later window (or a
    person reading the vendor's UI) can tell whose pause it is."""
    return (
        f"maintbot window {window.id}: maintenance until "
        f"{window.end.strftime('%Y-%m-%d %H:%M')} UTC, requested by {window.requested_by[:40]}"
    )


def window_id_in(reason: str | None) -> str | None:
    """The window id in a pause reason written by :func:`pause_reason`, if any."""
    if not reason:
        return None
    found = _WINDOW_ID.search(reason)
    return found.group(1) if found else None


def marker_of(task: Task) -> dict[str, Any]:
    """What identifies a pause: who and why, as the vendor reports it."""
    return {"paused_by": task.paused_by, "pause_reason": task.pause_reason}


def matches_marker(task: Task, marker: Mapping[str, Any]) -> bool:
    return task.paused and all(getattr(task, k) == v for k, v in marker.items())


def prior_task(row: PlannedTask) -> Task | None:
    if not row.prior_task:
        return None
    try:
        return Task.model_validate(row.prior_task)
    except ValidationError:
        return None
