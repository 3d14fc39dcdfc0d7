"""Slash commands."""

from __future__ import annotations

from bot.slack.listeners.commands.maintenance import maintenance
from bot.slack.registry import COMMAND, Registrar

__all__ = ["register"]


def register(registrar: Registrar) -> None:
    registrar.command(COMMAND, maintenance)
