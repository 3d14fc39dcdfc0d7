"""The one composition point: every listener is registered from here, through the
:class:`~bot.slack.registry.Registrar` (so the manifest test sees them all)."""

from __future__ import annotations

from bot.slack.listeners import actions, commands, events
from bot.slack.registry import Registrar

__all__ = ["register_listeners"]


def register_listeners(registrar: Registrar) -> None:
    commands.register(registrar)
    actions.register(registrar)
    events.register(registrar)
