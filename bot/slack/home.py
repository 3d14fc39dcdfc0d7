"""The App Home tab: upcoming and active windows, recurring series, and what the bot holds
paused."""

from __future__ import annotations

from typing import Any

from bot.model import WindowState
from bot.service.pauses import held_paused
from bot.service.series import SeriesView
from bot.slack import blocks as bk
from bot.slack import messages
from bot.slack.registry import ActionId
from bot.store import Store

__all__ = ["home_view"]

_SECTION_ROWS = 25  # windows per group shown; the rest are counted, not dropped silently


def home_view(store: Store, user: str) -> dict[str, Any]:
    """Build the Home view from the store (at most 100 blocks, whatever the data)."""
    blocks: list[bk.Block] = [
        bk.header("Maintenance windows"),
        bk.actions(
            bk.button("Plan a window", ActionId.PLAN_DIALOG, {}, style="primary"),
            block_id="home_plan",
        ),
    ]
    groups = [
        ("Active now", [WindowState.ACTIVE]),
        ("Upcoming", [WindowState.APPROVED, WindowState.PLANNED]),
    ]
    for title, states in groups:
        windows = store.list_windows(states, limit=_SECTION_ROWS + 1)
        blocks.append(bk.section(f"*{title}*"))
        if not windows:
            blocks.append(bk.context("None."))
        for window in windows[:_SECTION_ROWS]:
            count = len(store.window_tasks(window.id))
            edit = (
                bk.button("Edit…", ActionId.EDIT_DIALOG, {"w": window.id})
                if window.state is not WindowState.ACTIVE
                else None
            )
            blocks.append(bk.section(messages.window_line(window, count), accessory=edit))
        if len(windows) > _SECTION_ROWS:
            blocks.append(bk.context("…and more; `/maintenance list` shows them all."))
        blocks.append(bk.divider())
    series = store.open_series()
    if series:
        blocks.append(bk.section("*Recurring*"))
        for record in series[:_SECTION_ROWS]:
            view = SeriesView(record, tuple(store.series_windows(record.id)), ())
            blocks.append(bk.section(messages.series_line(view)))
        if len(series) > _SECTION_ROWS:
            blocks.append(bk.context("…and more; `/maintenance list` shows them all."))
        blocks.append(bk.divider())
    lines = messages.status_lines(held_paused(store))
    blocks.append(bk.section(f"*Paused by the bot* ({len(lines)})"))
    chunks = messages.pack(lines, bk.LIMITS.section_text)
    room = bk.LIMITS.blocks_per_view - len(blocks) - 2
    blocks.extend(bk.section(c) for c in chunks[:room])
    if not lines:
        blocks.append(bk.context("Nothing."))
    elif len(chunks) > room:
        blocks.append(bk.context("…and more; `/maintenance status` lists them all."))
    blocks.append(bk.context(f"Shown to <@{bk.escape(user)}>; times are in your own zone."))
    return bk.home_view(blocks)
