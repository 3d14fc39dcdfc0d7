"""Where the window clock's alerts go: the :class:`Notifier` interface (Slack's notifier
implements it) and :class:`LogNotifier`, the default when no Slack token is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from bot.model import (
    WindowRecord,
)

_LOUD = frozenset({"pause_failed", "resume_failed", "late"})


class Notifier(Protocol):
    """Where the clock's alerts go (Slack, or the log).

    ``kind``: ``reminder``, ``start``, ``before_end``, ``end``, ``resolved`` (the last
    failing resume of an ended window finally settled), ``pause_failed``,
    ``resume_failed``, ``late`` (the whole window passed while maintbot was down) and
    ``not_approved``; and the changes people make, told to the window's people: ``approved``,
    ``rejected``, ``extended``, ``ended_early``, ``cancelled``. ``actions`` ⊆
    :data:`ACTIONS`. ``text`` is plain text: a Slack notifier escapes it like any other
    vendor-sourced string, since it holds task names. ``people`` are the user names or ids
    the text names (who acted, who decided), which a Slack notifier shows as mentions.
    """

    async def notify(
        self,
        window: WindowRecord,
        kind: str,
        text: str,
        *,
        actions: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None: ...


class LogNotifier:
    """Logs each notification; the default when no Slack token is configured."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("bot.alerts")

    async def notify(
        self,
        window: WindowRecord,
        kind: str,
        text: str,
        *,
        actions: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None:
        level = logging.WARNING if kind in _LOUD else logging.INFO
        suffix = f" [actions: {', '.join(actions)}]" if actions else ""
        self.log.log(level, "%s (window %s): %s%s", kind, window.id, text, suffix)
