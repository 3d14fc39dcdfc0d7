"""Events API subscriptions."""

from __future__ import annotations

from bot.slack.listeners.events.app_home import app_home_opened
from bot.slack.registry import Registrar

__all__ = ["register"]


def register(registrar: Registrar) -> None:
    registrar.event("app_home_opened", app_home_opened)
