"""The one composition point: every listener is registered from here, through the
:class:`~bot.slack.registry.Registrar` (so the manifest test sees them all)."""

from __future__ import annotations

from bot.slack import dialogs as dialog_views
from bot.slack.listeners import actions, commands, dialogs, events
from bot.slack.listeners.actions import approval
from bot.slack.registry import ActionId, Registrar

__all__ = ["register_listeners"]


def register_listeners(registrar: Registrar) -> None:
    commands.register(registrar)
    actions.register(registrar)
    events.register(registrar)
    registrar.action(ActionId.PLAN_DIALOG, dialogs.from_button)
    registrar.action(ActionId.EDIT_DIALOG, dialogs.from_edit_button)
    registrar.action(ActionId.DIALOG_INPUT, dialogs.redraw)
    registrar.view(dialog_views.CALLBACK, dialogs.submit)
    registrar.view(approval.REASON_CALLBACK, approval.reject_submitted)
