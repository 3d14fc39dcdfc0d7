"""Button clicks (``block_actions``), one listener per ``action_id``."""

from __future__ import annotations

from bot.slack.listeners.actions import approval, report, window
from bot.slack.registry import ActionId, Registrar

__all__ = ["register"]


def register(registrar: Registrar) -> None:
    registrar.action(ActionId.PAGE_PREVIOUS, report.page)
    registrar.action(ActionId.PAGE_NEXT, report.page)
    registrar.action(ActionId.SHOW_UNKNOWN, report.page)
    registrar.action(ActionId.PAUSE_NOW, report.pause_now)
    registrar.action(ActionId.RESUME_NOW, report.resume_now)
    registrar.action(ActionId.PLAN, report.plan)
    registrar.action(ActionId.PLAN_ANYWAY, report.plan_anyway)
    registrar.action(ActionId.APPROVE, approval.approve)
    registrar.action(ActionId.REJECT, approval.reject)
    registrar.action(ActionId.EXTEND, window.extend)
    registrar.action(ActionId.END_NOW, window.end_now)
    registrar.action(ActionId.RETRY_PAUSE, window.retry_pause)
    registrar.action(ActionId.RETRY_RESUME, window.retry_resume)
    registrar.action(ActionId.TAKE_OVER, window.take_over)
