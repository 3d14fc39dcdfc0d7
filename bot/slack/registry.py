"""The one list of what the Slack app listens to, shared by the app and the manifest test.

Listeners are registered through :class:`Registrar`, which records each registration, so
``tests/test_manifest.py`` can compare what the running app handles with ``manifest.yml`` in
both directions (and check nothing bypassed the registrar).
"""

from __future__ import annotations

import functools
import inspect
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

    # Two ids for paging: Slack refuses a block whose buttons share an action_id, and a
    # middle page shows both.
    PAGE_PREVIOUS = "report_page_previous"
    PAGE_NEXT = "report_page_next"
    # "Show them" on a report's line for the runs with no known time.
    SHOW_UNKNOWN = "report_show_unknown"
    PAUSE_NOW = "pause_now"
    RESUME_NOW = "resume_now"
    PLAN = "plan_window"
    # "Plan anyway" on the answer to a Plan pause whose window overlaps another one.
    PLAN_ANYWAY = "plan_window_anyway"
    APPROVE = "approve"
    REJECT = "reject"
    # The window clock's alert controls (names fixed by the lifecycle's Notifier protocol).
    # Extend is a select of lengths: a window can be extended by any amount, from any alert.
    EXTEND = "extend_window"
    END_NOW = "end_now"
    RETRY_PAUSE = "retry_pause"
    RETRY_RESUME = "retry_resume"
    TAKE_OVER = "take_over"
    # The plan dialog: the button that opens it (report, App Home), and every input in it
    # that redraws it (the window text on Enter, the scope fields on change).
    PLAN_DIALOG = "plan_dialog"
    # "Edit" on an approval request and on App Home: the same dialog, for that window.
    EDIT_DIALOG = "edit_window_dialog"
    DIALOG_INPUT = "plan_dialog_input"


Kind = Literal["command", "event", "action", "view"]
Listener = Callable[..., Awaitable[Any]]
ErrorReporter = Callable[[Exception, dict[str, Any], Any, Any], Awaitable[None]]


def guard(listener: Listener, report: ErrorReporter) -> Listener:
    """Route a failure *after* ``ack()`` to ``report`` (the app's one error handler).

    Bolt's own path for that case has a race: it resets the acknowledgement when the
    listener raises, so a failure within Bolt's 10 ms ack poll turns a delivered ack into a
    404 for Slack. Failures before the ack still take Bolt's path (to the same handler).
    Listeners declare ``ack``, ``body`` and ``context`` so this wrapper receives them (Bolt
    passes the arguments the unwrapped function names); ``context`` says whether the
    request was verified, which decides whether ``report`` may answer its response_url.
    """
    names = inspect.getfullargspec(listener).args
    if not {"ack", "body", "context"} <= set(names):
        raise TypeError(f"{listener.__name__} must take ack, body and context")

    @functools.wraps(listener)
    async def guarded(**kwargs: Any) -> None:
        try:
            await listener(**kwargs)
        except Exception as exc:
            ack = kwargs["ack"]
            if getattr(ack, "response", None) is None:
                raise
            await report(exc, kwargs["body"], kwargs.get("respond"), kwargs["context"])

    return guarded


@dataclass(frozen=True)
class Registration:
    kind: Kind
    name: str


@dataclass
class Registrar:
    """Registers listeners on ``app`` and remembers what it registered."""

    app: AsyncApp
    report: ErrorReporter
    registered: list[Registration] = field(default_factory=list)

    def command(self, name: str, listener: Listener) -> None:
        self.app.command(name)(guard(listener, self.report))
        self.registered.append(Registration("command", name))

    def event(self, name: str, listener: Listener) -> None:
        self.app.event(name)(guard(listener, self.report))
        self.registered.append(Registration("event", name))

    def action(self, action_id: ActionId, listener: Listener) -> None:
        self.app.action(action_id.value)(guard(listener, self.report))
        self.registered.append(Registration("action", action_id.value))

    def view(self, callback_id: str, listener: Listener) -> None:
        """A modal's submission (its ``callback_id``)."""
        self.app.view(callback_id)(guard(listener, self.report))
        self.registered.append(Registration("view", callback_id))

    def names(self, kind: Kind) -> set[str]:
        return {r.name for r in self.registered if r.kind == kind}
