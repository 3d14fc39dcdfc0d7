"""Where the window clock's alerts go: the :class:`Notifier` interface (Slack's notifier
implements it), :class:`LogNotifier`, the default when no Slack token is configured, and
:class:`Alert`, what the clock says, kept apart from how each face writes it.

An :class:`Alert` keeps its instants as datetimes, so each face writes them for its
readers: Slack as ``<!date>`` tokens (every reader in their own zone), plain text
(:func:`plain_text`: the log, anything that only takes a string) in the window's zone
with UTC beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.format import instant_with_utc
from bot.model import ApprovalRecord, PlannedTask, WindowRecord

__all__ = [
    "Alert",
    "AlertItem",
    "AlertList",
    "KeepsThreads",
    "LogNotifier",
    "Notifier",
    "Part",
    "Text",
    "ThreadBook",
    "WindowThread",
    "plain_list",
    "plain_text",
    "plain_words",
]

_LOUD = frozenset({"pause_failed", "resume_failed", "late"})

# A piece of an alert's text: words, or an instant each face writes for its readers.
Part = str | datetime
Text = tuple[Part, ...]

# How many items a plain-text list names before "and N more".
PLAIN_ITEMS = 10


@dataclass(frozen=True)
class AlertItem:
    """One entry of a list: a task (``name`` on ``system``) and what there is to say of it."""

    name: str
    system: str = ""
    detail: Text = ()


@dataclass(frozen=True)
class AlertList:
    """A titled list (``Paused``, ``Could not pause`` …); ``count`` is how the headline
    counts it (``8 paused``); ``warn`` marks a list a person should act on."""

    title: str
    count: str
    items: tuple[AlertItem, ...]
    warn: bool = False


@dataclass(frozen=True)
class Alert:
    """What the clock says, face-neutral: a one-line ``headline`` (with counts), titled
    ``lists`` of tasks, and ``notes`` (further sentences). Plain strings and instants only;
    no markup: each face escapes and formats."""

    headline: Text
    lists: tuple[AlertList, ...] = ()
    notes: tuple[Text, ...] = ()

    def counts(self) -> str:
        """``8 paused, 1 could not pause``: the lists' sizes, for a headline."""
        return ", ".join(f"{len(x.items)} {x.count}" for x in self.lists if x.items)

    def items(self) -> Iterable[AlertItem]:
        for x in self.lists:
            yield from x.items


def plain_words(text: Text, tz: str) -> str:
    """``text`` as plain words: instants in ``tz`` with UTC beside them."""
    return "".join(
        instant_with_utc(part, tz) if isinstance(part, datetime) else part for part in text
    )


def _plain_item(item: AlertItem, tz: str) -> str:
    label = f"{item.name} ({item.system})" if item.system else item.name
    return f"{label}: {plain_words(item.detail, tz)}" if item.detail else label


def plain_list(items: Sequence[str], limit: int = PLAIN_ITEMS) -> str:
    """``a, b, c and 4 more``; ``none`` for nothing."""
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def plain_text(text: str | Alert, tz: str) -> str:
    """An alert as plain text, one line for the headline, one per list and note (a ``str``
    is already plain)."""
    if isinstance(text, str):
        return text
    lines = [plain_words(text.headline, tz)]
    for x in text.lists:
        if x.items:
            labels = [_plain_item(i, tz) for i in x.items]
            lines.append(f"{x.title} ({len(x.items)}): {plain_list(labels)}.")
    lines += [plain_words(note, tz) for note in text.notes]
    return "\n".join(lines)


class Notifier(Protocol):
    """Where the clock's alerts go (Slack, or the log).

    ``kind``: ``reminder``, ``start``, ``before_end``, ``end``, ``resolved`` (the last
    failing resume of an ended window finally settled), ``pause_failed``,
    ``resume_failed``, ``late`` (the whole window passed while maintbot was down) and
    ``not_approved``; and the changes people make, told to the window's people: ``approved``,
    ``rejected``, ``extended``, ``ended_early``, ``cancelled``, ``edited``. ``actions`` ⊆
    :data:`ACTIONS`. ``text`` is an :class:`Alert`, or plain text (a notifier escapes either
    like any other vendor-sourced string, since both hold task names); :func:`plain_text`
    writes either as plain text in the window's zone. ``people`` are the user names or ids
    the text names (who acted, who decided), which a Slack notifier shows as mentions.
    """

    async def notify(
        self,
        window: WindowRecord,
        kind: str,
        text: str | Alert,
        *,
        actions: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None: ...


@dataclass(frozen=True)
class WindowThread:
    """Where a window's story is told: the first message of its thread in the alert
    channel (``None`` until one is posted)."""

    channel: str
    ts: str


class ThreadBook(Protocol):
    """What a notifier that keeps one thread per window reads and records (the store,
    through the application): the window as it is now, its tasks and approval, its thread."""

    def window(self, window_id: str) -> WindowRecord: ...

    def tasks(self, window_id: str) -> list[PlannedTask]: ...

    def approval(self, window_id: str) -> ApprovalRecord | None: ...

    def thread(self, window_id: str) -> WindowThread | None: ...

    def claim_thread(self, window_id: str) -> bool: ...

    def unclaim_thread(self, window_id: str) -> None: ...

    def thread_posted(self, window_id: str, thread: WindowThread) -> None: ...


@runtime_checkable
class KeepsThreads(Protocol):
    """A notifier that posts each window's changes in one thread: it is given a book."""

    def bind_threads(self, book: ThreadBook) -> None: ...


class LogNotifier:
    """Logs each notification; the default when no Slack token is configured."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("bot.alerts")

    async def notify(
        self,
        window: WindowRecord,
        kind: str,
        text: str | Alert,
        *,
        actions: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None:
        level = logging.WARNING if kind in _LOUD else logging.INFO
        suffix = f" [actions: {', '.join(actions)}]" if actions else ""
        body = text if isinstance(text, str) else plain_text(text, window.tz)
        self.log.log(level, "%s (window %s): %s%s", kind, window.id, body, suffix)
