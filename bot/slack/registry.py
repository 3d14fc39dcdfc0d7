"""The one list of what the Slack app listens to, shared by the app and the manifest test.

Listeners are registered through :class:`Registrar`, which records each registration, so
``tests/test_manifest.py`` can compare what the running app handles with ``manifest.yml`` in
both directions (and check nothing bypassed the registrar).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from slack_bolt.async_app import AsyncApp

__all__ = ["BOT_SCOPES", "COMMAND", "ActionId", "Registrar", "Registration"]

COMMAND = "/maintenance"

# Each scope is here because the code calls a method that needs it:
#   commands        the /maintenance slash command
#   chat:write      chat.postMessage / chat.update / chat.postEphemeral (approvals, alerts)
#   users:read      users.info, for the user's time zone
#   usergroups:read usergroups.list + usergroups.users.list, for "@oncall" approvers
BOT_SCOPES = ("commands", "chat:write", "users:read", "usergroups:read")


class ActionId(StrEnum):
    """``action_id`` of every button the bot renders; one listener each."""

    PAGE = "report_page"
    PAUSE_NOW = "pause_now"
    RESUME_NOW = "resume_now"
    PLAN = "plan_window"
    APPROVE = "approve"
    REJECT = "reject"
    # The window clock's alert buttons (names fixed by the lifecycle's Notifier protocol).
    EXTEND_30 = "extend_30"
    END_NOW = "end_now"
    RETRY_PAUSE = "retry_pause"
    RETRY_RESUME = "retry_resume"
    TAKE_OVER = "take_over"


Kind = Literal["command", "event", "action"]
Listener = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Registration:
    kind: Kind
    name: str


@dataclass
class Registrar:
    """Registers listeners on ``app`` and remembers what it registered."""

    app: AsyncApp
    registered: list[Registration] = field(default_factory=list)

    def command(self, name: str, listener: Listener) -> None:
        self.app.command(name)(listener)
        self.registered.append(Registration("command", name))

    def event(self, name: str, listener: Listener) -> None:
        self.app.event(name)(listener)
        self.registered.append(Registration("event", name))

    def action(self, action_id: ActionId, listener: Listener) -> None:
        self.app.action(action_id.value)(listener)
        self.registered.append(Registration("action", action_id.value))

    def names(self, kind: Kind) -> set[str]:
        return {r.name for r in self.registered if r.kind == kind}
